package http1

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeConn serves reads from in, in chunks of at most step bytes, and
// records writes.
type fakeConn struct {
	in   []byte
	step int
	out  bytes.Buffer
}

func (f *fakeConn) Read(p []byte) (int, error) {
	if len(f.in) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if f.step > 0 && n > f.step {
		n = f.step
	}
	n = copy(p[:n], f.in)
	f.in = f.in[n:]
	return n, nil
}
func (f *fakeConn) Write(p []byte) (int, error)      { return f.out.Write(p) }
func (f *fakeConn) Close() error                     { return nil }
func (f *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (f *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

type parsed struct {
	Status    int // 0: parsed fine
	URI, Args string
	Host      string
	RawURI    string
	KeepAlive bool
	Headers   string // "name=value;" for each kept header
}

func parseOne(t *testing.T, raw string, step int) parsed {
	t.Helper()
	fc := &fakeConn{in: []byte(raw), step: step}
	c := NewConn(fc, &ConnInfo{})
	defer c.Close()
	r, err := c.ReadRequest()
	if err != nil {
		if e, ok := err.(*Error); ok {
			return parsed{Status: e.Status}
		}
		t.Fatalf("ReadRequest(%q): %v", raw, err)
	}
	var hs strings.Builder
	for _, h := range r.Headers {
		hs.WriteString(string(h.Name) + "=" + string(h.Value) + ";")
	}
	return parsed{URI: string(r.URI), Args: string(r.Args), Host: string(r.Host), RawURI: string(r.RawURI),
		KeepAlive: r.KeepAlive, Headers: hs.String()}
}

// Every case below was sent byte for byte to nginx 1.22.1 (server
// "return 200 $uri|$args|$host|$request_uri") and the answer recorded.
var requestCases = []struct {
	name, raw string
	want      parsed
}{
	{"dots and escaped slashes", "GET /a/%2e%2E/b%2Fc/./d//e/.. HTTP/1.1\r\nHost: A.COM:80\r\n\r\n",
		parsed{URI: "/b/c/d/", Host: "a.com", RawURI: "/a/%2e%2E/b%2Fc/./d//e/..", KeepAlive: true, Headers: "Host=A.COM:80;"}},
	{"escaped question mark stays in path", "GET /a%3fb?x=%20#frag HTTP/1.1\r\nHost: a.\r\n\r\n",
		parsed{URI: "/a?b", Args: "x=%20", Host: "a", RawURI: "/a%3fb?x=%20#frag", KeepAlive: true, Headers: "Host=a.;"}},
	{"fragment before args", "GET /a#b?c HTTP/1.1\r\nHost: a\r\n\r\n",
		parsed{URI: "/a", Host: "a", RawURI: "/a#b?c", KeepAlive: true, Headers: "Host=a;"}},
	{"fragment after args", "GET /a?b#c HTTP/1.1\r\nHost: a\r\n\r\n",
		parsed{URI: "/a", Args: "b", Host: "a", RawURI: "/a?b#c", KeepAlive: true, Headers: "Host=a;"}},
	{"escaped percent and hash", "GET /a%25b%23c+d HTTP/1.1\r\nHost: a\r\n\r\n",
		parsed{URI: "/a%b#c+d", Host: "a", RawURI: "/a%25b%23c+d", KeepAlive: true, Headers: "Host=a;"}},
	{"absolute URI wins over Host", "GET http://Example.COM:8080/x/y?z HTTP/1.1\r\nHost: other\r\n\r\n",
		parsed{URI: "/x/y", Args: "z", Host: "example.com", RawURI: "/x/y?z", KeepAlive: true, Headers: "Host=other;"}},
	{"absolute URI without path", "GET http://Example.COM HTTP/1.1\r\nHost: other\r\n\r\n",
		parsed{URI: "/", Host: "example.com", RawURI: "/", KeepAlive: true, Headers: "Host=other;"}},
	{"absolute URI with only args", "GET http://Example.COM?a HTTP/1.1\r\nHost: other\r\n\r\n",
		parsed{URI: "/", Args: "a", Host: "example.com", RawURI: "?a", KeepAlive: true, Headers: "Host=other;"}},
	{"underscore header dropped", "GET /x HTTP/1.1\r\nHost: a\r\nX_Y: 1\r\nX-Y: 2\r\n\r\n",
		parsed{URI: "/x", Host: "a", RawURI: "/x", KeepAlive: true, Headers: "Host=a;X-Y=2;"}},
	{"invalid header names dropped", "GET /x HTTP/1.1\r\nHost: a\r\nX@Y: 1\r\nX.Y: 2\r\n\r\n",
		parsed{URI: "/x", Host: "a", RawURI: "/x", KeepAlive: true, Headers: "Host=a;"}},
	{"header without colon kept empty", "GET /x HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
		parsed{URI: "/x", Host: "a", RawURI: "/x", KeepAlive: true, Headers: "Host=a;NoColon=;"}},
	{"ipv6 host", "GET /x HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
		parsed{URI: "/x", Host: "[::1]", RawURI: "/x", KeepAlive: true, Headers: "Host=[::1]:80;"}},
	{"host with slash", "GET /x HTTP/1.1\r\nHost: a/b\r\n\r\n", parsed{Status: 400}},
	{"empty host", "GET /x HTTP/1.1\r\nHost: \r\n\r\n", parsed{Status: 400}},
	{"empty host 1.0", "GET /x HTTP/1.0\r\nHost: \r\n\r\n", parsed{Status: 400}},
	{"no host 1.0", "GET /x HTTP/1.0\r\n\r\n", parsed{URI: "/x", RawURI: "/x"}},
	{"no host 1.1", "GET /ret HTTP/1.1\r\n\r\n", parsed{Status: 400}},
	{"http/0.9", "GET /x\r\n", parsed{URI: "/x", RawURI: "/x"}},
	{"http/0.9 post", "POST /x\r\n", parsed{Status: 400}},
	{"extra spaces", "GET  /x   HTTP/1.1  \r\nHost:a\r\n\r\n",
		parsed{URI: "/x", Host: "a", RawURI: "/x", KeepAlive: true, Headers: "Host=a;"}},
	{"lower-case method", "get /x HTTP/1.1\r\nHost:a\r\n\r\n", parsed{Status: 400}},
	{"bare LF", "GET /x HTTP/1.1\nHost:a\n\n",
		parsed{URI: "/x", Host: "a", RawURI: "/x", KeepAlive: true, Headers: "Host=a;"}},
	{"HTTP/1.10", "GET /x HTTP/1.10\r\nHost:a\r\n\r\n",
		parsed{URI: "/x", Host: "a", RawURI: "/x", KeepAlive: true, Headers: "Host=a;"}},
	{"HTTP/01.1", "GET /x HTTP/01.1\r\nHost:a\r\n\r\n", parsed{Status: 400}},
	{"HTTP/2.0", "GET /ret HTTP/2.0\r\nHost: a\r\n\r\n", parsed{Status: 505}},
	{"utf-8 raw and escaped", "GET /x/%C3%A9/\xc3\xa9 HTTP/1.1\r\nHost:a\r\n\r\n",
		parsed{URI: "/x/\xc3\xa9/\xc3\xa9", Host: "a", RawURI: "/x/%C3%A9/\xc3\xa9", KeepAlive: true, Headers: "Host=a;"}},
	{"bad escape", "GET /x/%zz HTTP/1.1\r\nHost:a\r\n\r\n", parsed{Status: 400}},
	{"escaped NUL", "GET /%00 HTTP/1.1\r\nHost: a\r\n\r\n", parsed{Status: 400}},
	{"dotdot above root", "GET /.. HTTP/1.1\r\nHost: a\r\n\r\n", parsed{Status: 400}},
	{"dotdot twice above root", "GET /a/../../b HTTP/1.1\r\nHost:a\r\n\r\n", parsed{Status: 400}},
	{"relative target", "GET x HTTP/1.1\r\nHost:a\r\n\r\n", parsed{Status: 400}},
	{"value spaces trimmed", "GET /x HTTP/1.1\r\nHost:a\r\nX-Y:  sp  ace  \r\n\r\n",
		parsed{URI: "/x", Host: "a", RawURI: "/x", KeepAlive: true, Headers: "Host=a;X-Y=sp  ace;"}},
	{"trailing dot segment", "GET /a/. HTTP/1.1\r\nHost:a\r\n\r\n",
		parsed{URI: "/a/", Host: "a", RawURI: "/a/.", KeepAlive: true, Headers: "Host=a;"}},
	{"trailing dotdot", "GET /a/.. HTTP/1.1\r\nHost:a\r\n\r\n",
		parsed{URI: "/", Host: "a", RawURI: "/a/..", KeepAlive: true, Headers: "Host=a;"}},
	{"dotdot then empty args", "GET /a/..? HTTP/1.1\r\nHost:a\r\n\r\n",
		parsed{URI: "/", Host: "a", RawURI: "/a/..?", KeepAlive: true, Headers: "Host=a;"}},
	{"merge slashes", "GET //a//b/ HTTP/1.1\r\nHost:a\r\n\r\n",
		parsed{URI: "/a/b/", Host: "a", RawURI: "//a//b/", KeepAlive: true, Headers: "Host=a;"}},
	{"escaped slash dotdot", "GET /a/b%2F..%2f HTTP/1.1\r\nHost:a\r\n\r\n",
		parsed{URI: "/a/", Host: "a", RawURI: "/a/b%2F..%2f", KeepAlive: true, Headers: "Host=a;"}},
	{"escaped dots then escaped ?", "GET /a/%2e%2e%3F?q HTTP/1.1\r\nHost:a\r\n\r\n",
		parsed{URI: "/a/..?", Args: "q", Host: "a", RawURI: "/a/%2e%2e%3F?q", KeepAlive: true, Headers: "Host=a;"}},
	{"escaped space", "GET /a%20b HTTP/1.1\r\nHost:a\r\n\r\n",
		parsed{URI: "/a b", Host: "a", RawURI: "/a%20b", KeepAlive: true, Headers: "Host=a;"}},
	{"tab in URI", "GET /a\tb HTTP/1.1\r\nHost:a\r\n\r\n", parsed{Status: 400}},
	{"host with empty port", "GET /x HTTP/1.1\r\nHost:a:\r\n\r\n",
		parsed{URI: "/x", Host: "a", RawURI: "/x", KeepAlive: true, Headers: "Host=a:;"}},
	{"host with ..", "GET /x HTTP/1.1\r\nHost:a..b\r\n\r\n", parsed{Status: 400}},
	{"host with underscore", "GET /x HTTP/1.1\r\nHost:A_B.c\r\n\r\n",
		parsed{URI: "/x", Host: "a_b.c", RawURI: "/x", KeepAlive: true, Headers: "Host=A_B.c;"}},
	{"unclosed ipv6 host", "GET /x HTTP/1.1\r\nHost:[::1\r\n\r\n",
		parsed{URI: "/x", Host: "[::1", RawURI: "/x", KeepAlive: true, Headers: "Host=[::1;"}},
	{"host with backslash", "GET /x HTTP/1.1\r\nHost:a\\b\r\n\r\n",
		parsed{URI: "/x", Host: "a\\b", RawURI: "/x", KeepAlive: true, Headers: "Host=a\\b;"}},
	{"duplicate host", "GET /ret HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", parsed{Status: 400}},
	{"obs-fold", "GET /ret HTTP/1.1\r\nHost: a\r\n x: folded\r\n\r\n", parsed{Status: 400}},
	{"length and chunked", "GET /ret HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", parsed{Status: 400}},
	{"chunked on 1.0", "GET /ret HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", parsed{Status: 400}},
	{"unknown transfer-encoding", "GET /ret HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", parsed{Status: 501}},
	{"host with space", "GET /ret HTTP/1.1\r\nHost: a b\r\n\r\n", parsed{Status: 400}},
	{"host ..", "GET /ret HTTP/1.1\r\nHost: ..\r\n\r\n", parsed{Status: 400}},
	{"negative length", "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", parsed{Status: 400}},
	{"junk length", "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", parsed{Status: 400}},
	{"TRACE", "TRACE /x HTTP/1.1\r\nHost: a\r\n\r\n", parsed{Status: 405}},
	{"CONNECT", "CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", parsed{Status: 405}},
	{"CONNECT authority form", "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", parsed{Status: 400}},
	{"absolute URI, Host spaced", "GET http://a/x HTTP/1.1\r\nHost: a b\r\n\r\n", parsed{Status: 400}},
	{"absolute URI, Host empty", "GET http://a/x HTTP/1.1\r\nHost: \r\n\r\n", parsed{Status: 400}},
	{"absolute URI, Host dots", "GET http://a/x HTTP/1.0\r\nHost: ..\r\n\r\n", parsed{Status: 400}},
	{"1001 headers", "GET /x HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 1000) + "\r\n", parsed{Status: 494}},
	{"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", parsed{Status: 400}},
	{"unknown method", "FOO_BAR-X /x HTTP/1.1\r\nHost: a\r\n\r\n",
		parsed{URI: "/x", Host: "a", RawURI: "/x", KeepAlive: true, Headers: "Host=a;"}},
	{"empty header name", "GET /x HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", parsed{Status: 400}},
	{"space in header name", "GET /x HTTP/1.1\r\nHost: a\r\nX Y: x\r\n\r\n", parsed{Status: 400}},
	{"control in header name", "GET /x HTTP/1.1\r\nHost: a\r\nX\x01: x\r\n\r\n", parsed{Status: 400}},
	{"NUL in value", "GET /x HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", parsed{Status: 400}},
	{"control in value kept", "GET /x HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
		parsed{URI: "/x", Host: "a", RawURI: "/x", KeepAlive: true, Headers: "Host=a;X=a\x01b;"}},
	{"CR in value", "GET /x HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", parsed{Status: 400}},
	{"utf-8 header name dropped", "GET /x HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: 1\r\n\r\n",
		parsed{URI: "/x", Host: "a", RawURI: "/x", KeepAlive: true, Headers: "Host=a;"}},
	{"1.0 keep-alive", "GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", parsed{URI: "/x", RawURI: "/x", KeepAlive: true, Headers: "Connection=Keep-Alive;"}},
	{"1.1 close", "GET /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n", parsed{URI: "/x", Host: "a", RawURI: "/x", Headers: "Host=a;Connection=keep-alive, close;"}},
}

func TestReadRequestNginxCases(t *testing.T) {
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{0, 1, 7} {
				got := parseOne(t, tc.raw, step)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("step %d: ReadRequest(%q) mismatch (-want +got):\n%s", step, tc.raw, diff)
				}
			}
		})
	}
}

