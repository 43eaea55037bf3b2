package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// units is how many requests, messages or connections the last
// throughput run made (the -syscalls table divides by it).
var units float64

// row is one workload and what it reports, in the order run returns it.
type row struct {
	name    string
	metrics []string
	run     func(s *server, d time.Duration, idle int) ([]float64, error)
}

var rows = []row{
	{"http", []string{"requests/s", "cpu µs/request", "kernel µs/request", "p99 µs/request"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
		return httpRun(s, false, "/small", 32, d)
	}},
	{"cache-hit", []string{"requests/s", "cpu µs/request", "kernel µs/request", "p99 µs/request"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
		return httpRun(s, false, "/cached", 32, d)
	}},
	{"http-1m", []string{"MiB/s", "cpu µs/MiB", "kernel µs/MiB", "p99 µs/response"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
		return httpRun(s, false, "/big", 8, d)
	}},
	{"https", []string{"requests/s", "cpu µs/request", "kernel µs/request", "p99 µs/request"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
		return httpRun(s, true, "/small", 32, d)
	}},
	{"h2", []string{"requests/s", "cpu µs/request", "p99 µs/request"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
		return h2Run(s, 4, 16, d)
	}},
	{"ws-echo", []string{"messages/s", "cpu µs/message", "p99 µs/echo"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
		return wsRun(s, 200, 64, d)
	}},
	{"ws-1m", []string{"MiB/s", "cpu µs/MiB", "p99 µs/echo"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
		return wsRun(s, 8, 1<<20, d)
	}},
	{"ws-connect", []string{"connections/s", "cpu µs/connection"}, wsConnectRun},
	{"grpc-unary", []string{"calls/s", "cpu µs/call", "p99 µs/call"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
		return grpcRun(s, 4, 8, d)
	}},
	{"php", []string{"requests/s", "cpu µs/request", "kernel µs/request", "p99 µs/request"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
		return phpRun(s, d)
	}},
	{"php-close", []string{"requests/s", "cpu µs/request", "kernel µs/request", "p99 µs/request"}, func(s *server, d time.Duration, _ int) ([]float64, error) {
		return phpCloseRun(s, d)
	}},
	{"idle-ws", []string{"process KiB/tunnel", "kernel KiB/tunnel", "fds/tunnel"}, func(s *server, _ time.Duration, n int) ([]float64, error) {
		return idleRun(s, n, true, false, false)
	}},
	{"idle-wss", []string{"process KiB/tunnel", "kernel KiB/tunnel", "fds/tunnel"}, func(s *server, _ time.Duration, n int) ([]float64, error) {
		return idleRun(s, n, true, true, false)
	}},
	{"idle-http", []string{"process KiB/connection", "kernel KiB/connection", "fds/connection"}, func(s *server, _ time.Duration, n int) ([]float64, error) {
		return idleRun(s, n, false, false, false)
	}},
	{"idle-https", []string{"process KiB/connection", "kernel KiB/connection", "fds/connection"}, func(s *server, _ time.Duration, n int) ([]float64, error) {
		return idleRun(s, n, false, true, false)
	}},
	{"idle-h2", []string{"process KiB/connection", "kernel KiB/connection", "fds/connection"}, func(s *server, _ time.Duration, n int) ([]float64, error) {
		return idleRun(s, n, false, true, true)
	}},
}

func rowNames() []string {
	var n []string
	for _, r := range rows {
		n = append(n, r.name)
	}
	return n
}

func rowByName(name string) (row, bool) {
	for _, r := range rows {
		if r.name == name {
			return r, true
		}
	}
	return row{}, false
}

func dial(s *server, useTLS bool) (net.Conn, error) {
	if useTLS {
		return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.tls,
			&tls.Config{InsecureSkipVerify: true, ServerName: "bench.test"})
	}
	return net.DialTimeout("tcp", s.http, 5*time.Second)
}

