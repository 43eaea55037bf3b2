package upstream

import (
	"bufio"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// wsBackend answers every request with 101 plus "SERVERFIRST", then
// echoes what it reads until EOF.
func wsBackend(t *testing.T) (addr string, requests chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	requests = make(chan string, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				var head strings.Builder
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					head.WriteString(line)
					if line == "\r\n" {
						break
					}
				}
				requests <- head.String()
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nSERVERFIRST")
				// A plain loop: io.Copy would splice, and an idle
				// splice holds a pipe, which the tests count.
				buf := make([]byte, 4096)
				for {
					n, err := br.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), requests
}

func fdTargets() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out = append(out, l)
	}
	return out
}

// openFDs counts open sockets (pipes are counted apart: splicePipes).
func openFDs() int {
	n := 0
	for _, t := range fdTargets() {
		if strings.HasPrefix(t, "socket:") {
			n++
		}
	}
	return n
}

// socketsOn counts this process's open TCP sockets with a local or remote
// port among ports (from /proc/net/tcp and tcp6 by inode): a test's own
// count, which sockets other tests' servers close meanwhile do not move.
func socketsOn(ports ...int) int {
	mine := map[string]bool{}
	for _, t := range fdTargets() {
		if ino, ok := strings.CutPrefix(t, "socket:["); ok {
			mine[strings.TrimSuffix(ino, "]")] = true
		}
	}
	want := map[int]bool{}
	for _, p := range ports {
		want[p] = true
	}
	portOf := func(addr string) int {
		i := strings.LastIndexByte(addr, ':')
		p, _ := strconv.ParseInt(addr[i+1:], 16, 32)
		return int(p)
	}
	n := 0
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(table)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && mine[f[9]] && (want[portOf(f[1])] || want[portOf(f[2])]) {
				// Once per inode: the kernel writes the table in pieces,
				// and a socket that moves in its hash between two reads
				// shows twice (seen under load: 13 for 12).
				delete(mine, f[9])
				n++
			}
		}
	}
	return n
}

func splicePipes() int {
	n := 0
	for _, t := range fdTargets() {
		if strings.HasPrefix(t, "pipe:") {
			n++
		}
	}
	return n
}

