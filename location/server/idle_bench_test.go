package server

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
)

// BenchmarkIdleConnSetup is the bench's idle-http row in one process: a
// client connects, makes one proxied request and leaves the connection
// idle; the 512 newest stay open (parked), older ones close. Bytes per
// op are what a connection's set-up, first request, park and close
// allocate (the client's and the backend's included): the garbage a
// burst of new connections leaves in the heap. live-B/conn is the heap
// in use per parked connection after a collection (the client's side of
// it included). Memory is measured here, not asserted.
func BenchmarkIdleConnSetup(b *testing.B) {
	backend, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer backend.Close()
	go serveSmall(backend)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	path := filepath.Join(b.TempDir(), "nginx.conf")
	conf := "events { worker_connections 4096; }\nhttp {\naccess_log off; error_log /dev/null;\nupstream backend { server " + backend.Addr().String() + "; keepalive 64; }\n" +
		"server { listen " + addr + "; location / { proxy_pass http://backend; proxy_http_version 1.1; " +
		"proxy_set_header Connection \"\"; } }\n}\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := nginxconf.Load(path, nginxconf.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := Start(cfg, StartOptions{ErrorLog: io.Discard, Listeners: map[string]net.Listener{addr: ln}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	req := []byte("GET /small HTTP/1.1\r\nHost: bench.test\r\n\r\n")
	buf := make([]byte, 4096)
	const held = 512
	var ring [held]net.Conn
	next := 0
	once := func() {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n := 0
		for !bytes.HasSuffix(buf[:n], []byte("0123456789")) {
			m, err := c.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += m
		}
		if old := ring[next]; old != nil {
			old.Close()
		}
		ring[next] = c
		next = (next + 1) % held
	}
	for range held {
		once()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		once()
	}
	b.StopTimer()
	waitFor(func() bool { return srv.idleTimers.Len() >= held })
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	live0 := ms.HeapAlloc
	for i, c := range ring {
		if c != nil {
			c.Close()
			ring[i] = nil
		}
	}
	waitFor(func() bool { return srv.connCount() == 0 })
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(int64(live0)-int64(ms.HeapAlloc))/held, "live-B/conn")
}

// serveSmall answers every request of every connection with a 100-byte
// keep-alive response.
func serveSmall(ln net.Listener) {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n" +
		string(bytes.Repeat([]byte("0123456789"), 10)))
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 4096)
			n := 0
			for {
				m, err := c.Read(buf[n:])
				if err != nil {
					return
				}
				n += m
				for {
					i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
					if i < 0 {
						break
					}
					n = copy(buf, buf[i+4:n])
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}
		}()
	}
}

func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for sc := s.conns; sc != nil; sc = sc.next {
		n++
	}
	return n
}