// httpRun sends GETs on conns keep-alive connections for d: it returns
// requests/s, CPU µs per request and the kernel's part of it, or MiB/s
// and CPU and kernel µs per MiB; then the 99th percentile of the time a
// response took.
func httpRun(s *server, useTLS bool, path string, conns int, d time.Duration) ([]float64, error) {
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: bench.test\r\n\r\n")
	var requests, bytes atomic.Int64
	var lat latencies
	var firstErr firstError
	user0, kernel0 := s.cpuTimes()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c net.Conn
			var br *bufio.Reader
			var took []time.Duration
			onConn := 0 // requests answered on c: tells a new connection's first request from a kept one's
			defer func() {
				lat.merge(took)
				if c != nil {
					c.Close()
				}
			}()
			for t0 := time.Now(); t0.Before(deadline); t0 = time.Now() {
				if c == nil {
					var err error
					if c, err = dial(s, useTLS); err != nil {
						firstErr.set(err)
						return
					}
					br, onConn = bufio.NewReaderSize(c, 64<<10), 0
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Write(req); err != nil {
					firstErr.set(fmt.Errorf("request %d on connection %s, write: %w", onConn+1, c.LocalAddr(), err))
					return
				}
				n, closing, err := readBody(br)
				if err != nil {
					firstErr.set(fmt.Errorf("request %d on connection %s, after %v: %w", onConn+1, c.LocalAddr(), time.Since(t0).Round(time.Microsecond), err))
					return
				}
				onConn++
				requests.Add(1)
				bytes.Add(n)
				took = append(took, time.Since(t0))
				if closing { // keepalive_requests reached: a new connection, as a browser would
					c.Close()
					c = nil
				}
			}
		}()
	}
	wg.Wait()
	if err := firstErr.get(); err != nil && requests.Load() == 0 {
		return nil, err
	}
	elapsed := time.Since(start).Seconds()
	user1, kernel1 := s.cpuTimes()
	cpu, kernel := float64((user1 - user0 + kernel1 - kernel0).Microseconds()), float64((kernel1 - kernel0).Microseconds())
	units = float64(requests.Load())
	if path == "/big" {
		mib := float64(bytes.Load()) / (1 << 20)
		return []float64{mib / elapsed, cpu / mib, kernel / mib, lat.p99()}, nil
	}
	n := float64(requests.Load())
	return []float64{n / elapsed, cpu / n, kernel / n, lat.p99()}, nil
}

// readBody reads a response with a Content-Length and returns its
// length, and whether the server closes the connection after it.
func readBody(br *bufio.Reader) (n int64, closing bool, err error) {
	status, err := br.ReadString('\n')
	if err != nil {
		return 0, true, err
	}
	if !strings.HasPrefix(status, "HTTP/1.1 200") {
		return 0, true, errors.New("status " + strings.TrimSpace(status))
	}
	length := int64(-1)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return 0, true, err
		}
		if line == "\r\n" {
			break
		}
		lower := strings.ToLower(line)
		if v, ok := strings.CutPrefix(lower, "content-length:"); ok {
			length, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
		if strings.HasPrefix(lower, "connection:") && strings.Contains(lower, "close") {
			closing = true
		}
	}
	if length < 0 {
		return 0, true, errors.New("no Content-Length")
	}
	_, err = br.Discard(int(length))
	return length, closing, err
}

// wsDial opens a WebSocket to the backend's echo through s.
func wsDial(s *server, useTLS bool) (net.Conn, *bufio.Reader, error) {
	c, err := dial(s, useTLS)
	if err != nil {
		return nil, nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: bench.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReaderSize(c, 64<<10)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101") {
		c.Close()
		return nil, nil, errors.New("no 101: " + strings.TrimSpace(status))
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		if line == "\r\n" {
			return c, br, nil
		}
	}
}

var mask = []byte{1, 2, 3, 4}

