package difftest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
)

// wireLogFormat puts each request's access log line on the server's stderr, where the harness
// collects it, so the two servers' lines can be compared.
const wireLogFormat = `log_format wire 'ACCESS $status "$request" $body_bytes_sent';
`

// trickleStep is one write of a trickling client: after waiting Wait, write Data.
type trickleStep struct {
	Wait time.Duration
	Data string
}

// trickleResult is what a trickling client saw: the first line of every response it read and how
// the connection ended.
type trickleResult struct {
	Status []string
	End    string
}

// trickle writes steps one by one (stopping at the first write that fails, as a slowloris client
// would notice a closed connection) and then reads until the server closes or limit passes.
// It asserts nothing about timing: only what came back and whether the server closed.
func trickle(addr string, steps []trickleStep, limit time.Duration) trickleResult {
	var res trickleResult
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		res.End = "dial: " + err.Error()
		return res
	}
	defer conn.Close()
	var got []byte
	var mu sync.Mutex
	readDone := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(limit))
		for {
			n, err := conn.Read(buf)
			mu.Lock()
			got = append(got, buf[:n]...)
			mu.Unlock()
			if err != nil {
				readDone <- err
				return
			}
		}
	}()
	var readErr error
	finished := false
	for _, s := range steps {
		select {
		case readErr = <-readDone:
			finished = true
		case <-time.After(s.Wait):
		}
		if finished {
			break
		}
		if _, err := io.WriteString(conn, s.Data); err != nil {
			break
		}
	}
	if !finished {
		readErr = <-readDone
	}
	switch {
	case errors.Is(readErr, os.ErrDeadlineExceeded):
		res.End = "kept open"
	case errors.Is(readErr, syscall.ECONNRESET):
		res.End = "reset"
	default:
		res.End = "closed"
	}
	mu.Lock()
	defer mu.Unlock()
	for _, part := range strings.Split(string(got), "HTTP/1.1 ")[1:] {
		line, _, _ := strings.Cut(part, "\r\n")
		res.Status = append(res.Status, line)
	}
	return res
}

// bytewise splits s into one step per byte, each after pause.
func bytewise(s string, pause time.Duration) []trickleStep {
	steps := make([]trickleStep, len(s))
	for i := range s {
		steps[i] = trickleStep{Wait: pause, Data: s[i : i+1]}
	}
	return steps
}

// accessLines are the "ACCESS ..." lines of a server's output, sorted: a line is written when
// its request ends, which can be after the client saw the close and started the next one.
func accessLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if i := strings.Index(l, "ACCESS "); i >= 0 {
			out = append(out, l[i:])
		}
	}
	sort.Strings(out)
	return out
}

// runTrickles starts im on c with a recording backend and runs each client in turn; it returns
// what each saw and the access log lines.
func runTrickles(t *testing.T, c harness.Case, im harness.Impl, clients [][]trickleStep, limit time.Duration) ([]trickleResult, []string) {
	t.Helper()
	be, err := harness.StartBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	srv, err := harness.Start(c, im, serveAssets(t), be.Port)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(srv.Port)
	var out []trickleResult
	for _, steps := range clients {
		out = append(out, trickle(addr, steps, limit))
	}
	settleLog(srv, -1)
	return out, accessLines(srv.Stop())
}

