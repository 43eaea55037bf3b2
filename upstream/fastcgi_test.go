package upstream

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fcgiBackend is net/http/fcgi serving on 127.0.0.1:0; it records the
// params and body of each request and answers as handler says.
type fcgiBackend struct {
	ln  net.Listener
	mu  sync.Mutex
	got []string
}

func newFCGIBackend(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *fcgiBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &fcgiBackend{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			env := fcgi.ProcessEnv(r)
			var lines []string
			for k, v := range env {
				lines = append(lines, k+"="+v)
			}
			for k, v := range r.Header {
				lines = append(lines, "H:"+k+"="+strings.Join(v, ","))
			}
			body, _ := io.ReadAll(r.Body)
			sort.Strings(lines)
			lines = append(lines, r.Method+" "+r.URL.String(), "body="+string(body))
			b.mu.Lock()
			b.got = append(b.got, strings.Join(lines, "\n"))
			b.mu.Unlock()
			handler(w, r)
		}))
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return b
}

func (b *fcgiBackend) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.got...)
}

// TestFastCGIGoBackend: net/http/fcgi, a FastCGI server of the standard
// library, reads what gonginx sends.
func TestFastCGIGoBackend(t *testing.T) {
	be := newFCGIBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Got", r.Header.Get("X-Foo"))
		w.WriteHeader(201)
		io.WriteString(w, "ok")
	})
	ps := newProxyServer(t, "", `fastcgi_pass `+be.ln.Addr().String()+`; fastcgi_param SERVER_PROTOCOL $server_protocol; fastcgi_param REQUEST_METHOD $request_method; fastcgi_param REQUEST_URI $request_uri; fastcgi_param CONTENT_LENGTH $content_length; fastcgi_param APP x;`, "/")
	got := normalize(roundTrip(t, ps.ln.Addr().String(), "POST /f/x?a=1 HTTP/1.1\r\nHost: h\r\nX-Foo: bar\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"))
	want := "HTTP/1.1 201 Created\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nDate: D\r\nX-Got: bar\r\n\r\n2\r\nok\r\n0\r\n\r\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"APP=x\nH:Connection=close\nH:Content-Length=5\nH:X-Foo=bar\nPOST http://h/f/x?a=1\nbody=hello"}, be.requests()); diff != "" {
		t.Errorf("backend got (-want +got):\n%s", diff)
	}
}

// decodeFCGIRequest turns a request's records into lines: the params as
// NAME=value in order, then stdin=body, and the begin record's flags.
func decodeFCGIRequest(t *testing.T, b []byte) []string {
	t.Helper()
	var lines []string
	var params, stdin []byte
	for len(b) >= 8 {
		typ, n, pad := b[1], int(b[4])<<8|int(b[5]), int(b[6])
		data := b[8 : 8+n]
		switch typ {
		case fcgiBeginRequest:
			lines = append(lines, "begin flags="+string(rune('0'+data[2])))
		case fcgiParams:
			params = append(params, data...)
		case fcgiStdin:
			stdin = append(stdin, data...)
			if n == 0 {
				lines = append(lines, "stdin="+string(stdin))
			}
		}
		b = b[8+n+pad:]
	}
	readLen := func() int {
		if params[0] < 0x80 {
			n := int(params[0])
			params = params[1:]
			return n
		}
		n := int(params[0]&0x7f)<<24 | int(params[1])<<16 | int(params[2])<<8 | int(params[3])
		params = params[4:]
		return n
	}
	var kv []string
	for len(params) > 0 {
		kl := readLen()
		vl := readLen()
		kv = append(kv, string(params[:kl])+"="+string(params[kl:kl+vl]))
		params = params[kl+vl:]
	}
	return append(append(lines[:1:1], kv...), lines[1:]...)
}

