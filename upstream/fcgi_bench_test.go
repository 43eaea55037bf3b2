package upstream

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// leanFCGI answers each FastCGI request with a fixed response, keeping
// the connection (fastcgi_keep_conn), allocating nothing per request.
func leanFCGI(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	resp := records(out+"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", out, end)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReaderSize(c, 16<<10)
				var h [8]byte
				skip := make([]byte, 64<<10)
				for {
					if _, err := io.ReadFull(br, h[:]); err != nil {
						return
					}
					n := int(h[4])<<8 | int(h[5]) + int(h[6])
					if _, err := io.ReadFull(br, skip[:n]); err != nil {
						return
					}
					if h[1] == fcgiStdin && h[4] == 0 && h[5] == 0 {
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	b.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// BenchmarkFastCGIRequest: client → http1.Conn + fastcgi_pass → backend,
// keepalive on both sides, Debian's usual params; one request per
// iteration.
func BenchmarkFastCGIRequest(b *testing.B) {
	addr := leanFCGI(b)
	ps := newProxyServer(b, "upstream b { server "+addr+"; keepalive 8; }",
		`fastcgi_pass b; fastcgi_keep_conn on; fastcgi_param QUERY_STRING $query_string; fastcgi_param REQUEST_METHOD $request_method;
fastcgi_param CONTENT_TYPE $content_type; fastcgi_param CONTENT_LENGTH $content_length; fastcgi_param SCRIPT_NAME $fastcgi_script_name;
fastcgi_param REQUEST_URI $request_uri; fastcgi_param DOCUMENT_URI $document_uri; fastcgi_param SERVER_PROTOCOL $server_protocol;
fastcgi_param REMOTE_ADDR $remote_addr; fastcgi_param REMOTE_PORT $remote_port; fastcgi_param SERVER_NAME $server_name;`, "/")
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /index.php?y=1 HTTP/1.1\r\nHost: www.my-api.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	c.Write(req)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	first := make([]byte, 4096)
	n, err := c.Read(first)
	if err != nil || !bytes.HasSuffix(first[:n], []byte("hello")) {
		b.Fatalf("first response %q %v", first[:n], err)
	}
	// The deadline guarded the first response only: one left set ended a
	// run longer than it (-benchtime 5s) with an i/o timeout.
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