// settleLog waits (boundedly) until srv has written want access log lines, or, with want < 0,
// until their count stays the same for a while: a line is written when its request ends, which
// on a loaded machine can be well after the client saw the connection close.
func settleLog(srv *harness.Server, want int) {
	last, stable := -1, 0
	for i := 0; i < 60; i++ {
		n := len(accessLines(srv.Output()))
		if want >= 0 && n >= want {
			return
		}
		if n == last {
			stable++
			if want < 0 && stable >= 4 {
				return
			}
		} else {
			last, stable = n, 0
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// nginx's client_header_timeout bounds the whole request head, armed once at accept (or at the
// first byte of a keepalive request) and never re-armed by the bytes that trickle in; a head that
// does not arrive in time is logged with 408 and the connection closed with nothing sent.
// client_body_timeout is the time between two reads of the body. Both servers run one config and
// the same clients; the test compares what the clients saw and the access log lines.
func TestServeWireSlowClients(t *testing.T) {
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	c := harness.Case{Name: "slow", Config: wireLogFormat + `server {
    listen 127.0.0.1:{{PORT}};
    client_header_timeout 2s;
    client_body_timeout 2s;
    access_log /dev/stderr wire;
    location / { return 200 "ok\n"; }
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /t408 { return 408; }
}
`}
	// A head's bytes come headPause apart, so that the header timeout
	// (2s, from the first byte) falls midway between two of them: a byte
	// that arrived just before the server closed, unread, would turn its
	// close into a reset by when each server ran. A timer re-armed by
	// every read would never fire. The body's pauses are far shorter than
	// its timeout, between reads.
	const headPause, pause = 800 * time.Millisecond, 250 * time.Millisecond
	long := "GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + strings.Repeat("v", 1200) + "\r\n"
	clients := [][]trickleStep{
		// A head trickled a byte at a time for longer than the timeout (the request line whole,
		// so that what the log shows of it does not depend on timing).
		append([]trickleStep{{Data: "GET /slow HTTP/1.1\r\n"}}, bytewise("Host: a\r\nX-Trickle: aaaaaaaaaaaaaaaaaaaa\r\n\r\n", headPause)...),
		// The same past the first buffer (a large header buffer in nginx).
		append([]trickleStep{{Data: long}}, bytewise("X-More: bbbbbbbbbbbbbbbbbbbb\r\n\r\n", headPause)...),
		// A keepalive connection: the first request is answered, the second head trickles.
		append([]trickleStep{{Data: "GET /first HTTP/1.1\r\nHost: a\r\n\r\n"}, {Wait: headPause, Data: "GET /second HTTP/1.1\r\n"}},
			bytewise("Host: a\r\nX-Trickle: aaaaaaaaaaaaaaaaaaaa\r\n\r\n", headPause)...),
		// Nothing at all: closed at the timeout, nothing logged.
		{{Wait: 4 * time.Second, Data: "GET / HTTP/1.1\r\nHost: a\r\n\r\n"}},
		// A body trickled with pauses shorter than client_body_timeout arrives whole.
		append([]trickleStep{{Data: "POST /p/body HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\nConnection: close\r\n\r\n"}},
			bytewise("12345678", pause)...),
		// A body that stops for longer: 408, nothing sent.
		{{Data: "POST /p/stall HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n1234"}, {Wait: 4 * time.Second, Data: "5678"}},
		// "return 408" is the same ending.
		{{Data: "GET /t408 HTTP/1.1\r\nHost: a\r\n\r\n"}},
	}
	var wg sync.WaitGroup
	var want, got []trickleResult
	var wantLog, gotLog []string
	wg.Add(2)
	go func() { defer wg.Done(); want, wantLog = runTrickles(t, c, nginx, clients, 6*time.Second) }()
	go func() { defer wg.Done(); got, gotLog = runTrickles(t, c, gonginx, clients, 6*time.Second) }()
	wg.Wait()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("clients saw (-nginx +gonginx):\n%s", d)
	}
	if d := cmp.Diff(wantLog, gotLog); d != "" {
		t.Errorf("access log (-nginx +gonginx):\n%s", d)
	}
	if os.Getenv("DIFFTEST_DUMP") != "" {
		t.Logf("nginx: %q\n%q", want, wantLog)
	}
}

// keepalive_requests, keepalive_time, keepalive_disable and keepalive_timeout (with its
// Keep-Alive header) per location, on proxied and returned responses alike: what the client sees
// of each response's Connection header and of the connection's end.
func TestServeWireKeepalive(t *testing.T) {
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	const (
		msie6   = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"
		msieSV1 = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"
		msie5   = "Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)"
		opera   = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1) Opera 7.54"
		safari  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.1 Safari/605.1.15"
		chrome  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
	)
	get := func(target string, headers ...string) string {
		h := ""
		for _, x := range headers {
			h += x + "\r\n"
		}
		return "GET " + target + " HTTP/1.1\r\nHost: a\r\n" + h + "\r\n"
	}
	post := func(target, ua string) string {
		return "POST " + target + " HTTP/1.1\r\nHost: a\r\nUser-Agent: " + ua + "\r\nContent-Length: 2\r\n\r\nhi"
	}
	pipelined := func(name string, n int, raw ...string) harness.Request {
		return harness.Request{Name: name, Send: []string{strings.Join(raw, "")}, Responses: n}
	}
	c := harness.Case{Name: "keepalive", Config: `server {
    listen 127.0.0.1:{{PORT}};
    keepalive_requests 3;
    location / { return 200 "ok\n"; }
    location /kt0 { keepalive_timeout 0; return 200 "kt0\n"; }
    location /kth { keepalive_timeout 30s 20s; return 200 "kth\n"; }
    location /kr1 { keepalive_requests 1; return 200 "kr1\n"; }
    location /safari { keepalive_disable safari; return 200 "safari\n"; }
    location /none { keepalive_disable none; return 200 "none\n"; }
    location /time { keepalive_time 1s; return 200 "time\n"; }
    location /p/ { keepalive_timeout 30s 15s; proxy_pass http://{{BACKEND}}/; }
    location /p0/ { keepalive_timeout 0; proxy_pass http://{{BACKEND}}/; }
    location /redirect { keepalive_timeout 0; return 302 /kth; }
    location /to-kth { rewrite ^ /kth last; }
    location /from-kt0 { keepalive_timeout 0; rewrite ^ /kth last; }
}
`, Requests: []harness.Request{
		pipelined("keepalive_requests 3 of 4", 4, get("/"), get("/"), get("/"), get("/")),
		pipelined("keepalive_timeout 0", 1, get("/kt0")),
		pipelined("Keep-Alive header", 1, get("/kth")),
		pipelined("keepalive_requests 1", 2, get("/kr1"), get("/")),
		pipelined("Keep-Alive header on a proxied response", 2, get("/p/x"), get("/")),
		pipelined("keepalive_timeout 0 on a proxied response", 1, get("/p0/x")),
		pipelined("keepalive_timeout 0 on a redirect", 1, get("/redirect")),
		pipelined("rewrite last into a location with a header", 2, get("/to-kth"), get("/")),
		pipelined("keepalive off stays off after rewrite", 1, get("/from-kt0")),
		pipelined("MSIE 6 POST", 1, post("/", msie6)),
		pipelined("MSIE 6 SV1 POST", 2, post("/", msieSV1), get("/")),
		pipelined("MSIE 5.5 POST", 1, post("/", msie5)),
		pipelined("MSIE 6 GET", 2, get("/", "User-Agent: "+msie6), get("/")),
		pipelined("Opera as MSIE POST", 2, post("/", opera), get("/")),
		pipelined("MSIE 6 POST, keepalive_disable none", 2, post("/none", msie6), get("/")),
		pipelined("Safari, keepalive_disable safari", 1, get("/safari", "User-Agent: "+safari)),
		pipelined("Chrome, keepalive_disable safari", 2, get("/safari", "User-Agent: "+chrome), get("/")),
		{Name: "keepalive_time passed", Send: []string{get("/time"), get("/time")}, Pause: 1200 * time.Millisecond, Responses: 2},
	}}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// send_timeout is the time between two successive writes: a client that stops reading a large
// file has its connection closed mid-body, with nothing written after the write that timed out,
// and the request is logged with the status it had. The file is larger than twice what the
// socket buffers can hold, so "less than half of it" tells a close at the timeout from a server
// that goes on writing once the client reads again. Over TLS the same (gonginx arms the timer
// only when a record's write waits, as on a plain socket).
func TestServeWireSendTimeout(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "plain"
		if useTLS {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) { wireSendTimeout(t, useTLS) })
	}
}

