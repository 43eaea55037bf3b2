package difftest

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// gRPC, nginx vs gonginx: both servers talk to one HTTP/2 backend of the
// test's own (x/net/http2's server, with prior knowledge or over TLS),
// which answers with what it received (method, path, authority, headers
// in order of name, the body) and trailers, so comparing the responses
// compares what each server sent; other paths answer with statuses,
// big and streamed bodies, resets and delays.

type h2Backend struct {
	ln net.Listener
	wg sync.WaitGroup
}

func startH2Backend(t *testing.T, tlsConf *tls.Config) *h2Backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &h2Backend{ln: ln}
	srv := &http2.Server{}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				if tlsConf != nil {
					tc := tls.Server(nc, tlsConf)
					if tc.Handshake() != nil {
						return
					}
					nc = tc
				}
				srv.ServeConn(nc, &http2.ServeConnOpts{Handler: http.HandlerFunc(h2Answer)})
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); b.wg.Wait() })
	return b
}

func (b *h2Backend) addr() string { return b.ln.Addr().String() }

func h2Answer(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	name := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	switch name {
	case "e404":
		w.WriteHeader(404)
		io.WriteString(w, "not here")
		return
	case "e500":
		w.WriteHeader(500)
		return
	case "big":
		w.Header().Set("Content-Type", "application/grpc")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for i := 0; i < 10; i++ {
			w.Write([]byte(strings.Repeat(fmt.Sprintf("%x", i), 10000)))
		}
		w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
		return
	case "length":
		w.Header().Set("Content-Length", "5")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "fixed")
		return
	case "unary":
		// A gRPC unary answer as grpc-go's server may send it: a
		// Content-Length, then the trailers.
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("Trailer", "Grpc-Status")
		w.Write(body)
		w.Header().Set("Grpc-Status", "0")
		return
	case "reset":
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		// The reset comes after the head was read: arriving with it in
		// one read, the log says "while reading response header from
		// upstream" instead (a loaded machine flipped it on one server).
		time.Sleep(100 * time.Millisecond)
		panic(http.ErrAbortHandler) // RST_STREAM
	case "hbig2000", "hbig8000", "hbig30000":
		// An X-Big header of N bytes (HPACK's Huffman code takes 'b' in
		// 6 bits: three quarters of that in the frame).
		n, _ := strconv.Atoi(name[4:])
		w.Header().Set("X-Big", strings.Repeat("b", n))
		w.Header().Set("Content-Type", "application/grpc")
		w.WriteHeader(200)
		io.WriteString(w, "body")
		return
	case "resetfirst":
		panic(http.ErrAbortHandler)
	case "slow":
		time.Sleep(500 * time.Millisecond)
		w.WriteHeader(200)
		return
	case "nobody":
		w.Header().Set("Grpc-Status", "5")
		w.Header().Set("Content-Type", "application/grpc")
		w.WriteHeader(200)
		return
	}
	var names []string
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s %s host=%s\n", r.Proto, r.Method, r.RequestURI, r.Host)
	for _, k := range names {
		fmt.Fprintf(&sb, "%s: %s\n", k, strings.Join(r.Header[k], ","))
	}
	fmt.Fprintf(&sb, "body(%d)=%.40s\n", len(body), body)
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Server", "backend")
	w.Header().Set("X-Backend", "yes")
	w.Header().Set("X-Hidden", "no")
	w.WriteHeader(200)
	w.(http.Flusher).Flush()
	io.WriteString(w, sb.String())
	w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
	w.Header().Set(http.TrailerPrefix+"Grpc-Message", "fine")
}

