package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tunnelCounts is what a test backend's WebSocket connection read and
// wrote, head included.
type tunnelCounts struct{ read, written int }

// upgradeBackend answers every request with a 101 and echoes what
// follows; each connection's counts are sent on the channel as it ends.
func upgradeBackend(t *testing.T) (string, <-chan tunnelCounts) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	counts := make(chan tunnelCounts, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				var cnt tunnelCounts
				defer func() { counts <- cnt }()
				buf := make([]byte, 4096)
				n := 0
				for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
				}
				cnt.read = n
				m, _ := io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
				cnt.written = m
				for {
					m, err := c.Read(buf)
					if err != nil {
						return
					}
					cnt.read += m
					m, _ = c.Write(buf[:m])
					cnt.written += m
				}
			}()
		}
	}()
	return ln.Addr().String(), counts
}

// upgrade sends an upgrade request on a new connection and returns it
// with its response head (and what it counts in bytes).
func upgrade(t *testing.T, addr string) (net.Conn, *bufio.Reader, string, int) {
	t.Helper()
	c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(c)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil || line == "\r\n" {
			break
		}
	}
	status, _, _ := strings.Cut(head.String(), "\r\n")
	return c, br, status, head.Len()
}

// proxyWaiting reports whether a goroutine waits in the proxy (a
// request's goroutine held for its tunnel).
func proxyWaiting() bool {
	buf := make([]byte, 1<<20)
	return bytes.Contains(buf[:runtime.Stack(buf, true)], []byte("upstream.(*Proxy).serveUpstream"))
}

// A request that became a tunnel ends with the tunnel, not with a
// goroutine waiting for it (nginx's upgraded request is a structure in
// its pool): while the tunnel idles no goroutine waits in the proxy, its
// log line is not written and limit_conn counts it; the tunnel's end
// writes the line, with the tunnel's counts, and frees the limit.
func TestTunnelEndsRequest(t *testing.T) {
	backend, counts := upgradeBackend(t)
	ts := startTest(t, `limit_conn_zone $binary_remote_addr zone=one:1m;
log_format tun "$status $bytes_sent $upstream_status $upstream_bytes_sent $upstream_bytes_received";
server {
    listen 127.0.0.1:PORT;
    access_log DIR/tun.log tun;
    limit_conn one 1;
    location / {
        proxy_pass http://`+backend+`;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection upgrade;
    }
}`)
	logPath := filepath.Join(ts.dir, "tun.log")
	readLog := func() []string {
		b, _ := os.ReadFile(logPath)
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}

	c, br, status, headLen := upgrade(t, ts.addr)
	if status != "HTTP/1.1 101 Switching Protocols" {
		t.Fatalf("upgrade: %q", status)
	}
	io.WriteString(c, "ping")
	echo := make([]byte, 4)
	if _, err := io.ReadFull(br, echo); err != nil || string(echo) != "ping" {
		t.Fatalf("echo: %q %v", echo, err)
	}
	if !settle(func() bool { return !proxyWaiting() }) {
		t.Error("a goroutine waits in the proxy for the idle tunnel")
	}
	if b, _ := os.ReadFile(logPath); len(b) != 0 {
		t.Errorf("logged before the tunnel ended: %q", b)
	}
	c2, _, status2, _ := upgrade(t, ts.addr)
	c2.Close()
	if status2 != "HTTP/1.1 503 Service Temporarily Unavailable" {
		t.Errorf("second tunnel while the first runs (limit_conn 1): %q", status2)
	}

	c.Close()
	var cnt tunnelCounts
	select {
	case cnt = <-counts:
	case <-time.After(10 * time.Second):
		t.Fatal("the backend's connection did not end")
	}
	if !settle(func() bool { return len(readLog()) == 2 }) {
		t.Fatalf("log: %q", readLog())
	}
	want := "101 " + strconv.Itoa(headLen+len(echo)) + " 101 " + strconv.Itoa(cnt.read) + " " + strconv.Itoa(cnt.written)
	// The 503's line may come after the tunnel's (the client has its
	// response before the line is written).
	lines := readLog()
	got := lines[0]
	if strings.HasPrefix(got, "503 ") {
		got = lines[1]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tunnel's log line (-want +got):\n%s", diff)
	}
	// The log line is written before the request's end gives limit_conn
	// back (as nginx logs before its pool's cleanup), on the goroutine
	// that ended the tunnel: a new upgrade may come between the two.
	var status3 string
	for i := 0; i < 100; i++ {
		c3, _, s, _ := upgrade(t, ts.addr)
		c3.Close()
		if status3 = s; s == "HTTP/1.1 101 Switching Protocols" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if status3 != "HTTP/1.1 101 Switching Protocols" {
		t.Errorf("a tunnel after the first ended: %q", status3)
	}
}

// A graceful stop waits for a tunnel whose request returned, and at its
// end (worker_shutdown_timeout) closes it: the tunnel's end then writes
// its log line and lets the stop finish.
func TestTunnelEndsAtShutdownTimeout(t *testing.T) {
	backend, counts := upgradeBackend(t)
	ts := startTest(t, `log_format tun "$status $upstream_status";
server {
    listen 127.0.0.1:PORT;
    access_log DIR/tun.log tun;
    location / {
        proxy_pass http://`+backend+`;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection upgrade;
    }
}`)
	c, br, status, _ := upgrade(t, ts.addr)
	if status != "HTTP/1.1 101 Switching Protocols" {
		t.Fatalf("upgrade: %q", status)
	}
	if !settle(func() bool { return !proxyWaiting() }) {
		t.Error("a goroutine waits in the proxy for the idle tunnel")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- ts.srv.Shutdown(ctx) }()
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("the tunnel's client after the stop's timeout: %q %v", rest, err)
	}
	c.Close()
	select {
	case err := <-stopped:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	<-counts
	b, _ := os.ReadFile(filepath.Join(ts.dir, "tun.log"))
	if diff := cmp.Diff("101 101\n", string(b)); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}