func wireSendTimeout(t *testing.T, useTLS bool) {
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	const size = 32 << 20
	listen := "listen 127.0.0.1:{{PORT}};"
	if useTLS {
		listen = "listen 127.0.0.1:{{PORT}} ssl;\n    ssl_certificate {{CERT}};\n    ssl_certificate_key {{KEY}};"
	}
	c := harness.Case{Name: "send", Config: `log_format wire_sent 'ACCESS $status "$request" $body_bytes_sent';
server {
    ` + listen + `
    send_timeout 1s;
    access_log /dev/stderr wire_sent;
    location / { root html; }
}
`, Content: map[string]string{"html/big.bin": strings.Repeat("0123456789abcdef", size/16)}}
	if useTLS {
		c.Files = []string{"cert.pem", "key.pem"}
	}
	half := func(n int64) string {
		if n < size/2 {
			return "less than half"
		}
		return "half or more"
	}
	run := func(im harness.Impl) (string, []string) {
		srv, err := harness.Start(c, im, serveAssets(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(srv.Port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if useTLS {
			tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
			tc.SetDeadline(time.Now().Add(10 * time.Second))
			if err := tc.Handshake(); err != nil {
				t.Fatal(err)
			}
			tc.SetDeadline(time.Time{})
			conn = tc
		}
		io.WriteString(conn, "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
		time.Sleep(2500 * time.Millisecond) // not reading, past send_timeout
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := io.Copy(io.Discard, conn)
		conn.Close()
		got := "closed, read " + half(n)
		if err != nil && !(useTLS && errors.Is(err, io.ErrUnexpectedEOF)) {
			got = fmt.Sprintf("read %d bytes, %v", n, err)
		}
		settleLog(srv, 1)
		var lines []string
		for _, l := range accessLines(srv.Stop()) {
			i := strings.LastIndexByte(l, ' ')
			n, _ := strconv.ParseInt(l[i+1:], 10, 64)
			lines = append(lines, l[:i]+" sent "+half(n))
		}
		return got, lines
	}
	var wg sync.WaitGroup
	var want, got string
	var wantLog, gotLog []string
	wg.Add(2)
	go func() { defer wg.Done(); want, wantLog = run(nginx) }()
	go func() { defer wg.Done(); got, gotLog = run(gonginx) }()
	wg.Wait()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("client saw (-nginx +gonginx):\n%s", d)
	}
	if d := cmp.Diff(wantLog, gotLog); d != "" {
		t.Errorf("access log (-nginx +gonginx):\n%s", d)
	}
	if os.Getenv("DIFFTEST_DUMP") != "" {
		t.Logf("nginx: %q %q", want, wantLog)
	}
}

// reset_timedout_connection on: a connection closed for a timeout (head, body) or by 444 is
// reset; "return 408" is not a timeout and ends with a normal close.
func TestServeWireResetTimedOut(t *testing.T) {
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	c := harness.Case{Name: "reset", Config: wireLogFormat + `server {
    listen 127.0.0.1:{{PORT}};
    client_header_timeout 1s;
    client_body_timeout 1s;
    reset_timedout_connection on;
    access_log /dev/stderr wire;
    location / { return 200 "ok\n"; }
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /t408 { return 408; }
    location /t444 { return 444; }
}
`}
	clients := [][]trickleStep{
		{{Data: "GET /slow HTTP/1.1\r\nHost: a\r\n"}},
		{{Data: "POST /p/stall HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n1234"}},
		{{Data: "GET /t444 HTTP/1.1\r\nHost: a\r\n\r\n"}},
		{{Data: "GET /t408 HTTP/1.1\r\nHost: a\r\n\r\n"}},
	}
	var wg sync.WaitGroup
	var want, got []trickleResult
	var wantLog, gotLog []string
	wg.Add(2)
	go func() { defer wg.Done(); want, wantLog = runTrickles(t, c, nginx, clients, 4*time.Second) }()
	go func() { defer wg.Done(); got, gotLog = runTrickles(t, c, gonginx, clients, 4*time.Second) }()
	wg.Wait()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("clients saw (-nginx +gonginx):\n%s", d)
	}
	if d := cmp.Diff(wantLog, gotLog); d != "" {
		t.Errorf("access log (-nginx +gonginx):\n%s", d)
	}
	if os.Getenv("DIFFTEST_DUMP") != "" {
		t.Logf("nginx: %q\n%q", want, wantLog)
	}
}
