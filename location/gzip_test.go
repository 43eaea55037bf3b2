package location

import (
	"bufio"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		ae   string
		want bool
	}{
		{"gzip", true},
		{"GZIP", true},
		{"deflate, gzip", true},
		{"deflate,gzip", true},
		{"gzip;q=0.5", true},
		{"gzip ; q=1", true},
		{"gzip;q=1.000", true},
		{"gzip;Q=0.001", true},
		{"gzip;q=0", false},
		{"gzip;q=0.000", false},
		{"gzip;q=1.0001", false}, // more than three decimals
		{"gzip;q=2", false},
		{"gzip;q=0.5x", false},
		{"gzip;q=", false},
		{"gzip;level=1", false},
		{"x-gzip", false},
		{"gzipx", false},
		{"br", false},
		{"gzip , br", true},
		{"br;q=1, x-gzip, gzip", true},
	}
	for _, tt := range tests {
		if got := acceptsGzip([]byte(tt.ae)); got != tt.want {
			t.Errorf("%q: %v, want %v", tt.ae, got, tt.want)
		}
	}
}

func TestCacheControlHas(t *testing.T) {
	hs := func(vals ...string) []http1.Header {
		var out []http1.Header
		for _, v := range vals {
			out = append(out, http1.Header{Name: []byte("Cache-Control"), Value: []byte(v)})
		}
		return out
	}
	tests := []struct {
		name string
		hs   []http1.Header
		tok  string
		want bool
	}{
		{"alone", hs("no-cache"), "no-cache", true},
		{"listed", hs("public, no-store"), "no-store", true},
		{"second line", hs("max-age=0", "private"), "private", true},
		{"any case", hs("Private"), "private", true},
		{"with a value is not it", hs("no-cache=x"), "no-cache", false},
		{"trailing spaces", hs("private  , x"), "private", true},
		{"a prefix is not it", hs("privateer"), "private", false},
		{"absent", hs("public"), "private", false},
	}
	for _, tt := range tests {
		if got := cacheControlHas(tt.hs, tt.tok); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestGzipTypeKey(t *testing.T) {
	tests := []struct{ ct, want string }{
		{"text/html", "text/html"},
		{"text/html; charset=utf-8", "text/html"},
		{"text/html;charset=utf-8", "text/html"},
		{"text/html; CHARSET=utf-8", "text/html"},
		{"text/html; level=1", "text/html; level=1"},
		{"text/html ; charset=utf-8", "text/html "},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, string(gzipTypeKey([]byte(tt.ct)))); d != "" {
			t.Errorf("%q (-want +got):\n%s", tt.ct, d)
		}
	}
}

// A flush from an unbuffered backend reaches the client through gzip
// (nginx's Z_SYNC_FLUSH): the backend sends its second part only once
// the client has inflated the first, so without the flush the exchange
// would never finish.
func TestGzipFlushReachesClient(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	firstRead := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nDA\r\n")
		select {
		case <-firstRead:
		case <-time.After(10 * time.Second):
			return
		}
		io.WriteString(c, "2\r\nTA\r\n0\r\n\r\n")
	}()
	ts := startTest(t, "server { listen 127.0.0.1:PORT; gzip on; gzip_min_length 0; location / { proxy_pass http://"+ln.Addr().String()+"; proxy_buffering off; } }")
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second)) // bounds a hang; not a timing check
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
		t.Fatalf("Content-Encoding %q", ce)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 2)
	if _, err := io.ReadFull(zr, first); err != nil {
		t.Fatalf("first part: %v", err)
	}
	close(firstRead)
	rest, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff("DATA", string(first)+string(rest)); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}
}