func TestDuplicateUniqueHeaders(t *testing.T) {
	// nginx 1.22 answers 400 to a second one of these, and accepts
	// repeats of the others.
	unique := map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "If-Modified-Since": true,
		"If-Unmodified-Since": true, "If-Match": true, "If-None-Match": true, "Authorization": true,
		"If-Range": true, "Content-Range": true, "Expect": true}
	for _, name := range []string{"Content-Length", "Transfer-Encoding", "If-Modified-Since", "If-Unmodified-Since",
		"If-Match", "If-None-Match", "Connection", "User-Agent", "Content-Type", "Authorization", "Range", "If-Range",
		"Referer", "Content-Range", "Cookie", "Expect", "Upgrade", "Via", "X-Forwarded-For",
		"X-A-Header-Name-Longer-Than-Any-Unique-One"} {
		val := "x"
		switch name {
		case "Content-Length":
			val = "1"
		case "Transfer-Encoding":
			val = "chunked"
		}
		raw := "POST /x HTTP/1.1\r\nHost: a\r\n" + name + ":" + val + "\r\n" + name + ":" + val + "\r\n\r\n"
		got := parseOne(t, raw, 0).Status
		want := 0
		if unique[name] {
			want = 400
		}
		if got != want {
			t.Errorf("duplicate %s: status %d, want %d", name, got, want)
		}
	}
}

