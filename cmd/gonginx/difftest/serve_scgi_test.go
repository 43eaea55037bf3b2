package difftest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// SCGI, nginx vs gonginx: both servers talk to one SCGI backend of the
// test's own, which answers with what it received (the netstring's pairs
// in order and the body), so comparing the responses compares what each
// server sent; other paths answer with scripted heads (an HTTP status
// line, Status, Location, Content-Length cuts, X-Accel-Redirect, errors).

type scgiServer struct {
	ln net.Listener
	wg sync.WaitGroup
	// uwsgi: the backend reads uwsgi packets (and echoes the modifiers).
	uwsgi bool
}

func startSCGIServer(t *testing.T) *scgiServer { return startCGIServer(t, false) }

func startCGIServer(t *testing.T, uwsgi bool) *scgiServer { return startCGIServerTLS(t, uwsgi, nil) }

// startCGIServerTLS speaks TLS with cfg when it is not nil (suwsgi://).
func startCGIServerTLS(t *testing.T, uwsgi bool, cfg *tls.Config) *scgiServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	s := &scgiServer{ln: ln, uwsgi: uwsgi}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				s.serveConn(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *scgiServer) addr() string { return s.ln.Addr().String() }

// readSCGIRequest reads the netstring's pairs and CONTENT_LENGTH bytes
// of body (none for a "nobody" script, which is sent none); bad says what
// was malformed.
func readSCGIRequest(br *bufio.Reader) (pairs [][2]string, body []byte, bad string) {
	ls, err := br.ReadString(':')
	if err != nil {
		return nil, nil, "no length"
	}
	n, err := strconv.Atoi(ls[:len(ls)-1])
	if err != nil {
		return nil, nil, "bad length " + ls
	}
	head := make([]byte, n+1)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, nil, "short netstring"
	}
	if head[n] != ',' {
		return nil, nil, "no comma"
	}
	fields := strings.Split(string(head[:n]), "\x00")
	if len(fields)%2 != 1 || fields[len(fields)-1] != "" {
		return nil, nil, fmt.Sprintf("odd fields %q", head[:n])
	}
	for i := 0; i+1 < len(fields); i += 2 {
		pairs = append(pairs, [2]string{fields[i], fields[i+1]})
	}
	for _, p := range pairs {
		if p[0] == "DOCUMENT_URI" && strings.HasSuffix(p[1], "/nobody") {
			return pairs, nil, ""
		}
	}
	cl, _ := strconv.Atoi(pairs[0][1])
	body = make([]byte, cl)
	k, _ := io.ReadFull(br, body)
	return pairs, body[:k], ""
}

// readUWSGIRequest reads a uwsgi packet's vars (the modifiers first, as
// a pair) and CONTENT_LENGTH bytes of body.
func readUWSGIRequest(br *bufio.Reader) (pairs [][2]string, body []byte, bad string) {
	var h [4]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, nil, "no header"
	}
	vars := make([]byte, int(h[1])|int(h[2])<<8)
	if _, err := io.ReadFull(br, vars); err != nil {
		return nil, nil, "short vars"
	}
	pairs = append(pairs, [2]string{"modifiers", fmt.Sprint(h[0], h[3])})
	cl := 0
	for len(vars) > 0 {
		var kv [2]string
		for i := range kv {
			if len(vars) < 2 || len(vars) < 2+(int(vars[0])|int(vars[1])<<8) {
				return nil, nil, fmt.Sprintf("bad vars %q", vars)
			}
			n := int(vars[0]) | int(vars[1])<<8
			kv[i], vars = string(vars[2:2+n]), vars[2+n:]
		}
		if kv[0] == "CONTENT_LENGTH" {
			cl, _ = strconv.Atoi(kv[1])
		}
		pairs = append(pairs, kv)
	}
	body = make([]byte, cl)
	k, _ := io.ReadFull(br, body)
	return pairs, body[:k], ""
}

