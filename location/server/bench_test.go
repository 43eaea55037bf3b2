package server

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
)

// BenchmarkKeepAlive runs requests one after another on one keep-alive
// connection through the whole server (read, route, answer, log, wait
// for the next): the steady state allocates nothing per request.
// keepalive_requests is raised so that one connection lasts the run.
func BenchmarkKeepAlive(b *testing.B) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	dir := b.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	conf := "events {}\nhttp {\naccess_log off;\nkeepalive_requests 1000000000;\nserver { listen " + addr + "; location / { return 200 \"ok\\n\"; } }\n}\n"
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
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	keepAliveLoop(b, c)
}

// BenchmarkKeepAliveTLS is BenchmarkKeepAlive over TLS (the bench's
// https row without the proxy): what the record layer and its glue add
// per request. Allocations count the client's too (crypto/tls makes
// one per record read on each side).
func BenchmarkKeepAliveTLS(b *testing.B) {
	addr := startTLSBench(b)
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "bench.test"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	keepAliveLoop(b, c)
}

// keepAliveLoop times requests one after another on c, whose server
// answers "ok\n" to each.
func keepAliveLoop(b *testing.B, c net.Conn) {
	req := []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	br := bufio.NewReader(c)
	body := make([]byte, 3)
	roundTrip := func() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n := -1
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if len(line) == 2 {
				break
			}
			if v, ok := bytesCut(line, "Content-Length: "); ok {
				n, _ = strconv.Atoi(string(v[:len(v)-2]))
			}
		}
		if n != len(body) {
			b.Fatalf("Content-Length %d", n)
		}
		if _, err := io.ReadFull(br, body); err != nil {
			b.Fatal(err)
		}
	}
	roundTrip() // the connection's exchange and buffers
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
}

func bytesCut(line []byte, prefix string) ([]byte, bool) {
	if len(line) < len(prefix) || string(line[:len(prefix)]) != prefix {
		return nil, false
	}
	return line[len(prefix):], true
}
