package server

import (
	"bufio"
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
)

// BenchmarkIdleHeap measures the heap an idle keep-alive connection
// holds once parked (heap-B/conn): the clients run in a child process
// (this test binary, TestIdleClients), so the heap is the server's
// alone. GONGINX_IDLE_HEAPPROFILE names a file for a heap profile taken
// while the connections are held (what each of them keeps);
// GONGINX_IDLE_CLASSES=1 prints the runtime's memory classes per
// connection (what the heap grew to on the way, what it allocated).
func BenchmarkIdleHeap(b *testing.B) {
	for _, tlsOn := range []bool{false, true} {
		name := "http"
		if tlsOn {
			name = "https"
		}
		b.Run(name, func(b *testing.B) { benchIdleHeap(b, tlsOn) })
	}
}

func benchIdleHeap(b *testing.B, tlsOn bool) {
	const n = 400 // below the default worker_connections (512)
	listen := "listen 127.0.0.1:PORT;"
	if tlsOn {
		dir, err := filepath.Abs("../../examples/article")
		if err != nil {
			b.Fatal(err)
		}
		listen = "listen 127.0.0.1:PORT ssl; ssl_certificate " + dir + "/cert.pem; ssl_certificate_key " + dir + "/key.pem;"
	}
	ts := startTest(b, `server { `+listen+` location / { return 200 "ok"; } }`)
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
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClients$")
		cmd.Env = append(os.Environ(), "GONGINX_IDLE_CLIENTS="+ts.addr+","+strconv.Itoa(n)+","+strconv.FormatBool(tlsOn))
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || line != "ready\n" {
			stdin.Close()
			cmd.Wait()
			b.Fatalf("clients: %q %v", line, err)
		}
		if !waitFor(func() bool { return ts.srv.idleState().Parked == n }) {
			b.Fatalf("not all parked: %+v", ts.srv.idleState())
		}
		runtime.GC() // twice: sync.Pool contents go at the second
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		perConn = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
		if os.Getenv("GONGINX_IDLE_CLASSES") != "" {
			fmt.Fprintf(os.Stderr, "sys %d heapsys %d heapinuse %d heapidle %d released %d stackinuse %d stacksys %d mspan %d other %d gc %d totalalloc %d mallocs %d\n",
				int64(after.Sys-before.Sys)/n, int64(after.HeapSys-before.HeapSys)/n, int64(after.HeapInuse-before.HeapInuse)/n,
				int64(after.HeapIdle-before.HeapIdle)/n, int64(after.HeapReleased-before.HeapReleased)/n,
				int64(after.StackInuse-before.StackInuse)/n, int64(after.StackSys-before.StackSys)/n, int64(after.MSpanSys-before.MSpanSys)/n,
				int64(after.OtherSys-before.OtherSys)/n, after.NumGC-before.NumGC, (after.TotalAlloc-before.TotalAlloc)/n, (after.Mallocs-before.Mallocs)/n)
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

// TestIdleClients is BenchmarkIdleHeap's child: it opens the keep-alive
// connections GONGINX_IDLE_CLIENTS names (addr,n,tls), one request each,
// says "ready" and holds them until its stdin closes.
func TestIdleClients(t *testing.T) {
	spec := os.Getenv("GONGINX_IDLE_CLIENTS")
	if spec == "" {
		return // run only as BenchmarkIdleHeap's child
	}
	f := strings.Split(spec, ",")
	n, _ := strconv.Atoi(f[1])
	var conns []net.Conn
	for i := 0; i < n; i++ {
		var c net.Conn
		var err error
		if f[2] == "true" {
			c, err = tls.Dial("tcp", f[0], &tls.Config{InsecureSkipVerify: true})
		} else {
			c, err = net.Dial("tcp", f[0])
		}
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
		var buf [512]byte
		got := ""
		for !strings.HasSuffix(got, "ok") {
			m, err := c.Read(buf[:])
			if err != nil {
				t.Fatal(err)
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