// settle waits (bounded) until f reports true.
func settle(f func() bool) bool {
	for i := 0; i < 200; i++ {
		if f() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f()
}

func TestTunnel(t *testing.T) {
	addr, requests := wsBackend(t)
	ps := newProxyServer(t, "", `proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; proxy_set_header Host $host; proxy_pass http://`+addr+`;`, "/ws/")

	// The first round starts what the process keeps (the poller's and
	// the abort watcher's goroutines): the count starts after it.
	var baseG, baseFD int
	for round := 0; round < 4; round++ {
		if round == 1 {
			settle(func() bool { return ps.proxy.Tunnels.Len() == 0 })
			baseG, baseFD = runtime.NumGoroutine(), openFDs()
		}
		c, err := net.Dial("tcp", ps.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		// Bytes after the head, in the same write, must reach the backend.
		io.WriteString(c, "GET /ws/x HTTP/1.1\r\nHost: foo\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nCLIENTFIRST")
		want := "HTTP/1.1 101 Switching Protocols\r\nServer: gonginx/0.1.0\r\nDate: D\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nSERVERFIRSTCLIENTFIRST"
		got := readN(t, c, len(normalizeBack(want)))
		if diff := cmp.Diff(want, normalize(got)); diff != "" {
			t.Fatalf("client got (-want +got):\n%s", diff)
		}
		if req := <-requests; req != "GET /ws/x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nHost: foo\r\n\r\n" {
			t.Errorf("backend got %q", req)
		}
		io.WriteString(c, "ping")
		if got := readN(t, c, 4); got != "ping" {
			t.Errorf("echo: %q", got)
		}
		// The client half-closes: nginx then closes both sides, so the
		// client sees EOF.
		c.(*net.TCPConn).CloseWrite()
		rest, _ := io.ReadAll(c)
		if len(rest) != 0 {
			t.Errorf("after half-close got %q", rest)
		}
		c.Close()
	}
	if !settle(func() bool { return ps.proxy.Tunnels.Len() == 0 }) {
		t.Errorf("%d tunnels left", ps.proxy.Tunnels.Len())
	}
	if !settle(func() bool { return runtime.NumGoroutine() <= baseG }) {
		t.Errorf("goroutines: %d before, %d after", baseG, runtime.NumGoroutine())
	}
	if !settle(func() bool { return openFDs() <= baseFD }) {
		t.Errorf("fds: %d before, %d after: %v", baseFD, openFDs(), fdTargets())
	}
}

func TestTunnelIdleTimeoutAndCloseAll(t *testing.T) {
	addr, _ := wsBackend(t)
	ps := newProxyServer(t, "", `proxy_http_version 1.1; proxy_read_timeout 1s; proxy_pass http://`+addr+`;`, "/")
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: foo\r\nUpgrade: websocket\r\n\r\n")
	readN(t, c, len("HTTP/1.1 101 Switching Protocols\r\nServer: gonginx/0.1.0\r\nDate: Fri, 27 Nov 2026 10:14:33 GMT\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nSERVERFIRST"))
	// Traffic keeps it open past the idle limit... (its gaps far below
	// the limit: 100 ms gaps under a 200 ms limit closed it on a loaded
	// machine, 1 run in 30 at load 22)
	for start := time.Now(); time.Since(start) < 1500*time.Millisecond; {
		time.Sleep(50 * time.Millisecond)
		io.WriteString(c, "x")
		readN(t, c, 1)
	}
	// ...silence closes it.
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("idle close: %v", err)
	}

	// CloseAll ends live tunnels.
	c2, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c2, "GET / HTTP/1.1\r\nHost: foo\r\nUpgrade: websocket\r\n\r\n")
	readN(t, c2, 5)
	settle(func() bool { return ps.proxy.Tunnels.Len() == 1 })
	ps.proxy.Tunnels.CloseAll()
	io.ReadAll(c2)
	if !settle(func() bool { return ps.proxy.Tunnels.Len() == 0 }) {
		t.Errorf("tunnels left after CloseAll")
	}
}

// Without Upgrade in the client's request a 101 is not a tunnel (nginx
// checks r->headers_in.upgrade).
func TestNoUpgradeHeaderNoTunnel(t *testing.T) {
	addr, _ := wsBackend(t)
	ps := newProxyServer(t, "", `proxy_pass http://`+addr+`;`, "/")
	if ps.proxy.Tunnels.Len() != 0 {
		t.Fatal("tunnels before start")
	}
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: foo\r\n\r\n")
	got := readN(t, c, len("HTTP/1.1 101"))
	if got != "HTTP/1.1 101" || ps.proxy.Tunnels.Len() != 0 {
		t.Errorf("got %q, %d tunnels", got, ps.proxy.Tunnels.Len())
	}
}

func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", n, err, buf)
	}
	return string(buf)
}

// normalizeBack gives the length the Date line really has.
func normalizeBack(s string) string {
	return strings.Replace(s, "Date: D\r\n", "Date: Fri, 27 Nov 2026 10:14:33 GMT\r\n", 1)
}

// wrappedConn hides the *net.TCPConn, as crypto/tls does on the client
// side, so the tunnel copies through its buffers instead of splicing.
type wrappedConn struct{ net.Conn }

// TestTunnelBuffered moves more than a buffer each way between a wrapped
// client and a plain TCP backend, for buffer sizes below and at a page.
func TestTunnelBuffered(t *testing.T) {
	for _, size := range []int{512, 4096} {
		echo, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			io.Copy(c, c)
			c.Close()
		}()
		front, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := front.Accept()
			accepted <- c
		}()
		client, err := net.Dial("tcp", front.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		serverSide := <-accepted
		up, err := net.Dial("tcp", echo.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		tn := &tunnel{client: wrappedConn{serverSide}, upstream: up, idle: 5 * time.Second, bufs: tunnelPool(size)}
		done := make(chan error, 1)
		go func() { done <- tn.run([]byte("C0"), []byte("U0")) }()

		client.SetDeadline(time.Now().Add(5 * time.Second))
		payload := strings.Repeat("0123456789abcdef", 100<<10/16)
		go io.WriteString(client, payload)
		want := "U0C0" + payload
		if got := readN(t, client, len(want)); got != want {
			t.Errorf("size %d: echoed %d bytes, want %d (prefix %q)", size, len(got), len(want), got[:min(len(got), 8)])
		}
		client.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("size %d: run: %v", size, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("size %d: tunnel did not end after the client closed", size)
		}
		echo.Close()
		front.Close()
	}
}

