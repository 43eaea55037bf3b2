package upstream

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// Each expectation is what an nginx 1.22.1 with the same location sent to
// a recording backend (port 38081 there, BACKEND here), byte for byte.
func TestProxyRequestMatchesNginx(t *testing.T) {
	tests := []struct {
		name, location, prefix, request, want string
	}{
		{"URI part replaces the prefix; hop-by-hop and invalid headers dropped",
			`proxy_pass http://BACKEND/q/;`, "/p/",
			"GET /p/a%2Fb/../c?x=1 HTTP/1.1\r\nHost: Foo.com\r\nuser-agent: UA\r\nX_Y: u\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nEmpty:\r\nkeep-alive: 5\r\nTE: trailers\r\nX-Accel-Z: q\r\n\r\n",
			"GET /q/a/c?x=1 HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\nuser-agent: UA\r\nEmpty: \r\nX-Accel-Z: q\r\n\r\n"},
		{"an escape after dot segments is escaped again (quoted_uri)",
			`proxy_pass http://BACKEND/q/;`, "/p/",
			"GET /p/x/../a%20b%25 HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /q/a%20b%25 HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"proxy_method and proxy_set_body replace the client's",
			`set $m PUT; proxy_method $m; proxy_set_body "v=$uri"; proxy_pass http://BACKEND;`, "/pv/",
			"POST /pv/a HTTP/1.1\r\nHost: foo\r\nContent-Length: 5\r\n\r\nhello",
			"PUT /pv/a HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\nContent-Length: 7\r\n\r\nv=/pv/a"},
		{"proxy_set_body without a client body",
			`proxy_set_body "x"; proxy_pass http://BACKEND;`, "/pv/",
			"GET /pv/a HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /pv/a HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"},
		{"no URI part: the target as the client sent it",
			`proxy_pass http://BACKEND;`, "/pv/",
			"GET /pv/a%2Fb/../c?x=1 HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /pv/a%2Fb/../c?x=1 HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"variables: the evaluated URI, no args",
			`rewrite ^/v/(.*)$ /$1 break; proxy_pass http://BACKEND/x/$1;`, "/v/",
			"GET /v/a%2Fb/c?x=1 HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /x/a/b/c HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"rewrite break: the new URI escaped, with args",
			`rewrite ^/rb/(.*)$ /new/$1 break; proxy_pass http://BACKEND;`, "/rb/",
			"GET /rb/a%20b?x=1 HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /new/a%20b?x=1 HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"rewrite break ignores the URI part",
			`rewrite ^/rb2/(.*)$ /new/$1 break; proxy_pass http://BACKEND/q/;`, "/rb2/",
			"GET /rb2/a%20b?x=1 HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /new/a%20b?x=1 HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.1 with a body",
			`proxy_http_version 1.1; proxy_pass http://BACKEND;`, "/h11/",
			"POST /h11/x HTTP/1.1\r\nHost: foo\r\nContent-Length: 3\r\n\r\nabc",
			"POST /h11/x HTTP/1.1\r\nHost: BACKEND\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc"},
		{"chunked body sent with a length (1.1)",
			`proxy_http_version 1.1; proxy_pass http://BACKEND;`, "/h11/",
			"POST /h11/x HTTP/1.1\r\nHost: foo\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			"POST /h11/x HTTP/1.1\r\nHost: BACKEND\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc"},
		{"chunked body sent with a length (1.0)",
			`proxy_pass http://BACKEND;`, "/pv/",
			"POST /pv/x HTTP/1.1\r\nHost: foo\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			"POST /pv/x HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc"},
		{"zero length is passed",
			`proxy_pass http://BACKEND;`, "/pv/",
			"POST /pv/a HTTP/1.1\r\nHost: foo\r\nContent-Length: 0\r\n\r\n",
			"POST /pv/a HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{"websocket headers in configured order",
			`proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; proxy_set_header Host $host; proxy_pass http://BACKEND;`, "/ws/",
			"GET /ws/x HTTP/1.1\r\nHost: foo:99\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			"GET /ws/x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nHost: foo\r\n\r\n"},
		{"empty $http_upgrade is not sent",
			`proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; proxy_set_header Host $host; proxy_pass http://BACKEND;`, "/ws/",
			"GET /ws/x HTTP/1.1\r\nHost: foo:99\r\n\r\n",
			"GET /ws/x HTTP/1.1\r\nConnection: upgrade\r\nHost: foo\r\n\r\n"},
		{"variable URI part from set",
			`set $u /z; proxy_pass http://BACKEND$u;`, "/vu/",
			"GET /vu/a%20b?x=1 HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /z HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"exact location with URI part",
			`proxy_pass http://BACKEND/e/;`, "/exact",
			"GET /exact?x=1 HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /e/?x=1 HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"escaping of a quoted URI",
			`proxy_pass http://BACKEND/q/;`, "/p/",
			"GET /p/%C3%A9%41%3f%23%25%22?x=1 HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /q/%C3%A9A%3F%23%25%22?x=1 HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"plus signs are not escaped",
			`proxy_pass http://BACKEND/q/;`, "/p/",
			"GET /p/a+b%2Bc?x=1 HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /q/a+b+c?x=1 HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"raw UTF-8 is not escaped when nothing was quoted",
			`proxy_pass http://BACKEND/q/;`, "/p/",
			"GET /p/\xc3\xa9?x=1 HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /q/\xc3\xa9?x=1 HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"dot segments resolved with a URI part",
			`proxy_pass http://BACKEND/q/;`, "/p/",
			"GET /p/a/./b HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /q/a/b HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"configured headers: empty one suppresses the client's, names as written",
			`proxy_set_header X-Empty ""; proxy_set_header user-agent "ours"; proxy_set_header Host $host:$server_port; proxy_pass http://BACKEND;`, "/sh/",
			"GET /sh/x HTTP/1.1\r\nHost: foo\r\nX-Empty: client\r\nUser-Agent: cli\r\nAccept: */*\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
			"GET /sh/x HTTP/1.0\r\nuser-agent: ours\r\nHost: foo:PORT\r\nConnection: close\r\nAccept: */*\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"},
		{"host from variables without URI part: the target as sent",
			`proxy_pass http://$arg_h;`, "/vh/",
			"GET /vh/a%20b/../c?x=1&h=BACKEND HTTP/1.1\r\nHost: foo\r\n\r\n",
			"GET /vh/a%20b/../c?x=1&h=BACKEND HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\n\r\n"},
		{"client X-Forwarded-For passes",
			`proxy_pass http://BACKEND/q/;`, "/p/",
			"GET /p/ HTTP/1.1\r\nHost: foo\r\nX-Forwarded-For: 1.2.3.4\r\nHost2: x\r\n\r\n",
			"GET /q/ HTTP/1.0\r\nHost: BACKEND\r\nConnection: close\r\nX-Forwarded-For: 1.2.3.4\r\nHost2: x\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := newBackend(t, okResponse)
			ps := newProxyServer(t, "", strings.ReplaceAll(tc.location, "BACKEND", be.addr()), tc.prefix)
			_, port, _ := net.SplitHostPort(ps.ln.Addr().String())
			req := strings.ReplaceAll(tc.request, "BACKEND", be.addr())
			got := roundTrip(t, ps.ln.Addr().String(), req)
			if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") {
				t.Fatalf("client got %q", got)
			}
			want := strings.NewReplacer("BACKEND", be.addr(), "PORT", port).Replace(tc.want)
			if diff := cmp.Diff([]string{want}, be.requests()); diff != "" {
				t.Errorf("backend received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProxyResponseMatchesNginx(t *testing.T) {
	tests := []struct {
		name, location, prefix, request, backendResponse, want string
	}{
		{"hidden and hop-by-hop headers; Content-Type and Length moved up",
			`proxy_pass http://BACKEND;`, "/pv/",
			"GET /pv/a HTTP/1.1\r\nHost: foo\r\n\r\n",
			"HTTP/1.1 200 OK\r\nServer: back\r\nDate: x\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Accel-Foo: 1\r\nX-B: 2\r\nContent-Type: text/html\r\n\r\nok",
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Type: text/html\r\nContent-Length: 2\r\nConnection: keep-alive\r\nX-Accel-Foo: 1\r\nX-B: 2\r\n\r\nok"},
		{"proxy_redirect default, then made absolute",
			`proxy_pass http://BACKEND/q/;`, "/p/",
			"GET /p/a HTTP/1.1\r\nHost: foo\r\n\r\n",
			"HTTP/1.1 301 Moved\r\nLocation: http://BACKEND/q/zz\r\nContent-Length: 0\r\n\r\n",
			"HTTP/1.1 301 Moved\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Length: 0\r\nLocation: http://foo:PORT/p/zz\r\nConnection: keep-alive\r\n\r\n"},
		{"HTTP/1.0 body until close becomes chunked",
			`proxy_pass http://BACKEND/q/;`, "/p/",
			"GET /p/a HTTP/1.1\r\nHost: foo\r\n\r\n",
			"HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nbody-until-close",
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nX-A: 1\r\n\r\n10\r\nbody-until-close\r\n0\r\n\r\n"},
		// nginx's pipe passes the chunks of one read in one chain: the
		// client gets them as one chunk.
		{"chunks read at once go on as one",
			`proxy_pass http://BACKEND;`, "/",
			"GET /a HTTP/1.1\r\nHost: foo\r\n\r\n",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n6\r\nchunky\r\n1\r\n\n\r\n0\r\n\r\n",
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\nd\r\nhello chunky\n\r\n0\r\n\r\n"},
		{"extensions and trailers are dropped",
			`proxy_pass http://BACKEND;`, "/",
			"GET /a HTTP/1.1\r\nHost: foo\r\n\r\n",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\none\r\n3 ; c\r\ntwo\r\n0;z\r\nX-T: 1\r\n\r\n",
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n6\r\nonetwo\r\n0\r\n\r\n"},
		{"unbuffered, likewise",
			`proxy_pass http://BACKEND; proxy_buffering off;`, "/",
			"GET /a HTTP/1.1\r\nHost: foo\r\n\r\n",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n6\r\nchunky\r\n0\r\n\r\n",
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\nc\r\nhello chunky\r\n0\r\n\r\n"},
		{"an HTTP/1.0 client gets the data alone",
			`proxy_pass http://BACKEND;`, "/",
			"GET /a HTTP/1.0\r\nHost: foo\r\n\r\n",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n6\r\nchunky\r\n0\r\n\r\n",
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nConnection: close\r\n\r\nhello chunky"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := newBackend(t, "")
			be.response = strings.ReplaceAll(tc.backendResponse, "BACKEND", be.addr())
			be.close = true
			ps := newProxyServer(t, "", strings.ReplaceAll(tc.location, "BACKEND", be.addr()), tc.prefix)
			_, port, _ := net.SplitHostPort(ps.ln.Addr().String())
			got := normalize(roundTrip(t, ps.ln.Addr().String(), tc.request))
			want := strings.NewReplacer("BACKEND", be.addr(), "PORT", port).Replace(tc.want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("client received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProxyErrors(t *testing.T) {
	// A port nothing listens on: take one and close it.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	ps := newProxyServer(t, "", "proxy_pass http://"+dead+";", "/")
	got := roundTrip(t, ps.ln.Addr().String(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 502 Bad Gateway\r\n") {
		t.Errorf("refused: got %q", got)
	}

	be := newBackend(t, "garbage\r\n\r\n")
	be.close = true
	ps = newProxyServer(t, "", "proxy_pass http://"+be.addr()+";", "/")
	got = roundTrip(t, ps.ln.Addr().String(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if got != "garbage\r\n\r\n" {
		t.Errorf("no status line: nginx passes the bytes as HTTP/0.9, got %q", got)
	}

	be = newBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
	ps = newProxyServer(t, "", "proxy_pass http://"+be.addr()+";", "/")
	got = roundTrip(t, ps.ln.Addr().String(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 502 Bad Gateway\r\n") {
		t.Errorf("length and chunked: got %q", got)
	}
}

func TestProxyReadTimeoutIs504(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			held <- c // accept, read nothing, answer nothing
		}
	}()
	ps := newProxyServer(t, "", "proxy_read_timeout 100ms; proxy_pass http://"+ln.Addr().String()+";", "/")
	got := roundTrip(t, ps.ln.Addr().String(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 504 Gateway Time-out\r\n") {
		t.Errorf("got %q", got)
	}
	(<-held).Close()
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ http, loc, want string }{
		// Messages as nginx 1.22 -t prints them.
		{"", "proxy_pass ftp://x;", `invalid URL prefix in /test.conf:1`},
		{"", "proxy_pass http://;", `no host in upstream "" in /test.conf:1`},
		{"", "proxy_pass http://a:99999/x;", `invalid port in upstream "a:99999/x" in /test.conf:1`},
		{"", "proxy_pass http://no-such-host.invalid;", `host not found in upstream "no-such-host.invalid" in /test.conf:1`},
		{"upstream b { server 127.0.0.1 wait=1; }", "proxy_pass http://b;", `invalid parameter "wait=1" in /test.conf:1`},
		{"", "proxy_http_version 2.0; proxy_pass http://127.0.0.1;", `invalid value "2.0" in "proxy_http_version" directive, it must be "1.0" or "1.1" in /test.conf:1`},
	}
	for _, tc := range tests {
		httpBlock, locBlock := parseConf(t, tc.http), parseConf(t, tc.loc)
		groups, err := CompileGroups(httpBlock)
		if err == nil {
			_, err = CompileProxy([][]*nginxconfDirective{httpBlock, locBlock}, groups, newCompiler())
		}
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s / %s: error %q, want %q", tc.http, tc.loc, got, tc.want)
		}
	}
}

func TestProxyToUnixSocket(t *testing.T) {
	for _, tt := range []struct{ name, location, request, want string }{
		{"in proxy_pass", "proxy_pass http://unix:SOCK:/u/;", "GET /x/a?b HTTP/1.1\r\nHost: h\r\n\r\n",
			"GET /u/a?b HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n"},
		// nginx-tests proxy_unix.t: a URL from a variable may name a socket.
		{"from a variable", "proxy_pass http://$arg_b;", "GET /x/a?b=unix:SOCK:/v HTTP/1.1\r\nHost: h\r\n\r\n",
			"GET /v HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sock := t.TempDir() + "/b.sock"
			ln, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan string, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 4096)
				n, _ := c.Read(buf)
				got <- string(buf[:n])
				c.Write([]byte(okResponse))
			}()
			defer ln.Close()
			ps := newProxyServer(t, "", strings.ReplaceAll(tt.location, "SOCK", sock), "/x/")
			if resp := roundTrip(t, ps.ln.Addr().String(), strings.ReplaceAll(tt.request, "SOCK", sock)); !strings.HasPrefix(resp, "HTTP/1.1 200 OK\r\n") {
				t.Fatalf("client got %q", resp)
			}
			// nginx sends "Host: localhost" to a unix socket.
			if req := <-got; req != tt.want {
				t.Errorf("backend got %q", req)
			}
		})
	}
}

// A backend that closes mid-body: nginx has already sent the head, so the
// client gets it and the partial body, no last chunk, then a close.
func TestProxyBackendClosesMidBody(t *testing.T) {
	tests := []struct {
		name, request, backendResponse, want string
	}{
		{"content-length",
			"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n0123456789",
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Type: text/plain\r\nContent-Length: 100\r\nConnection: keep-alive\r\n\r\n0123456789"},
		{"chunked",
			"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n5\r\nhello\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := newBackend(t, tc.backendResponse)
			be.close = true
			ps := newProxyServer(t, "", "proxy_pass http://"+be.addr()+";", "/")
			c, err := net.Dial("tcp", ps.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, tc.request)
			out, err := io.ReadAll(c) // ends only when gonginx closes
			if err != nil {
				t.Fatalf("connection not closed: %v", err)
			}
			if diff := cmp.Diff(tc.want, normalize(string(out))); diff != "" {
				t.Errorf("client received (-want +got):\n%s", diff)
			}
		})
	}
}

// nginx reads the whole client body before it connects to the backend
// (proxy_request_buffering on): a client hanging up mid-body never
// reaches it. With proxy_request_buffering off the body is streamed.
func TestProxyRequestBuffering(t *testing.T) {
	tests := []struct {
		name      string
		location  string
		wantConns int
	}{
		{"on (default)", "", 0},
		{"off", "proxy_request_buffering off; ", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := newBackend(t, okResponse)
			ps := newProxyServer(t, "", tc.location+"proxy_pass http://"+be.addr()+";", "/")
			c, err := net.Dial("tcp", ps.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
			if tc.wantConns > 0 {
				// Streaming: wait (bounded) until the backend has the
				// connection.
				for i := 0; i < 5000 && be.connCount() == 0; i++ {
					time.Sleep(time.Millisecond)
				}
			}
			c.Close()
			// Stop the proxy and wait for its connections to end.
			ps.ln.Close()
			ps.wg.Wait()
			if got := be.connCount(); got != tc.wantConns {
				t.Errorf("backend connections = %d, want %d", got, tc.wantConns)
			}
		})
	}
}

// Bodies larger than what is kept in memory go through a temporary file
// and reach the backend whole, with a Content-Length (chunked ones too).
func TestProxyLargeRequestBody(t *testing.T) {
	const mem = 16 << 10 // client_body_buffer_size's default
	body := strings.Repeat("0123456789abcdef", (mem+100<<10)/16)
	chunked := fmt.Sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", mem, body[:mem], len(body)-mem, body[mem:])
	tests := []struct{ name, request string }{
		{"content-length", fmt.Sprintf("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(body), body)},
		{"chunked", "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := newBackend(t, okResponse)
			be.close = true
			ps := newProxyServer(t, "", "client_max_body_size 0; proxy_pass http://"+be.addr()+";", "/")
			if got := roundTrip(t, ps.ln.Addr().String(), tc.request); !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") {
				t.Fatalf("response %q", got)
			}
			want := fmt.Sprintf("POST /p HTTP/1.0\r\nHost: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", be.addr(), len(body), body)
			got := be.requests()
			if len(got) != 1 || got[0] != want {
				t.Errorf("backend got %d requests; first differs from want: %v", len(got), len(got) == 1 && got[0] != want)
			}
		})
	}
}

// A backend that sends more than its framing says: the client gets what
// was declared and the connection is not kept alive, as nginx's copy and
// chunked filters do ("upstream sent more data than specified in
// Content-Length", "upstream sent data after final chunk").
func TestProxyBodyOverrunNotKept(t *testing.T) {
	tests := []struct{ name, response, wantBody string }{
		{"more than Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", "hello"},
		{"after the last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nEXTRA", "5\r\nhello\r\n0\r\n\r\n"},
		{"within the framing: kept", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t, tt.response)
			ps := newProxyServer(t, "upstream u { server "+be.addr()+"; keepalive 2; }",
				`proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection "";`, "/")
			ps.served = make(chan int, 2)
			for i := 0; i < 2; i++ {
				got := roundTrip(t, ps.ln.Addr().String(), "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
				if _, body, _ := strings.Cut(got, "\r\n\r\n"); body != tt.wantBody {
					t.Errorf("body %q, want %q", body, tt.wantBody)
				}
				// The exchange has ended (its backend connection pooled or
				// closed) before the next request starts.
				<-ps.served
			}
			want := 2
			if strings.HasSuffix(tt.name, "kept") {
				want = 1
			}
			if got := be.connCount(); got != want {
				t.Errorf("backend connections = %d, want %d", got, want)
			}
		})
	}
}

// proxy_request_buffering off and HTTP/1.1: a chunked body is passed on
// as it arrives, chunked again, what is at hand as one chunk; one that
// arrived whole with the head goes with a Content-Length, as nginx 1.22
// (checked by TestServeProxyChunkedStreaming).
func TestProxyStreamsChunkedBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				all := ""
				for !strings.HasSuffix(all, "0\r\n\r\n") && !strings.HasSuffix(all, "whole") {
					c.SetReadDeadline(time.Now().Add(5 * time.Second))
					n, err := c.Read(buf)
					if err != nil {
						break
					}
					got <- string(buf[:n])
					all += string(buf[:n])
				}
				c.Write([]byte(okResponse))
			}()
		}
	}()
	ps := newProxyServer(t, "", "proxy_pass http://"+ln.Addr().String()+"; proxy_http_version 1.1; proxy_request_buffering off;", "/")
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n"))
	want := "POST /a HTTP/1.1\r\nHost: " + ln.Addr().String() + "\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n"
	// TCP may hand the backend one write in several reads: collect them.
	until := func(suffix string) string {
		all := ""
		for !strings.HasSuffix(all, suffix) {
			select {
			case b := <-got:
				all += b
			case <-time.After(5 * time.Second):
				return all
			}
		}
		return all
	}
	if first := until("01234\r\n"); first != want {
		t.Errorf("backend got first %q, want %q", first, want)
	}
	c.Write([]byte("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"))
	if next := until("0\r\n\r\n"); next != "5\r\nabcde\r\n0\r\n\r\n" {
		t.Errorf("backend got then %q", next)
	}
	resp := roundTripOn(t, c, "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nwhole\r\n0\r\n\r\n")
	if !strings.HasPrefix(resp, "HTTP/1.1 200 OK") {
		t.Errorf("client got %q", resp)
	}
	if whole := until("whole"); !strings.HasSuffix(whole, "Content-Length: 5\r\n\r\nwhole") {
		t.Errorf("a body at hand whole: backend got %q", whole)
	}
}
