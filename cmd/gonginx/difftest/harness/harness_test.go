package harness

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func dialBackend(t *testing.T, b *Backend) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(b.Port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c, bufio.NewReader(c)
}

func TestBackendRecordsRawBytes(t *testing.T) {
	b, err := StartBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, br := dialBackend(t, b)
	io.WriteString(c, "POST /x%20y?q HTTP/1.1\r\nx-CuStOm:  v \r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	lines, status, err := readResponse(br, "POST")
	if err != nil || status != 200 {
		t.Fatalf("status %d, err %v, %q", status, err, lines)
	}
	want := []Exchange{{
		RequestLine: "POST /x%20y?q HTTP/1.1",
		Headers:     []string{"x-CuStOm:  v ", "Host: a", "Transfer-Encoding: chunked", "Connection: close"},
		Body:        "3\r\nabc\r\n0\r\n\r\n",
	}}
	// nreq is the backend's own bookkeeping (for /reqno), not what it saw.
	if d := cmp.Diff(want, b.Take(0), cmpopts.IgnoreUnexported(Exchange{})); d != "" {
		t.Errorf("backend view (-want +got):\n%s", d)
	}
	if d := cmp.Diff("backend saw: POST /x%20y?q HTTP/1.1\n", lines[len(lines)-1]); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}
}

func TestBackendWebSocketEcho(t *testing.T) {
	b, err := StartBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, br := dialBackend(t, b)
	io.WriteString(c, "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	lines, status, err := readResponse(br, "GET")
	if err != nil || status != 101 {
		t.Fatalf("status %d, err %v, %q", status, err, lines)
	}
	// RFC 6455 section 1.3's worked example.
	if got := headerValue(lines[1:], "Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("Sec-WebSocket-Accept = %q", got)
	}
	var got []string
	for _, f := range []Frame{{Op: OpText, Payload: []byte("hi")}, {Op: OpPing, Payload: []byte("p")}, {Op: OpClose, Payload: []byte{3, 232}}} {
		if err := WriteFrame(c, f, mask); err != nil {
			t.Fatal(err)
		}
		echo, err := ReadFrame(br)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, echo.String())
	}
	if d := cmp.Diff([]string{`text "hi"`, `pong "p"`, `close "\x03\xe8"`}, got); d != "" {
		t.Errorf("echo (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{`text "hi"`, `ping "p"`, `close "\x03\xe8"`}, b.Take(0)[0].Frames); d != "" {
		t.Errorf("backend frames (-want +got):\n%s", d)
	}
}

// Take waits for an open tunnel to end: a proxy closes its side only
// after the client has gone, and on a loaded machine that can come well
// after the client's close, so the EOF would otherwise be seen or not.
func TestBackendTakeWaitsForTunnel(t *testing.T) {
	b, err := StartBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, br := dialBackend(t, b)
	io.WriteString(c, "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if _, status, err := readResponse(br, "GET"); err != nil || status != 101 {
		t.Fatalf("status %d, err %v", status, err)
	}
	if err := WriteFrame(c, Frame{Op: OpText, Payload: []byte("hi")}, mask); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFrame(br); err != nil {
		t.Fatal(err)
	}
	// A slow proxy: the tunnel's other end closes a while after Take starts.
	closed := make(chan struct{})
	go func() { time.Sleep(300 * time.Millisecond); c.Close(); close(closed) }()
	defer func() { <-closed }()
	if d := cmp.Diff([]string{`text "hi"`, "EOF"}, b.Take(0)[0].Frames); d != "" {
		t.Errorf("backend frames (-want +got):\n%s", d)
	}
}

// Take sees a request whose connection the kernel accepted but the
// backend's Accept has not returned yet: a proxy that gave up on a slow
// backend (proxy_read_timeout) has sent it and closed, and on a loaded
// machine the accept loop can run after the client's answer came.
func TestBackendTakeSeesAcceptQueue(t *testing.T) {
	b, err := StartBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(b.Port))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /x HTTP/1.0\r\n\r\n")
		c.Close()
		got := b.Take(0)
		if len(got) != 1 || got[0].RequestLine != "GET /x HTTP/1.0" {
			t.Fatalf("try %d: Take right after the proxy's close = %+v, want the one request", i, got)
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536, 70000} {
		for _, m := range [][]byte{nil, mask} {
			payload := bytes.Repeat([]byte{0xA5}, n)
			var buf bytes.Buffer
			if err := WriteFrame(&buf, Frame{Op: OpBinary, Payload: payload}, m); err != nil {
				t.Fatal(err)
			}
			f, err := ReadFrame(bufio.NewReader(&buf))
			if err != nil {
				t.Fatalf("len %d masked %v: %v", n, m != nil, err)
			}
			if f.Op != OpBinary || !bytes.Equal(f.Payload, payload) {
				t.Errorf("len %d masked %v: got op %d len %d", n, m != nil, f.Op, len(f.Payload))
			}
		}
	}
}

