package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/rewrite/http2"
	xhttp2 "golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// BenchmarkIdleHeap measures the heap an idle keep-alive connection
// holds once parked (heap-B/conn): the clients run in a child process
// (this test binary, TestIdleClients), so the heap is the server's
// alone. GONGINX_IDLE_HEAPPROFILE names a file for a heap profile taken
// while the connections are held (what each of them keeps);
// GONGINX_IDLE_CLASSES=1 prints the runtime's memory classes per
// connection (what the heap grew to on the way, what it allocated).
func BenchmarkIdleHeap(b *testing.B) {
	for _, mode := range []string{"http", "http-proxy", "https", "ws", "wss", "h2c", "h2", "h2c-60k"} {
		b.Run(mode, func(b *testing.B) { benchIdleHeap(b, mode) })
	}
}

// idleChild starts this test binary as TestIdleClients with spec in
// GONGINX_IDLE_CLIENTS and reads its first line; closing stdin ends it.
func idleChild(b *testing.B, spec string) (line string, stdin io.WriteCloser, cmd *exec.Cmd) {
	cmd = exec.Command(os.Args[0], "-test.run=^TestIdleClients$")
	cmd.Env = append(os.Environ(), "GONGINX_IDLE_CLIENTS="+spec)
	stdin, _ = cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stdin.Close()
		cmd.Wait()
		b.Fatalf("child %s: %q %v", spec, line, err)
	}
	return strings.TrimSpace(line), stdin, cmd
}

func benchIdleHeap(b *testing.B, mode string) {
	tlsOn, ws := mode == "https" || mode == "wss" || mode == "h2", mode == "ws" || mode == "wss"
	h2 := strings.HasPrefix(mode, "h2")
	n := 400 // below the default worker_connections (512)
	if ws {
		n = 200 // a tunnel takes two
	}
	listen := "listen 127.0.0.1:PORT;"
	if tlsOn {
		dir, err := filepath.Abs("../../examples/article")
		if err != nil {
			b.Fatal(err)
		}
		listen = "listen 127.0.0.1:PORT ssl; ssl_certificate " + dir + "/cert.pem; ssl_certificate_key " + dir + "/key.pem;"
	}
	if h2 {
		listen = strings.Replace(listen, "PORT", "PORT http2", 1)
	}
	content := `return 200 "ok";`
	if mode == "h2c-60k" {
		// A body of several DATA frames (within the first window).
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "index.html"), make([]byte, 60<<10), 0o644); err != nil {
			b.Fatal(err)
		}
		content = "root " + dir + ";"
	}
	upstreams := ""
	if ws || mode == "http-proxy" {
		// The backend runs in a child too: an echo of bytes after an
		// upgrade, else a keep-alive "ok".
		addr, stdin, cmd := idleChild(b, "backend")
		defer func() { stdin.Close(); cmd.Wait() }()
		content = "proxy_pass http://" + addr + `; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade;
			proxy_set_header Connection "upgrade"; proxy_read_timeout 1h;`
		if !ws {
			// The bench's idle-http row: each connection's request
			// went through a kept backend connection.
			upstreams = "upstream b { server " + addr + "; keepalive 8; } "
			content = `proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection "";`
		}
	}
	ts := startTest(b, upstreams+`server { `+listen+` location / { `+content+` } }`)
	// A few connections of the kind first, closed: what the first ones
	// bring in once (lazy initializations, pools filled) is not counted
	// per connection, as the bench's idle rows warm up.
	if line, stdin, cmd := idleChild(b, ts.addr+",16,"+mode); line == "ready" {
		stdin.Close()
		cmd.Wait()
		waitFor(func() bool { return ts.srv.idleState().Conns == 0 })
	} else {
		stdin.Close()
		cmd.Wait()
		b.Fatalf("warm-up clients: %q", line)
	}
	if profile := os.Getenv("GONGINX_IDLE_HEAPPROFILE"); profile != "" {
		runtime.MemProfileRate = 1
		defer func() { runtime.MemProfileRate = 512 * 1024 }()
	}
	var perConn float64
	for i := 0; i < b.N; i++ {
		runtime.GC() // twice: sync.Pool contents go at the second
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		line, stdin, cmd := idleChild(b, ts.addr+","+strconv.Itoa(n)+","+mode)
		if line != "ready" {
			b.Fatalf("clients: %q", line)
		}
		settled := func() bool { return ts.srv.idleState().Parked == n }
		if h2 {
			// An idle HTTP/2 connection parks (after its grace), with
			// no buffer.
			settled = func() bool {
				st := ts.srv.idleState()
				return st.H2Idle == n && st.H2Parked == n && st.H2Buffers == 0
			}
		}
		if ws {
			// A tunnel's directions park; the request's goroutine waits
			// for its end.
			settled = func() bool { return runtime.NumGoroutine() <= g0+n+maxIdleGoroutines }
		}
		if !waitFor(settled) {
			b.Fatalf("not settled: %+v, %d goroutines", ts.srv.idleState(), runtime.NumGoroutine()-g0)
		}
		runtime.GC()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		perConn = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
		if os.Getenv("GONGINX_IDLE_CLASSES") != "" {
			fmt.Fprintf(os.Stderr, "sys %d heapsys %d heapinuse %d heapidle %d released %d stackinuse %d stacksys %d mspan %d other %d gc %d totalalloc %d mallocs %d\n",
				int64(after.Sys-before.Sys)/int64(n), int64(after.HeapSys-before.HeapSys)/int64(n), int64(after.HeapInuse-before.HeapInuse)/int64(n),
				int64(after.HeapIdle-before.HeapIdle)/int64(n), int64(after.HeapReleased-before.HeapReleased)/int64(n),
				int64(after.StackInuse-before.StackInuse)/int64(n), int64(after.StackSys-before.StackSys)/int64(n), int64(after.MSpanSys-before.MSpanSys)/int64(n),
				int64(after.OtherSys-before.OtherSys)/int64(n), after.NumGC-before.NumGC, (after.TotalAlloc-before.TotalAlloc)/uint64(n), (after.Mallocs-before.Mallocs)/uint64(n))
		}
		if profile := os.Getenv("GONGINX_IDLE_HEAPPROFILE"); profile != "" {
			if f, err := os.Create(profile); err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
		stdin.Close()
		cmd.Wait()
		waitFor(func() bool { return ts.srv.idleState().Conns == 0 })
	}
	b.ReportMetric(perConn, "heap-B/conn")
}

