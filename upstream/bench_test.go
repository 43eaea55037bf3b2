package upstream

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// leanBackend answers each request head (no body) with a fixed keepalive
// response, allocating nothing per request itself.
func leanBackend(b *testing.B) string {
	return leanBackendWith(b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
}

// leanBackendWith is leanBackend answering resp.
func leanBackendWith(b *testing.B, response string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	resp := []byte(response)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 8192)
				n := 0
				for {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						if _, err := c.Write(resp); err != nil {
							return
						}
						n = copy(buf, buf[i+4:n])
					}
				}
			}()
		}
	}()
	b.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// BenchmarkProxyRequest: client → http1.Conn + Proxy → backend, keepalive
// on both sides; one request per iteration.
func BenchmarkProxyRequest(b *testing.B) {
	benchProxy(b, "GET /api/socket/x?y=1 HTTP/1.1\r\nHost: www.my-api.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
}

// BenchmarkProxyRequestBody: the same with a small POST body, read in
// full before the backend is contacted (proxy_request_buffering).
func BenchmarkProxyRequestBody(b *testing.B) {
	benchProxy(b, "POST /api/socket/x HTTP/1.1\r\nHost: www.my-api.com\r\nContent-Length: 11\r\n\r\n{\"a\":\"bcd\"}")
}

// BenchmarkProxyCacheHit: every request after the first is a proxy_cache
// HIT, answered from the cache file without the backend.
func BenchmarkProxyCacheHit(b *testing.B) {
	benchProxyConf(b, "GET /api/socket/x?y=1 HTTP/1.1\r\nHost: www.my-api.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n",
		"proxy_cache_path "+b.TempDir()+" levels=1:2 keys_zone=z:1m;", "proxy_cache z; proxy_cache_valid 200 1h;")
}

// BenchmarkProxyChunked: a chunked response of three chunks, gathered
// into one chunk for the client.
func BenchmarkProxyChunked(b *testing.B) {
	addr := leanBackendWith(b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"2\r\nhe\r\n2;x=y\r\nll\r\n1\r\no\r\n0\r\n\r\n")
	benchProxyTo(b, addr, "GET /c HTTP/1.1\r\nHost: a\r\n\r\n", "", "", "5\r\nhello\r\n0\r\n\r\n")
}

// BenchmarkProxyRequestNoKeepalive: a new backend connection per
// request, closed after its response (no keepalive: nginx's default),
// on the exchange's recycled socket (poller.Conn.Recycle).
func BenchmarkProxyRequestNoKeepalive(b *testing.B) {
	ps := newProxyServer(b, "upstream b { server "+leanBackend(b)+"; }", `proxy_pass http://b;`, "/")
	benchProxyOn(b, ps, "GET /api/socket/x?y=1 HTTP/1.1\r\nHost: www.my-api.com\r\nAccept: */*\r\n\r\n", "hello")
}

func benchProxy(b *testing.B, request string) { benchProxyConf(b, request, "", "") }

func benchProxyConf(b *testing.B, request, httpConf, locConf string) {
	benchProxyTo(b, leanBackend(b), request, httpConf, locConf, "hello")
}

func benchProxyTo(b *testing.B, addr, request, httpConf, locConf, suffix string) {
	ps := newProxyServer(b, httpConf+"upstream b { server "+addr+"; keepalive 8; }",
		locConf+`proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://b;`, "/")
	benchProxyOn(b, ps, request, suffix)
}

// benchProxyOn sends request to ps b.N times on one connection.
func benchProxyOn(b *testing.B, ps *proxyServer, request, suffix string) {
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte(request)
	// Learn the response size once (Date has a fixed width).
	c.Write(req)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	first := make([]byte, 4096)
	n, err := c.Read(first)
	if err != nil || !bytes.HasSuffix(first[:n], []byte(suffix)) {
		b.Fatalf("first response %q %v", first[:n], err)
	}
	// The deadline was for the first answer: b.N requests may take longer.
	c.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}
