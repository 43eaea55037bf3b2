package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// TestReloadUnderLoad: 50 reloads (every third with a broken
// configuration), then a binary upgrade, while clients send requests to
// a proxied location on new and kept-alive connections, WebSockets echo
// through tunnels opened before the first reload, and TCP sessions echo
// through a stream{} proxy (long ones, and new ones all along). No
// request or session fails, no tunnel drops, and the master ends with the
// descriptors it had.
func TestReloadUnderLoad(t *testing.T) {
	backend, err := harness.StartBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	addr := "127.0.0.1:" + freePort(t)
	streamAddr := "127.0.0.1:" + freePort(t)
	echoPort := startEcho(t)
	conf := func(gen int, broken bool) string {
		// stream is a dynamic module in Debian's build (libnginx-mod-stream,
		// installed by .ci/run), which gonginx's table follows.
		c := "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\ndaemon off;\npid nginx.pid;\nworker_processes 2;\nerror_log stderr notice;\nevents {}\nhttp {\naccess_log off;\nserver {\nlisten " + addr + ";\n" +
			"location / { proxy_pass http://127.0.0.1:" + strconv.Itoa(backend.Port) + "; proxy_http_version 1.1;\n" +
			"  proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $http_connection; }\n" +
			"location /gen { return 200 \"gen " + strconv.Itoa(gen) + "\"; }\n}\n}\n" +
			"stream {\nserver {\nlisten " + streamAddr + ";\nproxy_pass 127.0.0.1:" + strconv.Itoa(echoPort) + ";\n}\n}\n"
		if broken {
			c += "}\n"
		}
		return c
	}
	dir, path := writeConf(t, conf(0, false))
	logFile, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(binary, "-c", path)
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	master := cmd.Process.Pid
	newMaster := 0
	defer func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
		if newMaster > 0 {
			syscall.Kill(newMaster, syscall.SIGTERM)
			waitGone(t, newMaster)
		}
	}()
	waitServing(t, addr, "/gen", "gen 0")
	fds0, rss0 := countFds(master), rssKB(master)

	var tunnels []*wsClient
	for i := 0; i < 8; i++ {
		ws, err := dialWS(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.c.Close()
		tunnels = append(tunnels, ws)
	}
	var sessions []*echoSession
	for i := 0; i < 4; i++ {
		es, err := dialEcho(streamAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer es.c.Close()
		sessions = append(sessions, es)
	}

	var sent, failed atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// New stream sessions all along: each echoes once and closes.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			sent.Add(1)
			es, err := dialEcho(streamAddr)
			if err == nil {
				err = es.echo("session " + strconv.Itoa(n))
				es.c.Close()
			}
			if err != nil {
				failed.Add(1)
				failures.Store("stream: "+err.Error(), true)
			}
		}
	}()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(keepAlive bool) {
			defer wg.Done()
			var c net.Conn
			var br *bufio.Reader
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
				select {
				case <-stop:
					if c != nil {
						c.Close()
					}
					return
				default:
				}
				if c == nil {
					var err error
					if c, err = net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
						failed.Add(1)
						failures.Store("dial: "+err.Error(), true)
						continue
					}
					br = bufio.NewReader(c)
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				conn := "keep-alive"
				if !keepAlive {
					conn = "close"
				}
				sent.Add(1)
				io.WriteString(c, "GET /api/x HTTP/1.1\r\nHost: t\r\nConnection: "+conn+"\r\n\r\n")
				status, closing, err := readResponse(br)
				if err != nil && keepAlive && status == "" {
					// A kept-alive connection the server closed between
					// requests (an old worker quitting): retried, as
					// clients retry idempotent requests on a fresh one.
					sent.Add(-1)
				} else if err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
					failed.Add(1)
					failures.Store(status+" "+errString(err), true)
				}
				if err != nil || closing || !keepAlive {
					c.Close()
					c = nil
				}
			}
		}(w%2 == 0)
	}

	for i := 1; i <= 50; i++ {
		broken := i%3 == 0
		os.WriteFile(path, []byte(conf(i, broken)), 0o644)
		cmd.Process.Signal(syscall.SIGHUP)
		time.Sleep(100 * time.Millisecond)
		for _, ws := range tunnels {
			if err := ws.echo("reload " + strconv.Itoa(i)); err != nil {
				t.Fatalf("tunnel dropped at reload %d: %v", i, err)
			}
		}
		for _, es := range sessions {
			if err := es.echo("reload " + strconv.Itoa(i)); err != nil {
				t.Fatalf("stream session dropped at reload %d: %v", i, err)
			}
		}
	}
	os.WriteFile(path, []byte(conf(51, false)), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	waitServing(t, addr, "/gen", "gen 51")

	// A binary upgrade under the same load.
	syscall.Kill(master, syscall.SIGUSR2)
	newMaster = waitPidFile(t, filepath.Join(dir, "nginx.pid"), func(pid int) bool { return pid != master })
	time.Sleep(300 * time.Millisecond)
	for _, ws := range tunnels {
		if err := ws.echo("after upgrade"); err != nil {
			t.Fatalf("tunnel dropped by the upgrade: %v", err)
		}
	}
	for _, es := range sessions {
		if err := es.echo("after upgrade"); err != nil {
			t.Fatalf("stream session dropped by the upgrade: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n > 0 || sent.Load() < 100 {
		var why []string
		failures.Range(func(k, _ any) bool { why = append(why, k.(string)); return true })
		t.Errorf("%d of %d requests failed across 50 reloads and an upgrade: %v", n, sent.Load(), why)
	}
	t.Logf("%d requests and stream sessions, 8 tunnels and 4 long sessions kept, across 50 reloads and a binary upgrade", sent.Load())
	// The old master's descriptors: what it had before, once the old
	// generations are gone (a leak would grow with every reload). The
	// last generations' workers may still be exiting on a loaded machine:
	// wait (boundedly) for the count to come down.
	fds := countFds(master)
	for deadline := time.Now().Add(10 * time.Second); fds > fds0+2 && time.Now().Before(deadline); fds = countFds(master) {
		time.Sleep(50 * time.Millisecond)
	}
	if fds > fds0+2 {
		t.Errorf("master descriptors: %d before the reloads, %d after", fds0, fds)
	}
	if rss := rssKB(master); rss > rss0*3/2+8192 {
		t.Errorf("master RSS: %d KiB before the reloads, %d KiB after", rss0, rss)
	}
	// Old workers finish their tunnels before they exit (as nginx's
	// without worker_shutdown_timeout): the old master goes once they end.
	syscall.Kill(master, syscall.SIGQUIT)
	time.Sleep(200 * time.Millisecond)
	for _, ws := range tunnels {
		if err := ws.echo("while quitting"); err != nil {
			t.Errorf("tunnel dropped by the old master's graceful quit: %v", err)
		}
		ws.c.Close()
	}
	for _, es := range sessions {
		if err := es.echo("while quitting"); err != nil {
			t.Errorf("stream session dropped by the old master's graceful quit: %v", err)
		}
		es.c.Close()
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the old master did not quit once its tunnels ended")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// readResponse reads one response head and its Content-Length body.
func readResponse(br *bufio.Reader) (status string, closing bool, err error) {
	status, err = br.ReadString('\n')
	if err != nil {
		return "", true, err
	}
	length := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return status, true, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, _ := strings.Cut(line, ":")
		switch strings.ToLower(name) {
		case "content-length":
			length, _ = strconv.Atoi(strings.TrimSpace(value))
		case "connection":
			closing = strings.EqualFold(strings.TrimSpace(value), "close")
		}
	}
	_, err = io.CopyN(io.Discard, br, int64(length))
	return strings.TrimSpace(status), closing, err
}

// wsClient is a WebSocket through the proxy to the backend's echo.
type wsClient struct {
	c  net.Conn
	br *bufio.Reader
}

func dialWS(addr string) (*wsClient, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /api/socket HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	status, _, err := readResponse(br)
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101") {
		c.Close()
		return nil, &net.OpError{Op: "upgrade", Err: io.ErrUnexpectedEOF}
	}
	return &wsClient{c: c, br: br}, nil
}

func (w *wsClient) echo(text string) error {
	w.c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := harness.WriteFrame(w.c, harness.Frame{Op: harness.OpText, Payload: []byte(text)}, []byte{1, 2, 3, 4}); err != nil {
		return err
	}
	f, err := harness.ReadFrame(w.br)
	if err != nil {
		return err
	}
	if string(f.Payload) != text {
		return &net.OpError{Op: "echo", Err: io.ErrUnexpectedEOF}
	}
	return nil
}

// countFds counts a process's open descriptors.
func countFds(pid int) int {
	entries, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(entries)
}

// rssKB is a process's resident set, from /proc/PID/statm.
func rssKB(pid int) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.Atoi(f[1])
	return pages * os.Getpagesize() / 1024
}

// startEcho runs a TCP echo server for the stream proxy.
func startEcho(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// echoSession is a TCP session through the stream proxy to the echo.
type echoSession struct {
	c  net.Conn
	br *bufio.Reader
}

func dialEcho(addr string) (*echoSession, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &echoSession{c: c, br: bufio.NewReader(c)}, nil
}

func (e *echoSession) echo(text string) error {
	e.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(e.c, text+"\n"); err != nil {
		return err
	}
	line, err := e.br.ReadString('\n')
	if err != nil {
		return err
	}
	if line != text+"\n" {
		return &net.OpError{Op: "echo", Err: io.ErrUnexpectedEOF}
	}
	return nil
}