// maxIdleGoroutines is what the process may run besides the tunnels'
// waits once they are idle (lingering resumers, timers, the poller).
const maxIdleGoroutines = 16

// TestIdleClients is BenchmarkIdleHeap's child: it opens the keep-alive
// connections or WebSocket tunnels GONGINX_IDLE_CLIENTS names
// (addr,n,mode), one request or one echo each, says "ready" and holds
// them until its stdin closes; "backend" is a WebSocket backend that
// echoes bytes, whose address it says first.
func TestIdleClients(t *testing.T) {
	spec := os.Getenv("GONGINX_IDLE_CLIENTS")
	if spec == "" {
		return // run only as BenchmarkIdleHeap's child
	}
	if spec == "backend" {
		idleBackend(t)
		return
	}
	f := strings.Split(spec, ",")
	n, _ := strconv.Atoi(f[1])
	mode := f[2]
	var conns []net.Conn
	for i := 0; i < n; i++ {
		var c net.Conn
		var err error
		if mode == "h2" {
			c, err = tls.Dial("tcp", f[0], &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		} else if mode == "https" || mode == "wss" {
			c, err = tls.Dial("tcp", f[0], &tls.Config{InsecureSkipVerify: true})
		} else {
			c, err = net.Dial("tcp", f[0])
		}
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if strings.HasPrefix(mode, "h2") {
			if err := idleH2Request(c); err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			continue
		}
		want := "ok"
		if mode == "ws" || mode == "wss" {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhi")
			want = "\r\n\r\nhi"
		} else {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
		}
		var buf [512]byte
		got := ""
		for !strings.HasSuffix(got, want) {
			m, err := c.Read(buf[:])
			if err != nil {
				fmt.Fprintf(os.Stderr, "client %d: %v after %q\n", i, err, got)
				t.Fatalf("%v after %q", err, got)
			}
			got += string(buf[:m])
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

// idleBackend answers each upgrade with 101 and echoes what follows.
func idleBackend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				n := 0
				for !strings.Contains(string(buf[:n]), "\r\n\r\n") {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
				}
				for !strings.Contains(string(buf[:n]), "Upgrade") {
					// A keep-alive request: answered, the next read.
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					n = 0
					for !strings.Contains(string(buf[:n]), "\r\n\r\n") {
						m, err := c.Read(buf[n:])
						if err != nil {
							return
						}
						n += m
					}
				}
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
				for {
					m, err := c.Read(buf)
					if err != nil {
						return
					}
					c.Write(buf[:m])
				}
			}()
		}
	}()
	io.Copy(io.Discard, os.Stdin)
	ln.Close()
}

// idleH2Request sends one GET over an HTTP/2 connection and reads its
// answer to the end of the stream.
func idleH2Request(c net.Conn) error {
	io.WriteString(c, http2.ClientPreface)
	fr := xhttp2.NewFramer(c, c)
	fr.WriteSettings()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "t"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(xhttp2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return err
		}
		if f.Header().StreamID == 1 && f.Header().Flags.Has(xhttp2.FlagDataEndStream) {
			return nil
		}
	}
}