func TestNormalize(t *testing.T) {
	page := func(token string) string {
		return "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>" + token + "</center>\r\n</body>\r\n</html>\r\n"
	}
	nginx := Result{Responses: []string{"HTTP/1.1 502 Bad Gateway", "Server: nginx/1.22.1", "Date: Fri, 27 Nov 2026 10:17:32 GMT",
		"Content-Type: text/html", "Content-Length: " + strconv.Itoa(len(page("nginx/1.22.1"))), "", page("nginx/1.22.1"),
		"HTTP/1.1 404 Not Found", "Server: nginx/1.22.1", "Content-Type: text/html", "Content-Length: 153", ""},
		End: "Location: https://h:41235/x", Backend: []string{"Host: 127.0.0.1:41236"}}
	gonginx := Result{Responses: []string{"HTTP/1.1 502 Bad Gateway", "Server: gonginx/0.1.0", "Date: Sat, 28 Nov 2026 11:00:00 GMT",
		"Content-Type: text/html", "Content-Length: " + strconv.Itoa(len(page("gonginx/0.1.0"))), "", page("gonginx/0.1.0"),
		"HTTP/1.1 404 Not Found", "Server: gonginx/0.1.0", "Content-Type: text/html", "Content-Length: 154", ""},
		End: "Location: https://h:50001/x", Backend: []string{"Host: 127.0.0.1:50002"}}
	a := newNormalizer(map[int]string{41235: "PORT", 41236: "BACKEND_PORT"}).result(nginx)
	b := newNormalizer(map[int]string{50001: "PORT", 50002: "BACKEND_PORT"}).result(gonginx)
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("normalized results differ (-nginx +gonginx):\n%s", d)
	}
	if a.End != "Location: https://h:PORT/x" || a.Backend[0] != "Host: 127.0.0.1:BACKEND_PORT" {
		t.Errorf("ports not normalized: %q %q", a.End, a.Backend)
	}
	// A real difference in length survives normalization.
	gonginx.Responses[4] = "Content-Length: 1"
	b = newNormalizer(map[int]string{50001: "PORT", 50002: "BACKEND_PORT"}).result(gonginx)
	if cmp.Equal(a, b) {
		t.Error("a wrong Content-Length was normalized away")
	}
}

// server_tokens stays visible: a token with a version and one without
// do not normalize to the same thing, whichever server sent them.
func TestNormalizeServerTokens(t *testing.T) {
	head := func(token string) Result {
		return Result{Responses: []string{"HTTP/1.1 404 Not Found", "Server: " + token, "Content-Type: text/html",
			"Content-Length: " + strconv.Itoa(30+len(token)), "", "<hr><center>" + token + "</center>\r\n</body>\r\n</html>\r\n"}}
	}
	n := newNormalizer(nil)
	if d := cmp.Diff(n.result(head("nginx")), n.result(head("gonginx"))); d != "" {
		t.Errorf("server_tokens off differs between servers:\n%s", d)
	}
	if d := cmp.Diff(n.result(head("nginx/1.22.1")), n.result(head("gonginx/0.1.0"))); d != "" {
		t.Errorf("server_tokens on differs between servers:\n%s", d)
	}
	if cmp.Equal(n.result(head("nginx")), n.result(head("gonginx/0.1.0"))) {
		t.Error("server_tokens off and on normalize alike")
	}
	clock := clockNeutral([]string{"HTTP/1.1 200 OK", "Date: Sun, 06 Dec 2026 07:00:00 GMT", "Expires: Sun, 06 Dec 2026 08:00:00 GMT",
		"Cache-Control: max-age=3600", ""}, ClockRelative)
	if d := cmp.Diff([]string{"HTTP/1.1 200 OK", "Date: Sun, 06 Dec 2026 07:00:00 GMT", "Expires: DATE+3600s",
		"Cache-Control: max-age=EXPIRES-DATE", ""}, clock); d != "" {
		t.Errorf("clockNeutral (-want +got):\n%s", d)
	}
}