func TestFastCGIRequestRecords(t *testing.T) {
	long := strings.Repeat("v", 200)
	tests := []struct {
		name, location, request string
		want                    []string
	}{
		{"params in order, if_not_empty, client headers as HTTP_*",
			`fastcgi_param REQUEST_METHOD $request_method; fastcgi_param REQUEST_URI $request_uri; fastcgi_param EMPTY $arg_none if_not_empty; fastcgi_param KEPT ""; fastcgi_param CONTENT_LENGTH $content_length;`,
			"POST /f/x?a=1 HTTP/1.1\r\nHost: h\r\nX-Foo: bar\r\nx-bar-baz: " + long + "\r\nContent-Length: 5\r\n\r\nhello",
			[]string{"begin flags=0", "REQUEST_METHOD=POST", "REQUEST_URI=/f/x?a=1", "KEPT=", "CONTENT_LENGTH=5",
				"HTTP_HOST=h", "HTTP_X_FOO=bar", "HTTP_X_BAR_BAZ=" + long, "HTTP_CONTENT_LENGTH=5", "stdin=hello"}},
		{"an HTTP_* param replaces the client's header; an empty one drops it",
			`fastcgi_param HTTP_HOST fixed; fastcgi_param HTTP_X_FOO ""; fastcgi_keep_conn on;`,
			"GET /f/ HTTP/1.1\r\nHost: h\r\nX-Foo: bar\r\nX-Bar-Baz: q\r\n\r\n",
			[]string{"begin flags=1", "HTTP_HOST=fixed", "HTTP_X_BAR_BAZ=q", "stdin="}},
		{"fastcgi_pass_request_headers and _body off",
			`fastcgi_param A b; fastcgi_pass_request_headers off; fastcgi_pass_request_body off;`,
			"POST /f/ HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
			[]string{"begin flags=0", "A=b", "stdin="}},
		{"values past 127 bytes (a four-byte length), made and static, beside short ones",
			`fastcgi_param A $arg_l; fastcgi_param B x; fastcgi_param C ` + long + `; fastcgi_param D $arg_l$arg_l; fastcgi_param E $arg_none if_not_empty; fastcgi_pass_request_headers off;`,
			"GET /f/?l=" + long[:150] + " HTTP/1.1\r\nHost: h\r\n\r\n",
			[]string{"begin flags=0", "A=" + long[:150], "B=x", "C=" + long, "D=" + long[:150] + long[:150], "stdin="}},
		{"a name past 127 bytes (a four-byte length), made and static values",
			`fastcgi_param N` + long + ` $arg_l; fastcgi_param M` + long + ` y; fastcgi_pass_request_headers off;`,
			"GET /f/?l=ab HTTP/1.1\r\nHost: h\r\n\r\n",
			[]string{"begin flags=0", "N" + long + "=ab", "M" + long + "=y", "stdin="}},
		{"a chunked body",
			`fastcgi_param A b;`,
			"POST /f/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
			[]string{"begin flags=0", "A=b", "HTTP_HOST=h", "HTTP_TRANSFER_ENCODING=chunked", "stdin=abcde"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, got := rawFCGIRecording(t, records(out+"\r\nok", out, end))
			ps := newProxyServer(t, "", "fastcgi_pass "+addr+"; "+tt.location, "/f/")
			resp := roundTrip(t, ps.ln.Addr().String(), tt.request)
			if !strings.Contains(resp, "ok") {
				t.Fatalf("response %q", resp)
			}
			if diff := cmp.Diff(tt.want, decodeFCGIRequest(t, <-got)); diff != "" {
				t.Errorf("backend got (-want +got):\n%s", diff)
			}
		})
	}
}

// rawFCGI answers every connection with the bytes of respond, after
// reading the request up to its empty FCGI_STDIN record.
func rawFCGI(t *testing.T, respond []byte) string {
	t.Helper()
	addr, _ := rawFCGIRecording(t, respond)
	return addr
}

// rawFCGIRecording is rawFCGI that also hands over each request's bytes.
func rawFCGIRecording(t *testing.T, respond []byte) (string, chan []byte) {
	t.Helper()
	reqs := make(chan []byte, 16)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			var req []byte
			buf := make([]byte, 4096)
			for !bytes.Contains(req, []byte{1, fcgiStdin, 0, 1, 0, 0, 0, 0}) {
				n, err := c.Read(buf)
				req = append(req, buf[:n]...)
				if err != nil {
					break
				}
			}
			select {
			case reqs <- req:
			default:
			}
			c.Write(respond)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String(), reqs
}

