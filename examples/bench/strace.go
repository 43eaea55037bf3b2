package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tracer counts the system calls of a server's workers with strace -c
// while a row runs (-syscalls): the per-request count beside nginx's
// shows the calls gonginx makes that nginx does not.
type tracer struct {
	cmds  []*exec.Cmd
	files []string
}

func startTracer(s *server) *tracer {
	t := &tracer{}
	for _, pid := range s.pids()[1:] { // the workers
		f := filepath.Join(s.dir, "strace."+strconv.Itoa(pid))
		cmd := exec.Command("strace", "-c", "-f", "-o", f, "-p", strconv.Itoa(pid))
		if cmd.Start() == nil {
			t.cmds, t.files = append(t.cmds, cmd), append(t.files, f)
		}
	}
	time.Sleep(300 * time.Millisecond) // attached
	return t
}

// stop detaches and returns the calls counted, by name.
func (t *tracer) stop() map[string]float64 {
	for _, c := range t.cmds {
		c.Process.Signal(syscall.SIGINT)
		c.Wait()
	}
	calls := map[string]float64{}
	for _, f := range t.files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			// "% time     seconds  usecs/call     calls    errors syscall"
			fields := strings.Fields(sc.Text())
			if len(fields) < 5 || fields[0] == "%" || strings.HasPrefix(fields[0], "-") {
				continue
			}
			name := fields[len(fields)-1]
			n, err := strconv.ParseFloat(fields[3], 64)
			if err != nil || name == "total" {
				continue
			}
			calls[name] += n
		}
		fh.Close()
	}
	return calls
}