func TestHeaderSizeLimits(t *testing.T) {
	// nginx 1.22 with default buffers: a request line of 8192 bytes
	// including CRLF is fine, 8193 is 414; a header line likewise is 494
	// ("400 Request Header Or Cookie Too Large").
	line := func(n int) string { return "GET /" + strings.Repeat("a", n-16) + " HTTP/1.0\r\n" }
	hdr := func(n int) string { return "X: " + strings.Repeat("a", n-4) + "\r\n" }
	tests := []struct {
		name string
		raw  string
		want int
	}{
		{"line 8192", line(8192) + "\r\n", 0},
		{"line 8193", line(8193) + "\r\n", 414},
		{"header 8191", "GET / HTTP/1.0\r\n" + hdr(8191) + "\r\n", 0},
		{"header 8192", "GET / HTTP/1.0\r\n" + hdr(8192) + "\r\n", 494},
		{"five 7k headers", "GET / HTTP/1.0\r\n" + strings.Repeat(hdr(7000), 5) + "\r\n", 494},
		{"four 7k headers", "GET / HTTP/1.0\r\n" + strings.Repeat(hdr(7000), 4) + "\r\n", 0},
	}
	for _, tc := range tests {
		if got := parseOne(t, tc.raw, 0).Status; got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
}

// What goes on the wire for a rejected request: nginx sends a head unless
// the request line was parsed whole as HTTP/0.9 (checked per case against
// nginx 1.22.1: head, or the bare error page).
func TestRejectedRequestHead(t *testing.T) {
	tests := []struct {
		raw      string
		status   int
		wantHead bool
	}{
		{"GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", 400, true},
		{"GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400, true},
		{"GET / HTTP/1.\r\n\r\n", 400, true},
		{"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, true},
		{"GET / H\r\n\r\n", 400, true},
		{"GET / x\r\n\r\n", 400, true},
		{"GET /\x01 HTTP/1.1\r\n\r\n", 400, true},
		{"G@T / HTTP/1.1\r\n\r\n", 400, true},
		{"GET / HTTP/1.1\r\nbad header\r\n\r\n", 400, true},
		{"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, true},
		// Parsed whole as HTTP/0.9, then rejected.
		{"POST /\r\n", 400, false},
		{"HEAD /\r\n", 400, false},
		{"GET /%zz\r\n", 400, false},
		{"GET /../x\r\n", 400, false},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			fc := &fakeConn{in: []byte(tc.raw)}
			c := NewConn(fc, &ConnInfo{})
			defer c.Close()
			_, err := c.ReadRequest()
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("ReadRequest: %v, want an *Error", err)
			}
			if err := c.WriteHeader(&Response{Status: perr.Status, ContentLength: 0, LastModified: -1, Close: true}); err != nil {
				t.Fatal(err)
			}
			c.Finish()
			got := struct {
				Status int
				Head   bool
			}{perr.Status, strings.HasPrefix(fc.out.String(), "HTTP/1.1 ")}
			want := struct {
				Status int
				Head   bool
			}{tc.status, tc.wantHead}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// UnreadInput and DiscardBody: what nginx's lingering close looks at, and
// the discarding of a body answered without being read.
func TestUnreadInputAndDiscard(t *testing.T) {
	tests := []struct {
		name        string
		raw         string
		readBody    bool
		wantUnread  bool
		wantDiscard string // DiscardBody's error, "" for none
	}{
		{"no body", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false, false, ""},
		{"body read", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", true, false, ""},
		{"body unread", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", false, true, ""},
		{"pipelined", "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /", false, true, ""},
		{"chunked unread", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false, true, ""},
		{"body cut", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc", false, true, "client prematurely closed connection"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConn(&fakeConn{in: []byte(tc.raw)}, &ConnInfo{})
			defer c.Close()
			if _, err := c.ReadRequest(); err != nil {
				t.Fatal(err)
			}
			if tc.readBody {
				io.ReadAll(c.Body())
			}
			if got := c.UnreadInput(); got != tc.wantUnread {
				t.Errorf("UnreadInput = %v, want %v", got, tc.wantUnread)
			}
			err := c.DiscardBody(time.Second, time.Now().Add(time.Second))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.wantDiscard, got); diff != "" {
				t.Errorf("DiscardBody (-want +got):\n%s", diff)
			}
			if err == nil && !c.BodyDone() {
				t.Error("body not done after DiscardBody")
			}
		})
	}
}
