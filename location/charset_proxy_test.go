package location

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// oneResponseBackend answers every request with raw and closes.
func oneResponseBackend(t *testing.T, raw string) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					c.Write([]byte(raw))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// The charset filter decides for proxied responses (charset_types with
// the type's letter case ignored, a type with parameters left alone, 301
// and 302 untouched), as ngx_http_charset_header_filter.
func TestCharsetOnProxiedResponses(t *testing.T) {
	tests := []struct{ name, backend, wantType string }{
		{"a bare listed type", "HTTP/1.1 200 OK\r\nContent-Type: TEXT/HTML\r\nContent-Length: 2\r\n\r\nok", "TEXT/HTML; charset=utf-8"},
		{"a type with parameters", "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Length: 2\r\n\r\nok", "text/html; charset=iso-8859-1"},
		{"not on 302", "HTTP/1.1 302 Found\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok", "text/plain"},
		{"on 303", "HTTP/1.1 303 See Other\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok", "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := oneResponseBackend(t, tt.backend)
			ts := startTest(t, "server { listen 127.0.0.1:PORT; location / { charset utf-8; proxy_pass http://"+backend+"; } }")
			resp := ts.roundTrip(t, "GET /a HTTP/1.1\r\nHost: foo\r\nConnection: close\r\n\r\n")
			got := ""
			for _, line := range strings.Split(resp, "\r\n") {
				if v, ok := strings.CutPrefix(line, "Content-Type: "); ok {
					got = v
				}
			}
			if d := cmp.Diff(tt.wantType, got); d != "" {
				t.Errorf("Content-Type (-want +got):\n%s\n%s", d, resp)
			}
		})
	}
}
