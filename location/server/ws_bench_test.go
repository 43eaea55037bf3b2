package server

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/metrics"
	"sync"
	"syscall"
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
)

// BenchmarkWebSocketConnect is the bench's ws-connect row in one process:
// a client connects, upgrades through the proxy, echoes one message and
// closes. Allocations count the client's and the backend's too.
func BenchmarkWebSocketConnect(b *testing.B) {
	once := wsConnectSetup(b)
	buf := make([]byte, 4096)
	if err := once(buf); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		if err := once(buf); err != nil {
			b.Fatal(err)
		}
	}
	// The process's CPU time, the client's and the backend's included:
	// steadier than the wall clock on a shared machine.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkWebSocketConnectParallel is the row as the bench runs it: 16
// clients at once (on one worker: run it with GOMAXPROCS=1). goroutines/op
// counts the goroutines the process started per connection, the backend's
// one included: a connection's work that finds no lingering goroutine
// (upstream.GoResume) starts one, whose stack grows again.
func BenchmarkWebSocketConnectParallel(b *testing.B) {
	once := wsConnectSetup(b)
	if err := once(make([]byte, 4096)); err != nil {
		b.Fatal(err)
	}
	const clients = 16
	per := b.N/clients + 1
	created := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(created)
	g0 := created[0].Value.Uint64()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			for range per {
				if err := once(buf); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := float64(per * clients)
	metrics.Read(created)
	b.ReportMetric(float64(created[0].Value.Uint64()-g0)/n, "goroutines/op")
	b.ReportMetric(float64(processCPU()-cpu0)/n, "cpu-ns/op")
}

// wsConnectSetup starts a backend that answers an upgrade with 101 and
// echoes, and the server proxying to it; once runs one connection.
func wsConnectSetup(b *testing.B) (once func(buf []byte) error) {
	backend, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { backend.Close() })
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
	req := []byte("GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	msg := []byte("\x81\x05hello")
	b.Cleanup(func() { srv.Close() })
	return func(buf []byte) error {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.Write(req); err != nil {
			return err
		}
		n := 0
		for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
			m, err := c.Read(buf[n:])
			if err != nil {
				return err
			}
			n += m
		}
		if !bytes.HasPrefix(buf, []byte("HTTP/1.1 101")) {
			return fmt.Errorf("%q", buf[:n])
		}
		if _, err := c.Write(msg); err != nil {
			return err
		}
		_, err = io.ReadFull(c, buf[:len(msg)])
		return err
	}
}

// processCPU is the CPU time the process used so far, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
