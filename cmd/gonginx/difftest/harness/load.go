package harness

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LoadOptions bounds one load run: it stops at Requests or MaxDuration, whichever comes first.
type LoadOptions struct {
	Requests       int
	Concurrency    int
	MaxDuration    time.Duration
	Path           string // proxied path, e.g. /api/socket/bench
	TLS            bool
	SNI            string
	IdleWebSockets int    // WebSockets opened (and held idle) to measure memory per connection
	WSPath         string // e.g. /api/socket/idle
}

// LoadResult is what one implementation did under LoadOptions.
type LoadResult struct {
	Requests      int
	Errors        int
	Elapsed       time.Duration
	ReqPerSec     float64
	CPUPerRequest time.Duration // server CPU (user+system, all its processes) per request
	WebSockets    int           // idle WebSockets that were open when RSS was measured
	RSSBaseKB     int64         // server RSS before opening them
	RSSPerWSKB    float64       // RSS growth per idle WebSocket
}

// Load drives srv with keepalive connections, then holds idle WebSockets open through it.
func Load(srv *Server, opt LoadOptions) (LoadResult, error) {
	var res LoadResult
	addr := "127.0.0.1:" + strconv.Itoa(srv.Port)
	request := "GET " + opt.Path + " HTTP/1.1\r\nHost: " + opt.SNI + "\r\nUser-Agent: difftest-load\r\n\r\n"

	cpu0, err := TreeCPU(srv.Pid)
	if err != nil {
		return res, err
	}
	var done, failed atomic.Int64
	var claimed atomic.Int64
	deadline := time.Now().Add(opt.MaxDuration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < opt.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn net.Conn
			var br *bufio.Reader
			for time.Now().Before(deadline) && claimed.Add(1) <= int64(opt.Requests) {
				if conn == nil {
					c, err := dialLoad(addr, opt)
					if err != nil {
						failed.Add(1)
						continue
					}
					conn, br = c, bufio.NewReaderSize(c, 16<<10)
				}
				keep, err := roundTrip(conn, br, request)
				if err != nil {
					failed.Add(1)
					conn.Close()
					conn = nil
					continue
				}
				done.Add(1)
				if !keep {
					conn.Close()
					conn = nil
				}
			}
			if conn != nil {
				conn.Close()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	cpu1, err := TreeCPU(srv.Pid)
	if err != nil {
		return res, err
	}
	res.Requests, res.Errors = int(done.Load()), int(failed.Load())
	if res.Requests > 0 {
		res.ReqPerSec = float64(res.Requests) / res.Elapsed.Seconds()
		res.CPUPerRequest = (cpu1 - cpu0) / time.Duration(res.Requests)
	}

	if opt.IdleWebSockets == 0 {
		return res, nil
	}
	time.Sleep(300 * time.Millisecond) // let the server settle after the burst
	if res.RSSBaseKB, err = TreeRSSKB(srv.Pid); err != nil {
		return res, err
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	upgrade := "GET " + opt.WSPath + " HTTP/1.1\r\nHost: " + opt.SNI + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	for i := 0; i < opt.IdleWebSockets && time.Now().Before(deadline.Add(opt.MaxDuration)); i++ {
		c, err := dialLoad(addr, opt)
		if err != nil {
			return res, fmt.Errorf("websocket %d: %w", i, err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, upgrade); err != nil {
			return res, fmt.Errorf("websocket %d: %w", i, err)
		}
		lines, status, err := readResponse(bufio.NewReader(c), "GET")
		if err != nil || status != 101 {
			return res, fmt.Errorf("websocket %d: status %d %v %q", i, status, err, lines)
		}
		c.SetDeadline(time.Time{})
	}
	res.WebSockets = len(conns)
	time.Sleep(500 * time.Millisecond)
	rss, err := TreeRSSKB(srv.Pid)
	if err != nil {
		return res, err
	}
	if res.WebSockets > 0 {
		res.RSSPerWSKB = float64(rss-res.RSSBaseKB) / float64(res.WebSockets)
	}
	return res, nil
}

func dialLoad(addr string, opt LoadOptions) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil || !opt.TLS {
		return c, err
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: opt.SNI}) // example cert
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, err
	}
	tc.SetDeadline(time.Time{})
	return tc, nil
}

// roundTrip sends one request and reads one Content-Length or chunked response, discarding the
// body; it reports whether the server keeps the connection open.
func roundTrip(conn net.Conn, br *bufio.Reader, request string) (bool, error) {
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		return false, err
	}
	status, err := br.ReadSlice('\n')
	if err != nil {
		return false, err
	}
	if len(status) < 12 || string(status[9:12]) != "200" {
		return false, fmt.Errorf("status %q", status)
	}
	length, keep, chunked := -1, true, false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return false, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, _ := strings.Cut(string(line), ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "content-length":
			length, _ = strconv.Atoi(value)
		case "connection":
			keep = !strings.EqualFold(value, "close")
		case "transfer-encoding":
			chunked = true
		}
	}
	if chunked {
		_, _, err := readChunked(br)
		return keep, err
	}
	if length < 0 {
		return false, errors.New("response without Content-Length")
	}
	_, err = br.Discard(length)
	return keep, err
}

// TreeCPU is the user+system CPU time of pid and its direct children (nginx's workers).
func TreeCPU(pid int) (time.Duration, error) {
	var total time.Duration
	for _, p := range processTree(pid) {
		f, err := statFields(p)
		if err != nil {
			return 0, err
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(utime+stime) * (time.Second / 100) // USER_HZ is 100 on Linux
	}
	return total, nil
}

// TreeRSSKB is the resident set size of pid and its direct children, from /proc/PID/status.
func TreeRSSKB(pid int) (int64, error) {
	var total int64
	for _, p := range processTree(pid) {
		data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "status"))
		if err != nil {
			return 0, fmt.Errorf("rss of %d: %w", p, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				total += kb
			}
		}
	}
	return total, nil
}

// statFields returns /proc/PID/stat's fields after the command name: [0] is state, [1] ppid,
// [11] utime, [12] stime.
func statFields(pid int) ([]string, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, fmt.Errorf("stat of %d: %w", pid, err)
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("stat of %d: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return nil, fmt.Errorf("stat of %d: %d fields", pid, len(f))
	}
	return f, nil
}

func processTree(pid int) []int {
	pids := []int{pid}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == pid {
			continue
		}
		if f, err := statFields(p); err == nil && f[1] == strconv.Itoa(pid) {
			pids = append(pids, p)
		}
	}
	return pids
}