// A file the server wrote during the run (a log fetched over HTTP) has an
// mtime near Date that differs between the two runs by the second they
// fall in; the harness's own files (FixedTime) and the size stay visible.
func TestNormalizeRecentMtime(t *testing.T) {
	head := func(date, lastModified, etag string) Result {
		return Result{Responses: []string{"HTTP/1.1 200 OK", "Date: " + date, "Last-Modified: " + lastModified,
			"ETag: " + etag, "Content-Length: 12", ""}}
	}
	n := newNormalizer(nil)
	a := n.result(head("Sun, 06 Dec 2026 07:00:00 GMT", "Sun, 06 Dec 2026 06:59:59 GMT", `"6b1507ef-c"`))
	b := n.result(head("Sun, 06 Dec 2026 07:00:01 GMT", "Sun, 06 Dec 2026 07:00:00 GMT", `"6b1507f0-c"`))
	want := []string{"HTTP/1.1 200 OK", "Date: DATE", "Last-Modified: RECENT", `ETag: "RECENT-c"`, "Content-Length: 12", ""}
	for _, r := range []Result{a, b} {
		if d := cmp.Diff(want, r.Responses); d != "" {
			t.Errorf("recent mtime (-want +got):\n%s", d)
		}
	}
	fixed := FixedTime.Format(http.TimeFormat)
	if c := n.result(head("Sun, 06 Dec 2026 07:00:00 GMT", fixed, `"65937d25-c"`)); c.Responses[2] != "Last-Modified: "+fixed || c.Responses[3] != `ETag: "65937d25-c"` {
		t.Errorf("a fixed mtime was hidden: %q", c.Responses)
	}
	if cmp.Equal(a, n.result(head("Sun, 06 Dec 2026 07:00:00 GMT", "Sun, 06 Dec 2026 06:59:59 GMT", `"6b1507ef-d"`))) {
		t.Error("a different size was normalized away")
	}
}

// The close is awaited long only where the server said it would close.
func TestCloseWindow(t *testing.T) {
	resp := func(headers ...string) []string {
		return append(append([]string{"HTTP/1.1 200 OK"}, headers...), "", "body")
	}
	tests := []struct {
		name, sent string
		last       []string
		want       time.Duration
	}{
		{"1.1 persists", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", resp("Server: x"), keptOpenWindow},
		{"1.1 close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", resp("Connection: close"), closingWindow},
		{"1.0 without keep-alive", "GET / HTTP/1.0\r\n\r\n", resp("Server: x"), closingWindow},
		{"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", resp("Connection: keep-alive"), keptOpenWindow},
		{"upgrade", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", resp("Connection: upgrade"), keptOpenWindow},
		{"a body line is no header", "GET / HTTP/1.1\r\n\r\n", []string{"HTTP/1.1 200 OK", "", "Connection: close"}, keptOpenWindow},
		{"no response lines", "GET / HTTP/1.1\r\n\r\n", nil, keptOpenWindow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, closeWindow(tc.sent, tc.last)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// A run whose log line comes late waits at the step for it; the other,
// ahead, goes on; a run whose request ended before a stream's step is not
// waited for there.
func TestLogStep(t *testing.T) {
	s := newLogStep()
	var mu sync.Mutex
	late := 0
	go func() {
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		late = 1
		mu.Unlock()
	}()
	done := make(chan struct{})
	go func() {
		s.step(0, stepAt{0, afterStreams}, func() int { return 1 })
		close(done)
	}()
	s.step(1, stepAt{0, afterStreams}, func() int { mu.Lock(); defer mu.Unlock(); return late })
	mu.Lock()
	if late != 1 {
		t.Error("the run behind went on before its line came")
	}
	mu.Unlock()
	<-done
	// Side 0's request ended at its first stream; side 1 has three.
	// (A wait for a count that never comes would end in slack.)
	go s.step(0, stepAt{1, afterStreams}, func() int { return 1 })
	s.step(1, stepAt{1, 0}, func() int { return 1 })
	s.step(1, stepAt{1, 1}, func() int { return 1 })
	s.step(1, stepAt{1, afterStreams}, func() int { return 1 })
	if s.slack {
		t.Error("steps the other run skipped were waited for")
	}
}
