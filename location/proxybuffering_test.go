package location

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestProxyBufferingAndGzip: with proxy_buffering on (and X-Accel-Buffering:
// yes) a proxied body is compressed as one stream, as nginx's event pipe
// hands gzip no flushes; off (or X-Accel-Buffering: no) each piece the
// backend sent after a pause is flushed through gzip (a sync-flush marker,
// 00 00 ff ff), so a slow backend's bytes reach the client. Either way the
// body inflates to what the backend sent.
func TestProxyBufferingAndGzip(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	piece := strings.Repeat("0123456789", 50)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				n, _ := c.Read(buf)
				xab := ""
				if i := bytes.Index(buf[:n], []byte("xab=")); i >= 0 {
					xab = "X-Accel-Buffering: " + string(buf[i+4:i+6]) + "\r\n"
					xab = strings.Replace(xab, "ye", "yes", 1)
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n%sContent-Length: %d\r\n\r\n", xab, 3*len(piece))
				for i := 0; i < 3; i++ {
					io.WriteString(c, piece)
					time.Sleep(60 * time.Millisecond)
				}
			}()
		}
	}()
	ts := startTest(t, `server {
    listen 127.0.0.1:PORT;
    gzip on;
    gzip_min_length 1;
    location /on/ { proxy_pass http://`+ln.Addr().String()+`/; }
    location /off/ { proxy_pass http://`+ln.Addr().String()+`/; proxy_buffering off; }
}`)
	tests := []struct {
		path    string
		flushed bool
	}{
		{"/on/x", false},
		{"/off/x", true},
		{"/on/x?xab=no", true},
		{"/off/x?xab=ye", false},
	}
	for _, tt := range tests {
		resp := ts.roundTrip(t, get(tt.path, "Accept-Encoding: gzip\r\n"))
		body := dechunk(resp[strings.Index(resp, "\r\n\r\n")+4:])
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v\n%q", tt.path, err, resp)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || string(plain) != strings.Repeat(piece, 3) {
			t.Errorf("%s: inflated %d bytes, %v", tt.path, len(plain), err)
		}
		if got := strings.Contains(body, "\x00\x00\xff\xff"); got != tt.flushed {
			t.Errorf("%s: sync-flushed %v, want %v", tt.path, got, tt.flushed)
		}
	}
}
