package http1

import (
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var dateRe = regexp.MustCompile(`Date: [^\r]*\r\n`)

// respond reads one request from raw, writes resp and body, and returns
// what went on the wire with Date normalized and the nginx Server token
// our own.
func respond(t *testing.T, raw string, resp *Response, body string) string {
	t.Helper()
	fc := &fakeConn{in: []byte(raw)}
	c := NewConn(fc, &ConnInfo{Local: AddrText("127.0.0.1"), ServerPort: 38080})
	defer c.Close()
	if _, err := c.ReadRequest(); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteHeader(resp); err != nil {
		t.Fatal(err)
	}
	if body != "" {
		if _, err := io.WriteString(c, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	return dateRe.ReplaceAllString(fc.out.String(), "Date: D\r\n")
}

// nginxBytes turns a response recorded from nginx 1.22.1 into what we
// send: our Server token, Date normalized.
func nginxBytes(s string) string {
	s = strings.ReplaceAll(s, "Server: nginx/1.22.1\r\n", "Server: "+ServerToken+"\r\n")
	return dateRe.ReplaceAllString(s, "Date: D\r\n")
}

func TestWriteHeaderMatchesNginx(t *testing.T) {
	tests := []struct {
		name  string
		req   string
		resp  Response
		body  string
		nginx string // as recorded from nginx 1.22.1
	}{
		{"return 200 x", "GET /ret HTTP/1.1\r\nHost: a\r\n\r\n",
			Response{Status: 200, ContentType: []byte("text/plain"), ContentLength: 1, LastModified: -1}, "x",
			"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 10:12:24 GMT\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nx"},
		{"charset on HTTP/1.0", "GET /retcs HTTP/1.0\r\n\r\n",
			Response{Status: 200, ContentType: []byte("text/html"), Charset: []byte("utf-8"), ContentLength: 1, LastModified: -1}, "x",
			"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 10:12:24 GMT\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"},
		{"HEAD static file", "HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
			Response{Status: 200, ContentType: []byte("text/html"), ContentLength: 6, LastModified: 1795774322,
				Headers: []Header{{[]byte("ETag"), []byte(`"6b095772-6"`)}, {[]byte("Accept-Ranges"), []byte("bytes")}}}, "hello\n",
			"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 10:12:24 GMT\r\nContent-Type: text/html\r\nContent-Length: 6\r\nLast-Modified: Fri, 27 Nov 2026 10:12:02 GMT\r\nConnection: keep-alive\r\nETag: \"6b095772-6\"\r\nAccept-Ranges: bytes\r\n\r\n"},
		{"proxied body without length", "GET /p/a HTTP/1.1\r\nHost: foo\r\n\r\n",
			Response{Status: 200, StatusLine: []byte("200 OK"), ContentLength: -1, LastModified: -1,
				Headers: []Header{{[]byte("X-A"), []byte("1")}}}, "body-until-close",
			"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 10:14:32 GMT\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nX-A: 1\r\n\r\n10\r\nbody-until-close\r\n0\r\n\r\n"},
		{"proxied redirect made absolute", "GET /p/a HTTP/1.1\r\nHost: foo\r\n\r\n",
			Response{Status: 301, StatusLine: []byte("301 Moved"), ContentLength: 0, LastModified: -1, Location: []byte("/p/zz")}, "",
			"HTTP/1.1 301 Moved\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 10:14:31 GMT\r\nContent-Length: 0\r\nLocation: http://foo:38080/p/zz\r\nConnection: keep-alive\r\n\r\n"},
		{"switching protocols", "GET /ws/a HTTP/1.1\r\nHost: foo\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			Response{Status: 101, StatusLine: []byte("101 Switching Protocols"), ContentLength: -1, LastModified: -1,
				Headers: []Header{{[]byte("Upgrade"), []byte("websocket")}, {[]byte("Sec-WebSocket-Accept"), []byte("abc")}}}, "",
			"HTTP/1.1 101 Switching Protocols\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 10:14:33 GMT\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: abc\r\n\r\n"},
		{"status without text", "GET /st/203 HTTP/1.0\r\n\r\n",
			Response{Status: 203, ContentType: []byte("text/plain"), ContentLength: 0, LastModified: -1}, "",
			"HTTP/1.1 203 \r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 10:12:47 GMT\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{"304 keeps length", "GET /st/304 HTTP/1.0\r\n\r\n",
			Response{Status: 304, ContentType: []byte("text/plain"), ContentLength: 0, LastModified: -1}, "",
			"HTTP/1.1 304 Not Modified\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 10:12:47 GMT\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{"proxied status 000 without length is not chunked", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			Response{Status: 0, StatusLine: []byte("000 Zero"), ContentLength: -1, LastModified: -1,
				Headers: []Header{{[]byte("X-A"), []byte("1")}}}, "body",
			"HTTP/1.1 000 Zero\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 11:45:32 GMT\r\nConnection: close\r\nX-A: 1\r\n\r\nbody"},
		{"505", "GET /x HTTP/1.0\r\n\r\n",
			Response{Status: 505, ContentType: []byte("text/html"), ContentLength: 0, LastModified: -1, Close: true}, "",
			"HTTP/1.1 505 HTTP Version Not Supported\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 10:12:25 GMT\r\nContent-Type: text/html\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := respond(t, tc.req, &tc.resp, tc.body)
			if diff := cmp.Diff(nginxBytes(tc.nginx), got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBodyFramingAndPipelining(t *testing.T) {
	raw := "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n" +
		"POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz" + // left unread: discarded
		"GET /d HTTP/1.1\r\nHost: a\r\n\r\n"
	for _, step := range []int{0, 1, 5} {
		fc := &fakeConn{in: []byte(raw), step: step}
		c := NewConn(fc, &ConnInfo{})
		var got []string
		for i := 0; i < 4; i++ {
			r, err := c.ReadRequest()
			if err != nil {
				t.Fatalf("step %d request %d: %v", step, i, err)
			}
			entry := string(r.URI)
			if i < 2 {
				b, err := io.ReadAll(c.Body())
				if err != nil {
					t.Fatalf("step %d body %d: %v", step, i, err)
				}
				entry += "=" + string(b)
			}
			got = append(got, entry)
		}
		if _, err := c.ReadRequest(); err != io.EOF {
			t.Errorf("step %d: after last request: %v, want EOF", step, err)
		}
		want := []string{"/a=hello", "/b=abcde", "/c", "/d"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", step, diff)
		}
		c.Close()
	}
}

func TestBadChunkedBody(t *testing.T) {
	for _, body := range []string{"x\r\n", "3\r\nabcX", "3\rX", "fffffffffffffffffff\r\n"} {
		fc := &fakeConn{in: []byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body)}
		c := NewConn(fc, &ConnInfo{})
		if _, err := c.ReadRequest(); err != nil {
			t.Fatal(err)
		}
		_, err := io.ReadAll(c.Body())
		if e, ok := err.(*Error); !ok || e.Status != 400 {
			t.Errorf("body %q: err %v, want a 400 *Error", body, err)
		}
	}
}

func TestHijackReturnsBufferedBytes(t *testing.T) {
	fc := &fakeConn{in: []byte("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\nFRAME")}
	c := NewConn(fc, &ConnInfo{})
	r, err := c.ReadRequest()
	if err != nil {
		t.Fatal(err)
	}
	if !r.Upgrade {
		t.Errorf("Upgrade not set")
	}
	nc, rest := c.Hijack()
	if nc != fc || string(rest) != "FRAME" {
		t.Errorf("Hijack() = %v, %q", nc, rest)
	}
	if _, err := c.ReadRequest(); err != ErrHijacked {
		t.Errorf("ReadRequest after hijack: %v", err)
	}
}

func BenchmarkReadRequestWriteHeader(b *testing.B) {
	one := "GET /api/socket/x?y=1 HTTP/1.1\r\nHost: www.my-api.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
	src, x := []byte(one), []byte("x")
	fc := &fakeConn{}
	c := NewConn(fc, &ConnInfo{})
	resp := Response{Status: 200, ContentType: []byte("text/plain"), ContentLength: 1, LastModified: -1}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		fc.in = src
		fc.out.Reset()
		if _, err := c.ReadRequest(); err != nil {
			b.Fatal(err)
		}
		c.WriteHeader(&resp)
		c.Write(x)
		c.Finish()
	}
}

// Abort: what was written goes out, without the last chunk, and the
// connection is not kept.
func TestAbortedResponse(t *testing.T) {
	fc := &fakeConn{in: []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")}
	c := NewConn(fc, &ConnInfo{})
	defer c.Close()
	if _, err := c.ReadRequest(); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteHeader(&Response{Status: 200, ContentLength: -1, LastModified: -1}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "part")
	c.Abort()
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	got := dateRe.ReplaceAllString(fc.out.String(), "Date: D\r\n")
	want := "HTTP/1.1 200 OK\r\nServer: " + ServerToken + "\r\nDate: D\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n4\r\npart\r\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wire (-want +got):\n%s", diff)
	}
	if c.KeepAlive() {
		t.Error("KeepAlive after Abort")
	}
}

// SetEventTime gives the next head its Date (the time the backend's head
// was read, as nginx's cached time); the head after it reads the clock.
func TestSetEventTimeDate(t *testing.T) {
	fc := &fakeConn{in: []byte("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")}
	c := NewConn(fc, &ConnInfo{})
	defer c.Close()
	at := time.Date(2026, 11, 27, 10, 12, 24, 0, time.UTC)
	var dates []string
	for i := 0; i < 2; i++ {
		if _, err := c.ReadRequest(); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			c.SetEventTime(at)
		}
		if err := c.WriteHeader(&Response{Status: 204, ContentLength: -1, LastModified: -1}); err != nil {
			t.Fatal(err)
		}
		if err := c.Finish(); err != nil {
			t.Fatal(err)
		}
		dates = append(dates, dateRe.FindString(fc.out.String()))
		fc.out.Reset()
	}
	if diff := cmp.Diff("Date: Fri, 27 Nov 2026 10:12:24 GMT\r\n", dates[0]); diff != "" {
		t.Errorf("Date with an event time (-want +got):\n%s", diff)
	}
	if dates[1] == dates[0] || dates[1] == "" {
		t.Errorf("Date of the next response = %q; want the clock's", dates[1])
	}
}

// The head's Content-Length line and Date line as one append each
// write what strconv and time's formatting write.
func TestHeadLengthAndDateLines(t *testing.T) {
	for _, n := range []int64{0, 7, 10, 100, 1234567890, 1<<63 - 1} {
		want := "Content-Length: " + strconv.FormatInt(n, 10) + "\r\n"
		if got := string(appendLengthLine([]byte("x"), n)); got != "x"+want {
			t.Errorf("appendLengthLine(%d) = %q, want %q", n, got, "x"+want)
		}
	}
	at := time.Date(2026, 12, 7, 9, 5, 3, 0, time.FixedZone("X", 3600))
	want := "Mon, 07 Dec 2026 08:05:03 GMT"
	if got := string(appendDateAt(nil, at)); got != want {
		t.Errorf("appendDateAt = %q, want %q", got, want)
	}
	if got := string(appendDateLineAt(nil, at)); got != want+"\r\n" {
		t.Errorf("appendDateLineAt = %q, want %q", got, want+"\r\n")
	}
}