// records frames pieces as records: a leading byte gives the type.
func records(pieces ...string) []byte {
	var b []byte
	for _, p := range pieces {
		typ, data := p[0], []byte(p[1:])
		if typ == fcgiEndRequest {
			data = make([]byte, 8)
		}
		b = appendRecordHeader(b, typ, len(data))
		b = append(b, data...)
		b = append(b, fcgiZeros[:fcgiPadding(len(data))]...)
	}
	return b
}

const (
	out  = "\x06"
	errs = "\x07"
	end  = "\x03"
)

func TestFastCGIResponse(t *testing.T) {
	tests := []struct {
		name string
		resp []byte
		want string
	}{
		{"no Status: 200 OK; the backend's Server passes",
			records(out+"Content-Type: text/plain\r\nServer: php\r\n\r\nhello", out, end),
			"HTTP/1.1 200 OK\r\nDate: D\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nServer: php\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{"Status sets the status line; Status is hidden",
			records(out+"Status: 404 Nope\r\nContent-Length: 3\r\n\r\nabcdef", out, end),
			"HTTP/1.1 404 Nope\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"},
		{"Location alone is a 302, passed as it is",
			records(out+"Location: /x\r\n\r\n", out, end),
			"HTTP/1.1 302 Moved Temporarily\r\nServer: gonginx/0.1.0\r\nDate: D\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nLocation: /x\r\n\r\n0\r\n\r\n"},
		{"a head split across records, stderr between",
			records(out+"Content-Ty", errs+"warn\n", out+"pe: a/b\r\n", out+"\r\nbody", out, end),
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Type: a/b\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nbody\r\n0\r\n\r\n"},
		{"an invalid Content-Length is no length",
			records(out+"Content-Length: 2\r\nContent-Length: x\r\n\r\nabc", out, end),
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"invalid status", records(out+"Status: x\r\n\r\n", end), "HTTP/1.1 502 Bad Gateway\r\n"},
		{"END_REQUEST before the head", records(end), "HTTP/1.1 502 Bad Gateway\r\n"},
		{"stdout closed before the head", records(out+"X: y\r\n", out, end), "HTTP/1.1 502 Bad Gateway\r\n"},
		{"bad version", []byte{2, 6, 0, 1, 0, 0, 0, 0}, "HTTP/1.1 502 Bad Gateway\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawFCGI(t, tt.resp)
			ps := newProxyServer(t, "", "fastcgi_pass "+addr+";", "/")
			got := normalize(roundTrip(t, ps.ln.Addr().String(), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))
			if strings.HasSuffix(tt.want, "\r\n") && !strings.HasSuffix(tt.want, "\r\n\r\n") {
				got = got[:min(len(got), len(tt.want))]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFastCGIDecoderSplits(t *testing.T) {
	in := records(out+"Status: 201\r\n\r\nabc", errs+"e1", out+"def", out, end)
	// Any cut of the bytes decodes to the same stdout, stderr and ends.
	for cut := 0; cut <= len(in); cut++ {
		var d fcgiDecoder
		var stdout, stderr, ends string
		for _, part := range [][]byte{in[:cut], in[cut:]} {
			for len(part) > 0 {
				piece, data, used, err := d.next(part)
				if err != nil {
					t.Fatal(err)
				}
				part = part[used:]
				switch piece {
				case pieceStdout:
					stdout += string(data)
				case pieceStderr:
					stderr += string(data)
				case pieceStdoutEnd:
					ends += "o"
				case pieceEnd:
					ends += "e"
				}
			}
		}
		got := []string{stdout, stderr, ends}
		if diff := cmp.Diff([]string{"Status: 201\r\n\r\nabcdef", "e1", "oe"}, got); diff != "" {
			t.Fatalf("cut at %d (-want +got):\n%s", cut, diff)
		}
	}
}

// TestFastCGIKeepConn: with fastcgi_keep_conn and keepalive, a response
// that ends with FCGI_END_REQUEST leaves its connection for the next
// request (an empty FCGI_STDOUT before it or not, as php-fpm sends); a
// HEAD, whose body nginx does not read, does not, nor one whose
// FCGI_END_REQUEST comes with a byte after it.
func TestFastCGIKeepConn(t *testing.T) {
	tests := []struct {
		name   string
		answer func(body string) []byte
		want   []string
	}{
		{"an empty FCGI_STDOUT, then FCGI_END_REQUEST", func(body string) []byte {
			return records(out+"Content-Type: text/plain\r\n\r\n"+body, out, end)
		}, []string{"conn 1", "conn 1", "", "conn 2"}},
		{"FCGI_END_REQUEST after the body's record", func(body string) []byte {
			return records(out+"Content-Type: text/plain\r\n\r\n"+body, end)
		}, []string{"conn 1", "conn 1", "", "conn 2"}},
		{"a byte after FCGI_END_REQUEST", func(body string) []byte {
			return append(records(out+"Content-Type: text/plain\r\n\r\n"+body, end), 1)
		}, []string{"conn 1", "conn 2", "", "conn 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := keptFCGI(t, tt.answer)
			ps := newProxyServer(t, "upstream b { server "+addr+"; keepalive 2; }", "fastcgi_pass b; fastcgi_keep_conn on;", "/")
			var got []string
			for _, req := range []string{"GET", "GET", "HEAD", "GET"} {
				resp := roundTrip(t, ps.ln.Addr().String(), req+" / HTTP/1.0\r\n\r\n")
				got = append(got, resp[strings.Index(resp, "\r\n\r\n")+4:])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("bodies (-want +got):\n%s", diff)
			}
		})
	}
}

// keptFCGI is a FastCGI backend that answers each request on a
// connection (its FCGI_STDIN's end) with answer("conn N"), N counting
// its connections, in one write.
func keptFCGI(t *testing.T, answer func(body string) []byte) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	conns := 0
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns++
			n := conns
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				var req []byte
				buf := make([]byte, 4096)
				for {
					for !bytes.Contains(req, []byte{1, fcgiStdin, 0, 1, 0, 0, 0, 0}) {
						k, err := c.Read(buf)
						if err != nil {
							return
						}
						req = append(req, buf[:k]...)
					}
					req = req[:0]
					if _, err := c.Write(answer("conn " + string(rune('0'+n)))); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// TestFastCGIDecoderEndsWith: after a FCGI_STDOUT record's data, the
// bytes that end a kept response are its padding, an empty FCGI_STDOUT
// or none, and FCGI_END_REQUEST whole, nothing else.
func TestFastCGIDecoderEndsWith(t *testing.T) {
	endRec := records(end)
	tests := []struct {
		name, data string // the record read before (its padding follows)
		tail       []byte
		want       bool
	}{
		{"padding, END_REQUEST", "abc", cat(make([]byte, 5), endRec), true},
		{"no padding, END_REQUEST", "abcdefgh", endRec, true},
		{"padding, empty STDOUT, END_REQUEST", "abc", cat(make([]byte, 5), records(out), endRec), true},
		{"END_REQUEST cut short", "abc", cat(make([]byte, 5), endRec[:15]), false},
		{"padding cut short", "abc", cat(make([]byte, 4), endRec), false},
		{"a byte after END_REQUEST", "abc", cat(make([]byte, 5), endRec, []byte{1}), false},
		{"more STDOUT first", "abc", cat(make([]byte, 5), records(out+"x"), endRec), false},
		{"STDERR first", "abc", cat(make([]byte, 5), records(errs+"x"), endRec), false},
		{"END_REQUEST of 16 bytes", "abc", cat(make([]byte, 5), []byte{1, 3, 0, 1, 0, 16, 0, 0}, make([]byte, 16)), false},
		{"END_REQUEST of request 2", "abc", cat(make([]byte, 5), []byte{1, 3, 0, 2, 0, 8, 0, 0}, make([]byte, 8)), false},
		{"nothing", "abc", make([]byte, 5), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d fcgiDecoder
			rec := records(out + tt.data)
			head := rec[:8+len(tt.data)] // the record's padding is the tail's
			for len(head) > 0 {
				_, _, used, err := d.next(head)
				if err != nil {
					t.Fatal(err)
				}
				head = head[used:]
			}
			if got := d.endsWith(tt.tail); got != tt.want {
				t.Errorf("endsWith = %v, want %v", got, tt.want)
			}
		})
	}
	// In a record's data, nothing ends the response.
	var d fcgiDecoder
	d.next(records(out + "abcdefgh")[:10])
	if d.endsWith(endRec) {
		t.Error("endsWith in a record's data = true, want false")
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