func (s *scgiServer) serveConn(c net.Conn) {
	read := readSCGIRequest
	if s.uwsgi {
		read = readUWSGIRequest
	}
	pairs, body, bad := read(bufio.NewReader(c))
	if bad != "" {
		fmt.Fprintf(c, "Status: 500\r\n\r\n%s", bad)
		return
	}
	uri := ""
	for _, p := range pairs {
		if p[0] == "DOCUMENT_URI" || p[0] == "PATH_INFO" {
			uri = p[1]
		}
	}
	var out string
	switch script := uri[strings.LastIndexByte(uri, '/')+1:]; script {
	case "peer": // over TLS: the client certificate the server presented
		peer := "none"
		if tc, ok := c.(*tls.Conn); ok && len(tc.ConnectionState().PeerCertificates) > 0 {
			peer = tc.ConnectionState().PeerCertificates[0].Subject.String()
		}
		out = "Status: 200\r\n\r\npeer " + peer + "\n"
	case "status":
		out = "Status: 404 Not Found\r\nX-A: b\r\nContent-Type: text/plain\r\n\r\nnope\n"
	case "statusline":
		out = "HTTP/1.1 203 Fine\r\nStatus: 500 Ignored\r\nX-A: b\r\n\r\nline"
	case "location":
		out = "Location: /elsewhere?x=1\r\n\r\n"
	case "locabs":
		out = "Location: http://example.com/x\r\nStatus: 301\r\n\r\nmoved"
	case "cl":
		out = "Content-Length: 3\r\n\r\nabcdef"
	case "badstatus":
		out = "Status: abc\r\n\r\n"
	case "servers":
		out = "Server: scgi\r\nDate: fake\r\nX-Powered-By: py\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nStatus: 200\r\n\r\nplain"
	case "xaccel":
		out = "X-Accel-Redirect: /files/static.txt\r\n\r\nignored"
	case "nocrlf":
		out = "Content-Type: text/plain\n\nlf only"
	case "big":
		out = "Content-Type: application/octet-stream\r\n\r\n" + strings.Repeat("0123456789abcdef", 12000)
	case "e500":
		out = "Status: 500 Oops\r\n\r\nfailed"
	case "hbig1000", "hbig4059", "hbig4100", "hbig40000", "hbig70000":
		// An X-Big header of N bytes, then a short body.
		n, _ := strconv.Atoi(script[4:])
		out = "Content-Type: text/plain\r\nX-Big: " + strings.Repeat("b", n) + "\r\n\r\nbody"
	default:
		var b strings.Builder
		for _, p := range pairs {
			v := p[1]
			if p[0] == "REMOTE_PORT" {
				v = "RP"
			}
			fmt.Fprintf(&b, "%s=%s\n", p[0], varyingValue.ReplaceAllString(v, "difftest-X"))
		}
		fmt.Fprintf(&b, "body(%d)=%s\n", len(body), body)
		out = "Content-Type: text/plain\r\nX-Script: " + script + "\r\n\r\n" + b.String()
	}
	io.WriteString(c, out)
}

