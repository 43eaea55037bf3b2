package upstream

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

// scgiBackend is an SCGI server of the test's own: it records each
// request's pairs and body, then writes its response and closes.
type scgiBackend struct {
	ln       net.Listener
	response string
	mu       sync.Mutex
	got      []string
	wg       sync.WaitGroup
}

func newSCGIBackend(t *testing.T, response string) *scgiBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &scgiBackend{ln: ln, response: response}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); b.wg.Wait() })
	return b
}

func (b *scgiBackend) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	got := "bad netstring"
	if ls, err := br.ReadString(':'); err == nil {
		if n, err := strconv.Atoi(ls[:len(ls)-1]); err == nil {
			head := make([]byte, n+1)
			if _, err := io.ReadFull(br, head); err == nil && head[n] == ',' {
				fields := strings.Split(string(head[:n]), "\x00")
				cl, _ := strconv.Atoi(fields[1])
				body := make([]byte, cl)
				k, _ := io.ReadFull(br, body)
				got = strings.Join(fields, "|") + "body=" + string(body[:k])
			}
		}
	}
	b.mu.Lock()
	b.got = append(b.got, got)
	b.mu.Unlock()
	io.WriteString(c, b.response)
}

func (b *scgiBackend) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.got...)
}

func TestSCGI(t *testing.T) {
	for _, tc := range []struct {
		name, conf, response, request string
		want, wantBackend             string
	}{{
		name:        "CGI head, params, headers and body",
		conf:        `scgi_param REQUEST_METHOD $request_method; scgi_param SCGI 1; scgi_param EMPTY $arg_no if_not_empty; scgi_param HTTP_X_SET set;`,
		response:    "Status: 201 Made\r\nX-A: b\r\n\r\nok",
		request:     "POST /s/x?a=1 HTTP/1.1\r\nHost: h\r\nX-Set: client\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
		want:        "HTTP/1.1 201 Made\r\nServer: gonginx/0.1.0\r\nDate: D\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nX-A: b\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		wantBackend: "CONTENT_LENGTH|5|REQUEST_METHOD|POST|SCGI|1|HTTP_X_SET|set|HTTP_HOST|h|HTTP_CONTENT_LENGTH|5|HTTP_CONNECTION|close|body=hello",
	}, {
		name:        "HTTP status line wins over Status",
		response:    "HTTP/1.0 203 Fine\r\nStatus: 500 No\r\n\r\nline",
		request:     "GET /s/ HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want:        "HTTP/1.1 203 Fine\r\nServer: gonginx/0.1.0\r\nDate: D\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nline\r\n0\r\n\r\n",
		wantBackend: "CONTENT_LENGTH|0|HTTP_HOST|h|HTTP_CONNECTION|close|body=",
	}, {
		name:        "Location alone is a 302; no headers passed",
		conf:        `scgi_pass_request_headers off;`,
		response:    "Location: http://x/y\r\n\r\n",
		request:     "GET /s/ HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want:        "HTTP/1.1 302 Moved Temporarily\r\nServer: gonginx/0.1.0\r\nDate: D\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nLocation: http://x/y\r\n\r\n0\r\n\r\n",
		wantBackend: "CONTENT_LENGTH|0|body=",
	}, {
		name:        "an invalid Status is a 502",
		response:    "Status: xx\r\n\r\n",
		request:     "GET /s/ HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want:        "HTTP/1.1 502 Bad Gateway\r\n",
		wantBackend: "CONTENT_LENGTH|0|HTTP_HOST|h|HTTP_CONNECTION|close|body=",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			be := newSCGIBackend(t, tc.response)
			ps := newProxyServer(t, "", `scgi_pass `+be.ln.Addr().String()+`; `+tc.conf, "/")
			got := normalize(roundTrip(t, ps.ln.Addr().String(), tc.request))
			if strings.HasPrefix(tc.want, "HTTP/1.1 502") {
				got = got[:min(len(got), len(tc.want))]
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tc.wantBackend}, be.requests()); diff != "" {
				t.Errorf("backend got (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzSCGIHead feeds a backend's head through parseSCGIHead: no panic, a
// head length within the input, and the same head however much of the
// input has arrived.
func FuzzSCGIHead(f *testing.F) {
	f.Add([]byte("Status: 404 x\r\nLocation: /a\r\n\r\nbody"), 7)
	f.Add([]byte("HTTP/1.1 200 OK\r\nStatus: 500\r\n\r\n"), 3)
	f.Add([]byte("Location: /x\n\n"), 1)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		if cut < 0 || cut > len(in) {
			cut = len(in) / 2
		}
		var whole, part http1.ResponseHead
		n, err := parseSCGIHead(in, &whole)
		if n < 0 || n > len(in) {
			t.Fatalf("head length %d of %d", n, len(in))
		}
		m, perr := parseSCGIHead(in[:cut], &part)
		if perr == nil && m > 0 && (err != nil || m != n || part.Status != whole.Status) {
			t.Fatalf("a part's head %d (%d) differs from the whole's %d (%d, %v)", m, part.Status, n, whole.Status, err)
		}
	})
}

// TestUWSGIPacket: the bytes of a uwsgi request, as nginx frames them.
func TestUWSGIPacket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		var h [4]byte
		io.ReadFull(c, h[:])
		rest := make([]byte, int(h[1])|int(h[2])<<8+3)
		io.ReadFull(c, rest)
		got <- string(h[:]) + string(rest)
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\nok")
	}()
	t.Cleanup(func() { ln.Close() })
	ps := newProxyServer(t, "", `uwsgi_pass uwsgi://`+ln.Addr().String()+`; uwsgi_param A $arg_a; uwsgi_param E $arg_e if_not_empty; uwsgi_modifier1 5; uwsgi_modifier2 9; uwsgi_pass_request_headers off;`, "/")
	roundTrip(t, ps.ln.Addr().String(), "POST /u?a=xy HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
	want := "\x05\x07\x00\x09" + "\x01\x00A\x02\x00xy" + "abc"
	if diff := cmp.Diff(want, <-got); diff != "" {
		t.Errorf("packet (-want +got):\n%s", diff)
	}
}