// proxy_buffer_size sizes a tunnel's buffers; the default is one memory
// page, as nginx's (4k or 8k by platform), and the innermost level wins.
func TestTunnelBufferSize(t *testing.T) {
	tests := []struct {
		http, loc string
		want      int
	}{
		{"", "proxy_pass http://127.0.0.1;", os.Getpagesize()},
		{"proxy_buffer_size 16k;", "proxy_pass http://127.0.0.1;", 16 << 10},
		{"proxy_buffer_size 16k;", "proxy_buffer_size 1024; proxy_pass http://127.0.0.1;", 1024},
	}
	for _, tc := range tests {
		httpBlock, locBlock := parseConf(t, tc.http), parseConf(t, tc.loc)
		groups, err := CompileGroups(httpBlock)
		if err != nil {
			t.Fatal(err)
		}
		p, err := CompileProxy([][]*nginxconfDirective{httpBlock, locBlock}, groups, newCompiler())
		if err != nil {
			t.Fatal(err)
		}
		got := len(*p.tunnelBufs.Get().(*[]byte))
		if got != tc.want {
			t.Errorf("%s / %s: buffer %d bytes, want %d", tc.http, tc.loc, got, tc.want)
		}
	}
}

// An idle wrapped tunnel ends after proxy_read_timeout even though the
// backend direction waits for readability without a buffer.
func TestTunnelBufferedIdle(t *testing.T) {
	addr, _ := wsBackend(t)
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := front.Accept()
		accepted <- c
	}()
	client, err := net.Dial("tcp", front.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	serverSide := <-accepted
	up, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// The backend answers any head with a 101 and then echoes.
	io.WriteString(up, "GET / HTTP/1.1\r\n\r\n")
	tn := &tunnel{client: wrappedConn{serverSide}, upstream: up, idle: 400 * time.Millisecond, bufs: tunnelPool(4096)}
	done := make(chan error, 1)
	go func() { done <- tn.run(nil, nil) }()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	head := readN(t, client, len("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nSERVERFIRST"))
	if !strings.HasSuffix(head, "SERVERFIRST") {
		t.Fatalf("got %q", head)
	}
	// Traffic keeps it open past the idle limit...
	for i := 0; i < 3; i++ {
		time.Sleep(100 * time.Millisecond)
		io.WriteString(client, "x")
		if got := readN(t, client, 1); got != "x" {
			t.Fatalf("echo %q", got)
		}
	}
	// ...silence closes both sides.
	rest, err := io.ReadAll(client)
	if err != nil || len(rest) != 0 {
		t.Errorf("idle close: %q %v", rest, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("tunnel did not end")
	}
}

// A tunnel counts what it writes to each side, bytes read before it
// started included, for $bytes_sent and $upstream_bytes_* as nginx's
// connection counters count them.
func TestTunnelCountsBytes(t *testing.T) {
	client, clientPeer := net.Pipe()
	up, upPeer := net.Pipe()
	tn := &tunnel{client: client, upstream: up, bufs: tunnelPool(4096)}
	done := make(chan error, 1)
	go func() { done <- tn.run([]byte("ab"), []byte("xyz")) }()
	read := func(c net.Conn, n int) string {
		b := make([]byte, n)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	got := []string{read(upPeer, 2), read(clientPeer, 3)}
	go upPeer.Write([]byte("hello"))
	got = append(got, read(clientPeer, 5))
	go clientPeer.Write([]byte("1234"))
	got = append(got, read(upPeer, 4))
	clientPeer.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ab", "xyz", "hello", "1234"}, got); diff != "" {
		t.Errorf("relayed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([2]int64{6, 8}, [2]int64{tn.toUpstream, tn.toClient}); diff != "" {
		t.Errorf("bytes to upstream, to client (-want +got):\n%s", diff)
	}
}

// portOf is addr's port.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
