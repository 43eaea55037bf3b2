package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFastStopEndsWaitingRequest: a fast stop while a request waits on a
// backend that never answers ends the worker at once, as nginx's
// ngx_worker_process_exit (no "exited on signal 9" from a master that had
// to kill it), logging nothing for the request; without a master SIGQUIT
// ends it so too (ngx_single_process_cycle). The client and the backend
// see their connections closed.
func TestFastStopEndsWaitingRequest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		master string
		quit   bool // SIGQUIT first: the fast stop comes during a graceful one
		sig    syscall.Signal
		want   []string
	}{
		{"master TERM", "on", false, syscall.SIGTERM, []string{
			"[notice] M: signal 15 (SIGTERM) received, exiting",
			"[notice] W: exiting",
			"[notice] W: exit",
			"[notice] M: signal 17 (SIGCHLD) received from W",
			"[notice] M: worker process W exited with code 0",
			"[notice] M: exit",
		}},
		// The graceful stop began: the worker's exit names the client
		// and backend connections it leaves open, as
		// ngx_worker_process_exit does when ngx_exiting is set.
		{"master QUIT then TERM", "on", true, syscall.SIGTERM, []string{
			"[notice] M: signal 3 (SIGQUIT) received, shutting down",
			"[notice] W: gracefully shutting down",
			"[notice] M: signal 15 (SIGTERM) received, exiting",
			"[notice] W: exiting",
			"[alert] W: *1 open socket #FD left in connection 2",
			"[alert] W: *2 open socket #FD left in connection 3",
			"[alert] W: aborting",
			"[notice] W: exit",
			"[notice] M: signal 17 (SIGCHLD) received from W",
			"[notice] M: worker process W exited with code 0",
			"[notice] M: exit",
		}},
		{"single TERM", "off", false, syscall.SIGTERM, []string{
			"[notice] M: signal 15 (SIGTERM) received, exiting",
			"[info] M: epoll_wait() failed (4: Interrupted system call)",
			"[notice] M: exit",
		}},
		{"single QUIT", "off", false, syscall.SIGQUIT, []string{
			"[notice] M: signal 3 (SIGQUIT) received, shutting down",
			"[info] M: epoll_wait() failed (4: Interrupted system call)",
			"[notice] M: exit",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fastStop(t, tc.master, tc.quit, tc.sig)
			want := append([]string{"exit status 0", `client: ""`, "backend: EOF", "access: "}, tc.want...)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// fastStop runs the binary with a proxied request waiting on a silent
// backend, sends sig and returns the exit, the client's and backend's
// reads, the access log and the error log's lines from the signal on.
func fastStop(t *testing.T, masterProcess string, quit bool, sig syscall.Signal) []string {
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	port := freePort(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // a worker as "nobody" appends to its logs
	conf := "daemon off;\nmaster_process " + masterProcess + ";\nworker_processes 1;\nerror_log " + dir + "/error.log info;\npid " + dir + "/nginx.pid;\n" +
		"events {}\nhttp {\naccess_log " + dir + "/access.log;\nserver {\nlisten 127.0.0.1:" + port + ";\n" +
		"location / { proxy_pass http://" + bl.Addr().String() + "; }\n}\n}\n"
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "-c", path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // a worker left too
			cmd.Process.Kill()
			<-exited
		}
	})
	var c net.Conn
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err = net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not listening: %v", err)
		}
	}
	defer c.Close()
	io.WriteString(c, "GET /wait HTTP/1.1\r\nHost: t\r\n\r\n")
	bl.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	be, err := bl.Accept()
	if err != nil {
		t.Fatalf("the backend got no connection: %v", err)
	}
	defer be.Close()
	be.SetReadDeadline(time.Now().Add(10 * time.Second))
	var req []byte
	for !strings.Contains(string(req), "\r\n\r\n") {
		buf := make([]byte, 512)
		n, err := be.Read(buf)
		if err != nil {
			t.Fatalf("the backend's read of the request: %v", err)
		}
		req = append(req, buf[:n]...)
	}
	logged, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	if quit {
		cmd.Process.Signal(syscall.SIGQUIT)
		for i := 0; ; i++ {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			if strings.Contains(string(b[len(logged):]), "gracefully shutting down") {
				break
			}
			if i == 500 {
				t.Fatalf("no graceful stop logged: %s", b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("did not exit on %v", sig)
	}
	out := []string{cmd.ProcessState.String()}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	out = append(out, fmt.Sprintf("client: %q", b))
	if err != nil {
		out = append(out, err.Error())
	}
	be.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = be.Read(make([]byte, 1))
	out = append(out, fmt.Sprintf("backend: %v", err))
	access, _ := os.ReadFile(filepath.Join(dir, "access.log"))
	out = append(out, "access: "+string(access))
	all, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	prefix := regexp.MustCompile(`^\S+ \S+ (\[\w+\]) (\d+)#\d+: `)
	worker := regexp.MustCompile(`worker process \d+ `)
	// A socket's descriptor is the Go runtime's to choose.
	fd := regexp.MustCompile(`socket #\d+ `)
	master := fmt.Sprint(cmd.Process.Pid)
	// SIGCHLD's sender, as nginx names it, is the worker that ended.
	from := regexp.MustCompile(` from (\d+)$`)
	workers := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(all[len(logged):])), "\n") {
		m := prefix.FindStringSubmatch(l)
		if m == nil {
			out = append(out, l)
			continue
		}
		who := "W"
		if m[2] == master {
			who = "M"
		} else {
			workers[m[2]] = true
		}
		if f := from.FindStringSubmatch(l); f != nil && workers[f[1]] {
			l = l[:len(l)-len(f[1])] + "W"
		}
		l = fd.ReplaceAllString(worker.ReplaceAllString(l[len(m[0]):], "worker process W "), "socket #FD ")
		out = append(out, m[1]+" "+who+": "+l)
	}
	return out
}