func TestServeGRPC(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	be := startH2Backend(t, nil)
	addr := be.addr()
	c := harness.Case{Name: "grpc", ErrorMessages: true, AccessLogFiles: []string{"grpc.log"},
		Content: map[string]string{"html/files/static.txt": "static file\n"},
		Config: `log_format grpc "$request_method $uri $status us=$upstream_status ua=$upstream_addr url=$upstream_response_length";
upstream two {
    server 127.0.0.1:1;
    server ` + addr + `;
}
upstream kept {
    server ` + addr + `;
    keepalive 2;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log grpc.log grpc;
    location / { return 404; }
    location /files/ { }
    location /g/ {
        grpc_pass grpc://` + addr + `;
        grpc_set_header X-Set "set $arg_a";
        grpc_hide_header X-Hidden;
        grpc_pass_header Server;
    }
    location /plain/ {
        grpc_pass ` + addr + `;
    }
    location /host/ {
        grpc_pass ` + addr + `;
        grpc_set_header Host example.com;
    }
    location /var/ {
        set $be ` + addr + `;
        grpc_pass grpc://$be;
    }
    location /icpt/ {
        grpc_pass ` + addr + `;
        grpc_intercept_errors on;
        error_page 404 = /files/static.txt;
    }
    location /next/ {
        grpc_pass grpc://two;
    }
    location /kept/ {
        grpc_pass grpc://kept;
    }
    location /slow/ {
        grpc_pass ` + addr + `;
        grpc_read_timeout 100ms;
    }
    location /down/ {
        grpc_pass 127.0.0.1:1;
    }
    location /proxy/ {
        proxy_pass http://127.0.0.1:{{PORT}}/nothing;
        proxy_intercept_errors on;
        error_page 404 = @fallback;
    }
    location @fallback {
        grpc_pass ` + addr + `;
    }
}
`}
	get := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	c.Requests = []harness.Request{
		serveRaw("unary call with trailers", "POST /g/pkg.Svc/Call?a=1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/grpc\r\nTE: trailers\r\nContent-Length: 5\r\nX-Client: c\r\nConnection: close\r\n\r\nhello"),
		serveRaw("chunked request body", "POST /plain/up HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
		serveRaw("a body larger than the windows", "POST /plain/up HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n"+strings.Repeat("b", 100000)),
		serveRaw("HTTP/1.0", "GET /plain/x HTTP/1.0\r\n\r\n"),
		serveRaw("HEAD", "HEAD /plain/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		get("GET of a path with escapes", "/plain/a%20b?x=%41"),
		get("grpc_set_header Host", "/host/x"),
		get("a variable", "/var/x"),
		get("a big streamed response", "/plain/big"),
		get("a length from the backend", "/plain/length"),
		get("a 404 passed", "/plain/e404"),
		get("a 404 intercepted", "/icpt/e404"),
		get("a 500", "/plain/e500"),
		get("trailers only", "/plain/nobody"),
		get("reset after the head", "/plain/reset"),
		get("reset before the head", "/plain/resetfirst"),
		get("a refused server, then the next", "/next/x"),
		pipelined("keepalive: three calls", "GET /kept/a HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"GET /kept/b HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET /kept/c HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		get("grpc_read_timeout", "/slow/slow"),
		get("backend down", "/down/x"),
		serveRaw("a body read for the proxy, sent again to gRPC", "POST /proxy/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 66000\r\nConnection: close\r\n\r\n"+strings.Repeat("Hello", 13200)),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// gRPC clients speak HTTP/2: the backend's trailers reach them after a
// body of known length too (nginx's HTTP/2 filter sends the trailers at
// the last buffer whatever the length; an HTTP/1.1 client gets none after
// a Content-Length).
func TestServeGRPCFromHTTP2(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	addr := startH2Backend(t, nil).addr()
	c := harness.Case{Name: "grpc from http2", ErrorMessages: true,
		Config: `server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    location / { grpc_pass grpc://` + addr + `; }
    # The backend's trailers and ours, after the body's last bytes.
    location /added/ { grpc_pass grpc://` + addr + `; add_trailer X-Added "t $status"; }
}
`}
	h := "Host: localhost\r\nContent-Type: application/grpc\r\nTE: trailers\r\n"
	call := "POST /pkg.Svc/unary HTTP/1.1\r\n" + h + "Content-Length: 10\r\n\r\n\x00\x00\x00\x00\x05hello"
	c.Requests = []harness.Request{
		{Name: "unary call, a length and trailers", H2: true, Send: []string{call}},
		{Name: "two calls", H2: true, Send: []string{call, call}},
		{Name: "trailers only: the head ends the stream", H2: true, Send: []string{"POST /pkg.Svc/nobody HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\r\nhello"}},
		{Name: "streamed, trailers", H2: true, Send: []string{"POST /pkg.Svc/Call HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\r\nhello"}},
		{Name: "add_trailer after the backend's", H2: true, Send: []string{
			"POST /added/pkg.Svc/unary HTTP/1.1\r\n" + h + "Content-Length: 10\r\n\r\n\x00\x00\x00\x00\x05hello",
			"POST /added/pkg.Svc/Call HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\r\nhello"}},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// grpcs://: the backend speaks HTTP/2 over TLS (ALPN h2); grpc_ssl_verify
// with grpc_ssl_trusted_certificate and grpc_ssl_name, a foreign CA
// refused.
func TestServeGRPCS(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	ca := harness.NewCA("grpc root")
	other := harness.NewCA("other root")
	cert := ca.Issue(harness.CertSpec{CN: "backend.test", DNS: []string{"backend.test"}})
	// A backend per location: nginx resumes a peer's TLS session across
	// locations, with the verify result of the first handshake.
	var addrs [3]string
	for i := range addrs {
		addrs[i] = startH2Backend(t, &tls.Config{Certificates: []tls.Certificate{cert.TLS}, NextProtos: []string{"h2"}}).addr()
	}
	c := harness.Case{Name: "grpcs", ErrorMessages: true,
		Content: map[string]string{"ca.pem": ca.PEM, "other.pem": other.PEM},
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /plain/ {
        grpc_pass grpcs://` + addrs[0] + `;
    }
    location /verify/ {
        grpc_pass grpcs://` + addrs[1] + `;
        grpc_ssl_verify on;
        grpc_ssl_trusted_certificate ca.pem;
        grpc_ssl_name backend.test;
        grpc_ssl_server_name on;
    }
    location /foreign/ {
        grpc_pass grpcs://` + addrs[2] + `;
        grpc_ssl_verify on;
        grpc_ssl_trusted_certificate other.pem;
        grpc_ssl_name backend.test;
    }
}
`}
	c.Requests = []harness.Request{
		serveRaw("unary call over TLS", "POST /plain/pkg.Svc/Call HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/grpc\r\nTE: trailers\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
		serveRaw("verified", "GET /verify/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("a foreign CA", "GET /foreign/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
