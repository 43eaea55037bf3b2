package upstream

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/google/go-cmp/cmp"
)

func TestCompileNextUpstream(t *testing.T) {
	tests := []struct {
		name, conf string
		next       ftMask
		tries      int
		err        string
	}{
		{"default", "", ftError | ftTimeout, 0, ""},
		{"statuses", "proxy_next_upstream http_404 http_500 non_idempotent;", ftHTTP404 | ftHTTP500 | ftNonIdempotent, 0, ""},
		{"off wins", "proxy_next_upstream error off;", 0, 0, ""},
		{"every name", "proxy_next_upstream error timeout invalid_header http_500 http_502 http_503 http_504 http_403 http_404 http_429 non_idempotent updating;",
			ftError | ftTimeout | ftInvalidHeader | ftHTTP500 | ftHTTP502 | ftHTTP503 | ftHTTP504 | ftHTTP403 | ftHTTP404 | ftHTTP429 | ftNonIdempotent, 0, ""},
		{"tries", "proxy_next_upstream_tries 3;", ftError | ftTimeout, 3, ""},
		{"bad name", "proxy_next_upstream http_418;", 0, 0, `invalid value "http_418" in /test.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Proxy{proto: proxyHTTP}
			err := p.compileNext([][]*nginxconf.Directive{parseConf(t, tt.conf)})
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.err, gotErr); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff([2]int{int(tt.next), tt.tries}, [2]int{int(p.next), p.nextTries}); diff != "" {
				t.Errorf("mask, tries (-want +got):\n%s", diff)
			}
		})
	}
}

// Two backends behind one upstream: the first answers 404 (or 500), the
// second 200. What the client gets and which backends saw the request
// follow proxy_next_upstream as nginx 1.22 does.
func TestProxyNextUpstreamStatus(t *testing.T) {
	tests := []struct {
		name, next, request string
		wantStatus          string
		wantFirst, wantNext int // requests each backend received
	}{
		{"http_404 goes on", "http_404", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK", 1, 1},
		{"not listed: passed on", "http_500", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 Not Found", 1, 0},
		{"POST is not repeated", "http_404", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz", "HTTP/1.1 404 Not Found", 1, 0},
		{"POST with non_idempotent", "http_404 non_idempotent", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz", "HTTP/1.1 200 OK", 1, 1},
		{"off", "off", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 Not Found", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := newBackend(t, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
			next := newBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			http := "upstream u { server " + first.addr() + "; server " + next.addr() + "; }"
			ps := newProxyServer(t, http, "proxy_pass http://u; proxy_next_upstream "+tt.next+";", "/")
			got := roundTrip(t, ps.ln.Addr().String(), tt.request)
			status, _, _ := strings.Cut(got, "\r\n")
			if diff := cmp.Diff(tt.wantStatus, status); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([2]int{tt.wantFirst, tt.wantNext}, [2]int{len(first.requests()), len(next.requests())}); diff != "" {
				t.Errorf("requests at the backends (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupTries(t *testing.T) {
	tests := []struct {
		name, servers string
		limit, want   int
	}{
		{"one", "server 127.0.0.1:1;", 0, 1},
		{"down servers are not tries", "server 127.0.0.1:1; server 127.0.0.1:2 down; server 127.0.0.1:3;", 0, 2},
		{"backups are", "server 127.0.0.1:1; server 127.0.0.1:2 backup;", 0, 2},
		{"proxy_next_upstream_tries caps", "server 127.0.0.1:1; server 127.0.0.1:2; server 127.0.0.1:3;", 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gs, err := CompileGroups(parseConf(t, "upstream u { "+tt.servers+" }"))
			if err != nil {
				t.Fatal(err)
			}
			if got := gs.Lookup("u").tries(tt.limit); got != tt.want {
				t.Errorf("tries = %d, want %d", got, tt.want)
			}
		})
	}
}

// Failed tries are worded for the error log as nginx's: message, what
// the proxy was doing, and the upstream named with the URI sent.
func TestTryErrorWording(t *testing.T) {
	// uriStart and uriEnd: where createRequest wrote the URI.
	x := &exchange{req: []byte("GET /x/a?b=c HTTP/1.0\r\nHost: h\r\n\r\n"), uriStart: 4, uriEnd: 12}
	tg := &target{scheme: "http"}
	p := &Proxy{proto: proxyHTTP}
	tests := []struct {
		err                  error
		action, addr         string
		wantMsg, wantUpsteam string
	}{
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, actionConnect, "127.0.0.1:1",
			"connect() failed (111: Connection refused) while connecting to upstream", "http://127.0.0.1:1/x/a?b=c"},
		{ErrPrematureClose, actionHeader, "127.0.0.1:2",
			"upstream prematurely closed connection while reading response header from upstream", "http://127.0.0.1:2/x/a?b=c"},
		{errTimedOut, actionBody, "unix:/s.sock",
			"upstream timed out (110: Connection timed out) while reading upstream", "http://unix:/s.sock:/x/a?b=c"},
	}
	for _, tt := range tests {
		err := p.wrapTry(tt.err, tt.action, tg, x, tt.addr)
		var te *tryError
		if !errors.As(err, &te) {
			t.Fatalf("%v: not a tryError", err)
		}
		if diff := cmp.Diff([2]string{tt.wantMsg, tt.wantUpsteam}, [2]string{err.Error(), te.UpstreamName()}); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}
