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

func startTracer(s *server, row string) *tracer {
	if perfSched {
		return startPerf(s, row)
	}
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
	if perfSched {
		return t.perfCounts()
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

// perfEvents are what -sched counts with perf stat on the workers: the
// kernel's tracepoints, which slow a server far less than strace's
// stops at every call. Context switches, wake-ups and CPU migrations
// are the threads' (nginx's worker sleeps in epoll_wait; a Go worker's
// threads also hand work to each other, and a thread that moves to the
// other CPU finds its caches cold). filter, when set, counts only the
// event's hits it matches (perf stat --filter).
var perfEvents = []struct{ event, filter, name string }{
	{"raw_syscalls:sys_enter", "", "system calls"},
	{"sched:sched_switch", "", "context switches"},
	// The rest were preempted: runnable, switched out for another
	// task (a peer its send woke, most often).
	{"sched:sched_switch", "prev_state & 127", "  of which to sleep"},
	{"sched:sched_wakeup", "", "wake-ups"},
	{"cpu-migrations", "", "CPU migrations"},
	{"signal:signal_deliver", "", "signals"},
	{"syscalls:sys_enter_read", "", "read"},
	{"syscalls:sys_enter_recvfrom", "", "recvfrom"},
	{"syscalls:sys_enter_write", "", "write"},
	{"syscalls:sys_enter_writev", "", "writev"},
	{"syscalls:sys_enter_sendto", "", "sendto"},
	{"syscalls:sys_enter_epoll_wait", "", "epoll_wait"},
	{"syscalls:sys_enter_epoll_wait", "timeout == 0", "  epoll_wait timeout 0"},
	{"syscalls:sys_enter_epoll_pwait", "", "epoll_pwait"},
	// Go's scheduler polls with timeout 0 before it blocks (it finds
	// nothing then), and the Conns' poller takes its events so.
	{"syscalls:sys_enter_epoll_pwait", "timeout == 0", "  epoll_pwait timeout 0"},
	{"syscalls:sys_enter_epoll_ctl", "", "epoll_ctl"},
	{"syscalls:sys_enter_futex", "", "futex"},
	{"syscalls:sys_enter_nanosleep", "", "nanosleep"},
	// Loopback packets the workers' threads put on the wire (their own
	// writes' segments and the ACKs the kernel sends while it runs the
	// receiving end's softirq in the sender's context), and their sends
	// and receives at the socket layer: the segments a unit costs.
	{"net:net_dev_xmit", "", "packets sent"},
	{"sock:sock_send_length", "", "socket sends"},
	{"sock:sock_recv_length", "", "socket receives"},
	{"page-faults", "", "page faults"},
}

// startPerf is startTracer's -sched: perf stat on the workers, each
// thread they have when the row starts (a Go worker starts its threads
// with its first connections).
func startPerf(s *server, row string) *tracer {
	t := &tracer{}
	var pids []string
	for _, pid := range s.pids()[1:] {
		pids = append(pids, strconv.Itoa(pid))
	}
	f := filepath.Join(s.dir, "perfstat")
	args := []string{"stat", "-x", ",", "-o", f}
	for _, e := range perfEvents {
		args = append(args, "-e", e.event)
		if e.filter != "" {
			args = append(args, "--filter", e.filter)
		}
	}
	cmd := exec.Command("perf", append(args, "-p", strings.Join(pids, ","))...)
	if cmd.Start() == nil {
		t.cmds, t.files = append(t.cmds, cmd), append(t.files, f)
	}
	if kprofDir != "" {
		// -kprof: where the workers' time goes, kernel symbols
		// included (perf report -i FILE --sort sym); a file per
		// server, row and repetition (row is "ROW.REP").
		data := filepath.Join(kprofDir, s.name+"."+row+".data")
		rec := exec.Command("perf", "record", "-q", "-e", "cpu-clock", "-g", "-o", data, "-p", strings.Join(pids, ","))
		if rec.Start() == nil {
			t.cmds = append(t.cmds, rec)
		}
	}
	time.Sleep(300 * time.Millisecond) // attached
	return t
}

// perfCounts reads perf stat's CSV ("count,unit,event,..."), a line
// per event in perfEvents' order (an event counted twice, filtered and
// not, is told apart by its place).
func (t *tracer) perfCounts() map[string]float64 {
	calls := map[string]float64{}
	for _, f := range t.files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		i := 0
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Split(line, ",")
			if len(fields) < 3 || strings.HasPrefix(line, "#") || i >= len(perfEvents) {
				continue
			}
			e := perfEvents[i]
			i++
			if n, err := strconv.ParseFloat(fields[0], 64); err == nil && e.event == fields[2] {
				calls[e.name] += n
			}
		}
	}
	return calls
}