// wsRun echoes size-byte messages on conns WebSockets for d: messages/s
// and CPU µs per message, or MiB/s and µs per MiB for big messages.
func wsRun(s *server, conns, size int, d time.Duration) ([]float64, error) {
	payload := []byte(strings.Repeat("m", size))
	var msgs atomic.Int64
	var firstErr firstError
	var lat latencies
	type ws struct {
		c  net.Conn
		br *bufio.Reader
	}
	var all []ws
	for i := 0; i < conns; i++ {
		c, br, err := wsDial(s, false)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		all = append(all, ws{c, br})
	}
	cpu0, start := s.cpu(), time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for _, w := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var took []time.Duration
			defer func() { lat.merge(took) }()
			for t0 := time.Now(); t0.Before(deadline); t0 = time.Now() {
				w.c.SetDeadline(t0.Add(10 * time.Second))
				if err := harness.WriteFrame(w.c, harness.Frame{Op: harness.OpBinary, Payload: payload}, mask); err != nil {
					firstErr.set(err)
					return
				}
				if _, err := harness.ReadFrame(w.br); err != nil {
					firstErr.set(err)
					return
				}
				msgs.Add(1)
				took = append(took, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	if err := firstErr.get(); err != nil && msgs.Load() == 0 {
		return nil, err
	}
	elapsed, cpu := time.Since(start).Seconds(), s.cpu()-cpu0
	n := float64(msgs.Load())
	units = n
	if size >= 1<<20 {
		mib := n * float64(size) / (1 << 20)
		return []float64{mib / elapsed, float64(cpu.Microseconds()) / mib, lat.p99()}, nil
	}
	return []float64{n / elapsed, float64(cpu.Microseconds()) / n, lat.p99()}, nil
}

// wsConnectRun opens a WebSocket, echoes one message and closes, again
// and again on 16 clients for d.
func wsConnectRun(s *server, d time.Duration, _ int) ([]float64, error) {
	var done atomic.Int64
	var firstErr firstError
	cpu0, start := s.cpu(), time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				c, br, err := wsDial(s, false)
				if err != nil {
					firstErr.set(err)
					return
				}
				err = harness.WriteFrame(c, harness.Frame{Op: harness.OpText, Payload: []byte("hello")}, mask)
				if err == nil {
					_, err = harness.ReadFrame(br)
				}
				c.Close()
				if err != nil {
					firstErr.set(err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := firstErr.get(); err != nil && done.Load() == 0 {
		return nil, err
	}
	elapsed, cpu := time.Since(start).Seconds(), s.cpu()-cpu0
	n := float64(done.Load())
	units = n
	return []float64{n / elapsed, float64(cpu.Microseconds()) / n}, nil
}

// idleRun opens n WebSocket tunnels (or keep-alive connections, HTTP/2
// ones with h2, after one request each), lets them sit, and returns what each holds: the
// server's resident memory, the kernel's slab (every socket of the
// machine's, so the client's and the backend's are in it for both
// servers alike) and descriptors. A few connections of the same kind
// are opened, used and closed before the baseline is read, so what is
// paid once (the code pages and pools the first requests bring in) is
// counted for neither server: what is left grows with n.
func idleRun(s *server, n int, tunnels, useTLS, h2 bool) ([]float64, error) {
	warm, err := openIdle(s, idleWarmUp, tunnels, useTLS, h2)
	for _, c := range warm {
		c.Close()
	}
	if err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond)
	rss0, slab0, fds0 := s.rssKB(), slabKB(), s.fds()
	conns, err := openIdle(s, n, tunnels, useTLS, h2)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		time.Sleep(500 * time.Millisecond)
	}()
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Second)
	per := float64(n)
	return []float64{(s.rssKB() - rss0) / per, (slabKB() - slab0) / per, (s.fds() - fds0) / per}, nil
}

// idleWarmUp is how many connections idleRun uses before its baseline.
const idleWarmUp = 16

// openIdle opens n tunnels or keep-alive connections, each after its
// echo or request, and leaves them idle (the ones opened are returned
// with an error too, for the caller to close).
func openIdle(s *server, n int, tunnels, useTLS, h2 bool) ([]net.Conn, error) {
	var conns []net.Conn
	for i := 0; i < n; i++ {
		if h2 {
			c, err := h2Idle(s)
			if err != nil {
				return conns, err
			}
			conns = append(conns, c)
		} else if tunnels {
			c, br, err := wsDial(s, useTLS)
			if err != nil {
				return conns, err
			}
			conns = append(conns, c)
			harness.WriteFrame(c, harness.Frame{Op: harness.OpText, Payload: []byte("hi")}, mask)
			if _, err := harness.ReadFrame(br); err != nil {
				return conns, err
			}
		} else {
			c, err := dial(s, useTLS)
			if err != nil {
				return conns, err
			}
			conns = append(conns, c)
			io.WriteString(c, "GET /small HTTP/1.1\r\nHost: bench.test\r\n\r\n")
			if _, _, err := readBody(bufio.NewReader(c)); err != nil {
				return conns, err
			}
		}
		conns[len(conns)-1].SetDeadline(time.Time{})
	}
	return conns, nil
}

// firstError keeps the first error of several goroutines, and counts
// them.
type firstError struct {
	mu  sync.Mutex
	err error
	n   int
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.n++
	f.mu.Unlock()
	if f != &failures {
		failures.set(err)
	}
}

// failures is every error of a run's clients, also those of a run that
// returns its numbers anyway (a row fails only when nothing got
// through): run reports them with the servers' logs.
var failures firstError

func (f *firstError) reset() (n int, first error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, first = f.n, f.err
	f.n, f.err = 0, nil
	return n, first
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