func TestServeSCGI(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	be := startSCGIServer(t)
	params, err := os.ReadFile("/etc/nginx/scgi_params")
	if err != nil {
		t.Fatal(err)
	}
	addr := be.addr()
	c := harness.Case{Name: "scgi", ErrorMessages: true, AccessLogFiles: []string{"scgi.log"},
		Content: map[string]string{"scgi_params": string(params), "html/files/static.txt": "static file\n"},
		Config: `log_format scgi "$request_method $uri $status us=$upstream_status url=$upstream_response_length cl=$content_length";
upstream app {
    server 127.0.0.1:1;
    server ` + addr + `;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log scgi.log scgi;
    scgi_param SERVER_LEVEL yes;
    location / { return 404; }
    location /files/ { }
    location /plain/ {
        scgi_pass ` + addr + `;
        include scgi_params;
        scgi_param EMPTY_SKIPPED $arg_none if_not_empty;
        scgi_param EMPTY_KEPT $arg_none;
        scgi_param HTTP_X_REPLACED from-param;
        scgi_param HTTP_X_DROPPED "";
    }
    location /inherit/ {
        scgi_pass ` + addr + `;
    }
    location /noheaders/ {
        scgi_pass ` + addr + `;
        include scgi_params;
        scgi_pass_request_headers off;
        scgi_pass_request_body off;
    }
    location /icpt/ {
        scgi_pass ` + addr + `;
        include scgi_params;
        scgi_intercept_errors on;
        error_page 404 = /files/static.txt;
    }
    location /hide/ {
        scgi_pass ` + addr + `;
        include scgi_params;
        scgi_hide_header X-Powered-By;
        scgi_pass_header Status;
    }
    location /unbuf/ {
        scgi_pass ` + addr + `;
        include scgi_params;
        scgi_buffering off;
        scgi_request_buffering off;
    }
    location /var/ {
        set $be ` + addr + `;
        scgi_pass $be;
        include scgi_params;
    }
    location /group/ {
        scgi_pass app;
        include scgi_params;
        scgi_next_upstream error http_500;
    }
    location /down/ {
        scgi_pass 127.0.0.1:1;
        include scgi_params;
    }
}
`}
	get := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	post := "POST /plain/echo?q=1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\nX-Replaced: client\r\nX-Dropped: client\r\nX-Kept_Under: u\r\nConnection: close\r\n\r\nhello=world"
	c.Requests = []harness.Request{
		serveRaw("POST with scgi_params, HTTP_* params and if_not_empty", post),
		serveRaw("chunked body", "POST /plain/echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
		serveRaw("HEAD", "HEAD /plain/echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("HTTP/1.0", "GET /plain/echo HTTP/1.0\r\n\r\n"),
		get("a server-level param inherited", "/inherit/echo"),
		serveRaw("no headers, no body", "POST /noheaders/nobody?a=b HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"),
		get("Status", "/plain/status"),
		get("an HTTP status line", "/plain/statusline"),
		get("Location alone", "/plain/location"),
		get("absolute Location with Status", "/plain/locabs"),
		get("a big body", "/plain/big"),
		get("Content-Length cuts", "/plain/cl"),
		get("invalid Status", "/plain/badstatus"),
		get("Server, Date, Connection, Transfer-Encoding from the backend", "/plain/servers"),
		get("X-Accel-Redirect", "/plain/xaccel"),
		get("LF-only head", "/plain/nocrlf"),
		get("intercepted 404", "/icpt/status"),
		get("not intercepted 500", "/icpt/e500"),
		get("hide and pass headers", "/hide/servers"),
		get("unbuffered", "/unbuf/big"),
		serveRaw("unbuffered request body", "POST /unbuf/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"),
		get("scgi_pass with a variable", "/var/echo"),
		get("a refused server, then the next", "/group/echo"),
		get("backend down", "/down/echo"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

func TestServeUWSGI(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	be := startCGIServer(t, true)
	params, err := os.ReadFile("/etc/nginx/uwsgi_params")
	if err != nil {
		t.Fatal(err)
	}
	addr := be.addr()
	c := harness.Case{Name: "uwsgi", ErrorMessages: true, AccessLogFiles: []string{"uwsgi.log"},
		Content: map[string]string{"uwsgi_params": string(params), "html/files/static.txt": "static file\n"},
		Config: `log_format uwsgi "$request_method $uri $status us=$upstream_status url=$upstream_response_length cl=$content_length";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log uwsgi.log uwsgi;
    location / { return 404; }
    location /files/ { }
    location /plain/ {
        uwsgi_pass uwsgi://` + addr + `;
        include uwsgi_params;
        uwsgi_param EMPTY_SKIPPED $arg_none if_not_empty;
        uwsgi_param HTTP_X_REPLACED from-param;
        uwsgi_modifier1 5;
        uwsgi_modifier2 7;
    }
    location /icpt/ {
        uwsgi_pass ` + addr + `;
        include uwsgi_params;
        uwsgi_intercept_errors on;
        error_page 404 = /files/static.txt;
    }
    location /unbuf/ {
        uwsgi_pass ` + addr + `;
        include uwsgi_params;
        uwsgi_buffering off;
        uwsgi_request_buffering off;
    }
    location /var/ {
        set $be uwsgi://` + addr + `;
        uwsgi_pass $be;
        include uwsgi_params;
    }
    location /toobig/ {
        uwsgi_pass ` + addr + `;
        ` + strings.Repeat("uwsgi_param BIG "+strings.Repeat("x", 4000)+";\n", 17) + `
    }
    location /down/ {
        uwsgi_pass 127.0.0.1:1;
        include uwsgi_params;
    }
    # uwsgi_string: bytes after the vars, in the packet's length (the
    # backend finds them a bad pair and says what they were).
    location /custom/ {
        uwsgi_string "custom tail";
        location /custom/in/ {
            uwsgi_pass ` + addr + `;
            uwsgi_param DOCUMENT_URI $uri;
        }
    }
}
`}
	get := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	c.Requests = []harness.Request{
		serveRaw("POST with uwsgi_params and modifiers", "POST /plain/echo?q=1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\nX-Replaced: client\r\nConnection: close\r\n\r\nhello=world"),
		serveRaw("HEAD", "HEAD /plain/echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		get("Status passes", "/plain/status"),
		get("an HTTP status line", "/plain/statusline"),
		get("Location alone", "/plain/location"),
		get("Content-Length cuts", "/plain/cl"),
		get("invalid Status", "/plain/badstatus"),
		get("Server, Date, Connection, Transfer-Encoding from the backend", "/plain/servers"),
		get("X-Accel-Redirect", "/plain/xaccel"),
		get("intercepted 404", "/icpt/status"),
		get("unbuffered", "/unbuf/big"),
		serveRaw("unbuffered request body", "POST /unbuf/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"),
		get("uwsgi_pass with a variable", "/var/echo"),
		get("vars over 64k", "/toobig/echo"),
		get("backend down", "/down/echo"),
		get("uwsgi_string inherited", "/custom/in/echo"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
