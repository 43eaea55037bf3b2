package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/google/go-cmp/cmp"
)

// testServer runs httpBody (with PORT replaced by a free loopback port)
// in-process and returns its address; the server stops with the test.
type testServer struct {
	srv  *Server
	addr string
	dir  string
	log  bytes.Buffer
}

func startTest(t testing.TB, httpBody string) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ts := &testServer{addr: "127.0.0.1:" + port, dir: t.TempDir()}
	body := strings.ReplaceAll(httpBody, "PORT", port)
	body = strings.ReplaceAll(body, "DIR", ts.dir)
	path := filepath.Join(ts.dir, "nginx.conf")
	if err := os.WriteFile(path, []byte("events {}\nhttp {\naccess_log off;\n"+body+"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := nginxconf.Load(path, nginxconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(cfg, StartOptions{ErrorLog: io.Discard, Listeners: map[string]net.Listener{ts.addr: ln}})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ts.srv = srv
	t.Cleanup(func() { srv.Close() })
	return ts
}

// roundTrip sends raw and returns the response with Date and Server
// removed, read until the server closes (raw should ask for close).
func (ts *testServer) roundTrip(t *testing.T, raw string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	return normalize(string(out))
}

func normalize(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\r\n") {
		if strings.HasPrefix(line, "Date: ") || strings.HasPrefix(line, "Last-Modified: ") || strings.HasPrefix(line, "ETag: ") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

func get(path string, headers ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + strings.Join(headers, "") + "\r\n"
}

// bodyOf returns the body of a raw response.
func bodyOf(resp string) string {
	_, body, _ := strings.Cut(resp, "\r\n\r\n")
	return body
}

func TestReloadKeepsServingOnBadConfig(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT; location / { return 200 "one"; } }`)
	if got := ts.roundTrip(t, get("/")); !strings.HasSuffix(got, "one") {
		t.Fatalf("before reload: %q", got)
	}
	conf := filepath.Join(ts.dir, "nginx.conf")
	port := ts.addr[strings.LastIndexByte(ts.addr, ':')+1:]
	reload := func(body string) error {
		if err := os.WriteFile(conf, []byte("events {}\nhttp {\n"+strings.ReplaceAll(body, "PORT", port)+"\n}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := nginxconf.Load(conf, nginxconf.Options{})
		if err != nil {
			return err
		}
		return ts.srv.Reload(cfg)
	}
	if err := reload(`server { listen 127.0.0.1:PORT; location / { return 200 "two"; } location / { } }`); err == nil {
		t.Fatal("bad config reloaded")
	}
	if got := ts.roundTrip(t, get("/")); !strings.HasSuffix(got, "one") {
		t.Fatalf("after bad reload: %q", got)
	}
	if err := reload(`server { listen 127.0.0.1:PORT; location / { return 200 "two"; } }`); err != nil {
		t.Fatal(err)
	}
	if got := ts.roundTrip(t, get("/")); !strings.HasSuffix(got, "two") {
		t.Fatalf("after reload: %q", got)
	}
}

// TestGracefulShutdown: a request whose head is still arriving when the
// server stops is answered; an idle keep-alive connection is closed.
func TestGracefulShutdown(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT; location / { return 200 "done"; } }`)
	idle, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	br := bufio.NewReader(idle)
	if line, _ := br.ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("idle conn first response: %q", line)
	}
	busy, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	io.WriteString(busy, "GET / HTTP/1.1\r\nHost: t\r\n")
	time.Sleep(50 * time.Millisecond) // let the server start reading the head
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.srv.Shutdown(ctx)
	}()
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(br); err != nil {
		t.Fatalf("idle connection not closed: %v", err)
	}
	io.WriteString(busy, "Connection: close\r\n\r\n")
	busy.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(busy)
	if !strings.HasSuffix(string(out), "done") {
		t.Fatalf("in-flight request: %q", out)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}

// TestReloadMovesListener: a reload that changes the port opens the new
// socket and closes the old one.
func TestReloadMovesListener(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT; return 200 "old"; }`)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newAddr := ln.Addr().String()
	ln.Close()
	conf := filepath.Join(ts.dir, "nginx.conf")
	os.WriteFile(conf, []byte("events {}\nhttp {\naccess_log off;\nserver { listen "+newAddr+"; return 200 \"new\"; }\n}\n"), 0o644)
	cfg, err := nginxconf.Load(conf, nginxconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	moved := &testServer{addr: newAddr}
	if got := bodyOf(moved.roundTrip(t, get("/"))); got != "new" {
		t.Errorf("new socket: %q", got)
	}
	if c, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		c.Close()
		t.Errorf("old socket %s still accepts", ts.addr)
	}
	if diff := cmp.Diff([]string{newAddr}, addrStrings(ts.srv.Addrs())); diff != "" {
		t.Errorf("Addrs (-want +got):\n%s", diff)
	}
}

func addrStrings(as []net.Addr) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

// Rejected requests as nginx 1.22.1 answered them: a head with the error
// page, except for a request line parsed whole as HTTP/0.9, which gets
// the bare page (even for HEAD: nginx's header filter stops first).
func TestRejectedRequests(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT; location / { return 200 "ok\n"; } }`)
	page, _ := location.DefaultPage(400, true)
	head := "HTTP/1.1 400 Bad Request\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html\r\nContent-Length: " +
		strconv.Itoa(len(page)) + "\r\nConnection: close\r\n\r\n"
	tests := []struct{ raw, want string }{
		{"GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", head + string(page)},
		{"GET / HTTP/1.\r\n\r\n", head + string(page)},
		{"GET / x\r\n\r\n", head + string(page)},
		{"POST /\r\n", string(page)},
		{"HEAD /\r\n", string(page)},
		{"GET /../x\r\n", string(page)},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, ts.roundTrip(t, tc.raw)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.raw, diff)
		}
	}
}

// A request answered without reading its body (413 here) is followed by
// nginx's lingering close: the rest of the body is discarded, then the
// write side is shut down and input drained, so the client reads the
// whole response and a clean end instead of a reset.
func TestLingeringClose(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT; client_max_body_size 1k; location / { return 200 "ok\n"; } }`)
	page, _ := location.DefaultPage(413, true)
	want := "HTTP/1.1 413 Request Entity Too Large\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html\r\nContent-Length: " +
		strconv.Itoa(len(page)) + "\r\nConnection: close\r\n\r\n" + string(page)
	for _, tail := range []string{"", "GET / HTTP/1.1\r\nHost: t\r\n\r\n"} {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		body := strings.Repeat("y", 4<<20)
		sent := make(chan error, 1)
		go func() {
			_, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body+tail)
			sent <- err
		}()
		out, err := io.ReadAll(c)
		if err != nil {
			t.Errorf("tail %q: read ended with %v, want a clean end", tail, err)
		}
		if diff := cmp.Diff(want, normalize(string(out))); diff != "" {
			t.Errorf("tail %q (-want +got):\n%s", tail, diff)
		}
		if err := <-sent; err != nil {
			t.Errorf("tail %q: sending the body: %v", tail, err)
		}
		c.Close()
	}
}
