package location

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

func benchMatch(b *testing.B, rt *Router, uris []string) {
	srv := rt.Servers[0]
	bs := make([][]byte, len(uris))
	for i, u := range uris {
		bs[i] = []byte(u)
	}
	var st rewrite.State
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st.Captures = st.Captures[:0]
		if l, _ := srv.Match(&st, bs[i%len(bs)]); l == nil {
			b.Fatal("no location")
		}
	}
}

func BenchmarkMatchArticle(b *testing.B) {
	rt := compileConf(b, articleServer)
	benchMatch(b, rt, []string{"/", "/index.html", "/api/socket/test", "/api/socket", "/static/app.js"})
}

// BenchmarkMatch100 matches against 100 locations: 60 prefixes, 20 exact,
// 20 regexes (the regexes run only when no ^~ or exact location won).
func BenchmarkMatch100(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("server { listen 127.0.0.1:19100;\n")
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&sb, "location /p%d/ { }\n", i)
	}
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&sb, "location = /e%d { }\n", i)
	}
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&sb, "location ~ ^/r%d/(.*)\\.php$ { }\n", i)
	}
	sb.WriteString("location ^~ /static/ { }\n}\n")
	rt := compileConf(b, sb.String())
	benchMatch(b, rt, []string{"/p37/x/y", "/e11", "/r19/a.php", "/static/css/site.css", "/nothing/here"})
}

// loopConn replays one request forever and discards what is written, so
// a benchmark measures the server side alone.
type loopConn struct {
	net.Conn
	req []byte
	pos int
}

func (l *loopConn) Read(p []byte) (int, error) {
	n := copy(p, l.req[l.pos:])
	l.pos = (l.pos + n) % len(l.req)
	return n, nil
}
func (l *loopConn) Write(p []byte) (int, error)        { return len(p), nil }
func (l *loopConn) Close() error                       { return nil }
func (l *loopConn) LocalAddr() net.Addr                { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (l *loopConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000} }
func (l *loopConn) SetDeadline(t time.Time) error      { return nil }
func (l *loopConn) SetReadDeadline(t time.Time) error  { return nil }
func (l *loopConn) SetWriteDeadline(t time.Time) error { return nil }

func benchServe(b *testing.B, httpBody, request string, setup func(dir string)) {
	dir := b.TempDir()
	if setup != nil {
		setup(dir)
	}
	rt := compileConf(b, strings.ReplaceAll(httpBody, "DIR", dir))
	sock := rt.Sockets[0]
	info := &http1.ConnInfo{RemoteAddr: "127.0.0.1", RemotePort: 5000, Local: http1.AddrText("127.0.0.1"), ServerPort: 80}
	c := http1.NewConn(&loopConn{req: []byte(request)}, info)
	x := newExchange(rt, c, NewLogger(io.Discard))
	addr := sock.AddrFor(net.IPv4(127, 0, 0, 1))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, err := c.ReadRequest()
		if err != nil {
			b.Fatal(err)
		}
		x.serve(addr, req)
	}
}

func BenchmarkServeReturn(b *testing.B) {
	benchServe(b, `server { listen 127.0.0.1:19300; location / { return 200 "ok"; } }`,
		"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", nil)
}

func BenchmarkServeStatic(b *testing.B) {
	benchServe(b, `server { listen 127.0.0.1:19300; root DIR; charset utf-8; location / { try_files $uri /index.html; } }`,
		"GET /index.html HTTP/1.1\r\nHost: a\r\nUser-Agent: bench\r\n\r\n", func(dir string) {
			os.WriteFile(dir+"/index.html", []byte("<html>hi</html>\n"), 0o644)
		})
}

// Static files under disable_symlinks: every component opened with
// openat, the owner checks of if_not_owner, and from= evaluated.
func BenchmarkServeStaticNoSymlinks(b *testing.B) {
	for name, mode := range map[string]string{"on": "on", "if_not_owner": "if_not_owner", "from": "on from=$document_root"} {
		b.Run(name, func(b *testing.B) {
			benchServe(b, `server { listen 127.0.0.1:19300; root DIR; disable_symlinks `+mode+`; location / { try_files $uri /index.html; if (-f $request_filename) { } } }`,
				"GET /sub/index.html HTTP/1.1\r\nHost: a\r\n\r\n", func(dir string) {
					os.MkdirAll(dir+"/sub", 0o755)
					os.WriteFile(dir+"/sub/index.html", []byte("<html>hi</html>\n"), 0o644)
				})
		})
	}
}

