package server

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
)

// BenchmarkWebSocketConnect is the bench's ws-connect row in one process:
// a client connects, upgrades through the proxy, echoes one message and
// closes. Allocations count the client's and the backend's too.
func BenchmarkWebSocketConnect(b *testing.B) {
	backend, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				n := 0
				for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
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
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	path := filepath.Join(b.TempDir(), "nginx.conf")
	conf := "events {}\nhttp {\naccess_log off;\nserver { listen " + addr + "; location / { proxy_pass http://" +
		backend.Addr().String() + "; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; " +
		"proxy_set_header Connection upgrade; } }\n}\n"
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
	req := []byte("GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	msg := []byte("\x81\x05hello")
	buf := make([]byte, 4096)
	once := func() {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n := 0
		for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
			m, err := c.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += m
		}
		if !bytes.HasPrefix(buf, []byte("HTTP/1.1 101")) {
			b.Fatalf("%q", buf[:n])
		}
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
			b.Fatal(err)
		}
	}
	once()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		once()
	}
	// The process's CPU time, the client's and the backend's included:
	// steadier than the wall clock on a shared machine.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time the process used so far, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
