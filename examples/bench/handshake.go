package main

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// The TLS handshake rows: connections that do the handshake and close,
// full ones (no session offered) and resumed ones (each client keeps the
// ticket of its last session, TLS 1.2 as both servers' default
// ssl_protocols). Reported: handshakes/s and the servers' CPU per
// handshake (the ECDSA P-256 certificate of benchConf), and the kernel's
// part of it.
func init() {
	rows = append(rows,
		row{"tls-full", []string{"handshakes/s", "cpu µs/handshake", "kernel µs/handshake"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
			return handshakeRun(s, false, d)
		}},
		row{"tls-resumed", []string{"handshakes/s", "cpu µs/handshake", "kernel µs/handshake", "resumed %"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
			return handshakeRun(s, true, d)
		}})
}

func handshakeRun(s *server, resume bool, d time.Duration) ([]float64, error) {
	var done, resumed atomic.Int64
	var firstErr firstError
	user0, kernel0 := s.cpuTimes()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "bench.test"}
			if resume {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				// The first session, made before the clock runs.
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.tls, cfg)
				if err != nil {
					firstErr.set(err)
					return
				}
				c.Close()
			}
			for time.Now().Before(deadline) {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.tls, cfg)
				if err != nil {
					firstErr.set(err)
					return
				}
				if c.ConnectionState().DidResume {
					resumed.Add(1)
				}
				c.Close()
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	n := float64(done.Load())
	if err := firstErr.get(); err != nil && n == 0 {
		return nil, err
	}
	elapsed := time.Since(start).Seconds()
	user1, kernel1 := s.cpuTimes()
	cpu, kernel := user1-user0+kernel1-kernel0, kernel1-kernel0
	units = n
	out := []float64{n / elapsed, float64(cpu.Microseconds()) / n, float64(kernel.Microseconds()) / n}
	if resume {
		out = append(out, 100*float64(resumed.Load())/n)
	}
	return out, nil
}