// add_header with variables, expires and add_trailer on a static file:
// the headers filter's scratch is reused, 0 allocs/op.
func BenchmarkServeStaticHeaders(b *testing.B) {
	benchServe(b, `server { listen 127.0.0.1:19300; root DIR; add_header X-URI "u=$uri" always; add_header ETag "";
		add_header Cache-Control private; expires 1h; add_trailer X-T "$host"; }`,
		"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n", func(dir string) {
			os.WriteFile(dir+"/index.html", []byte("<html>hi</html>\n"), 0o644)
		})
}

// sub_filter on a static file, one pattern with a variable: the link,
// its table and its buffers are the connection's, 0 allocs/op.
func BenchmarkServeStaticSubFilter(b *testing.B) {
	benchServe(b, `server { listen 127.0.0.1:19300; root DIR; sub_filter_once off;
		sub_filter hi "<b>$uri</b>"; sub_filter "$arg_x" y; }`,
		"GET /index.html?x=TM HTTP/1.1\r\nHost: a\r\n\r\n", func(dir string) {
			os.WriteFile(dir+"/index.html", []byte(strings.Repeat("<html>hi</html>\n", 100)), 0o644)
		})
}

// ssi on a static page with echo, set, if and an include of another
// file: the filter, its parser and the subrequest's exchange are reused.
func BenchmarkServeStaticSSI(b *testing.B) {
	benchServe(b, `server { listen 127.0.0.1:19300; root DIR; ssi on; }`,
		"GET /index.html?x=TM HTTP/1.1\r\nHost: a\r\n\r\n", func(dir string) {
			os.WriteFile(dir+"/part.html", []byte("part\n"), 0o644)
			os.WriteFile(dir+"/index.html", []byte(strings.Repeat("<html>hi</html>\n", 50)+
				`<!--#echo var="arg_x" --><!--#set var="v" value="$uri" --><!--#if expr="$v = /index/" -->yes<!--#endif -->`+
				`<!--#include virtual="/part.html" -->`+strings.Repeat("<p>bye</p>\n", 50)), 0o644)
		})
}

func BenchmarkServeNotFound(b *testing.B) {
	benchServe(b, `server { listen 127.0.0.1:19300; root DIR; log_not_found off; }`,
		"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n", nil)
}

// startBackend answers every request on a keep-alive connection with a
// fixed small response.
func startBackend(b *testing.B) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	crlf2 := []byte("\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				var pending []byte
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					pending = append(pending, buf[:n]...)
					for {
						i := bytes.Index(pending, crlf2)
						if i < 0 {
							break
						}
						pending = append(pending[:0], pending[i+4:]...)
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkServeProxied: the article's proxied location (rewrite with
// captures, proxy_pass with variables) to a keep-alive upstream group.
func BenchmarkServeProxied(b *testing.B) {
	be := startBackend(b)
	benchServe(b, `upstream be { server `+be+`; keepalive 4; }
server { listen 127.0.0.1:19300;
  location ^~ /api/socket/ {
    rewrite ^/(api)/(socket)/(.*)$ /$2/$3 break;
    proxy_pass http://be/$2/$3;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
  }
}`, "GET /api/socket/test HTTP/1.1\r\nHost: a\r\nUser-Agent: bench\r\n\r\n", nil)
}

// gzip on a static file and gunzip of a gzip_static file for a client
// that does not take gzip: the compressor, the inflater and their buffers
// come from pools, the links are the connection's.
func BenchmarkServeStaticGzip(b *testing.B) {
	page := strings.Repeat("<html>hi</html>\n", 100)
	for name, req := range map[string]string{
		"gzip":   "GET /index.html HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n",
		"gunzip": "GET /g/index.html HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		b.Run(name, func(b *testing.B) {
			benchServe(b, `server { listen 127.0.0.1:19300; root DIR; gzip on; gzip_vary on;
				location /g/ { gzip_static always; gunzip on; } }`, req, func(dir string) {
				os.WriteFile(dir+"/index.html", []byte(page), 0o644)
				os.MkdirAll(dir+"/g", 0o755)
				var z bytes.Buffer
				zw := gzip.NewWriter(&z)
				zw.Write([]byte(page))
				zw.Close()
				os.WriteFile(dir+"/g/index.html.gz", z.Bytes(), 0o644)
			})
		})
	}
}
