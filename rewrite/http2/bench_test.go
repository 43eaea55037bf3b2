package http2

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// small answers every stream with a 100-byte body, as a static file or a
// return would.
type small struct{}

var smallBody = bytes.Repeat([]byte("x"), 100)

func (small) ServeStream(s *Stream) {
	hc := s.Conn()
	if _, perr := s.Start(); perr != nil || s.Malformed() {
		return
	}
	hc.WriteHeader(&http1.Response{Status: 200, ContentType: []byte("text/plain"),
		ContentLength: int64(len(smallBody)), LastModified: -1})
	hc.Write(smallBody)
	hc.Finish()
}

// BenchmarkStreams is one GET and its 100-byte response per op, on one
// connection over loopback: what the server allocates per stream.
func BenchmarkStreams(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		NewConn(nc, NewConfig(Config{IdleTimeout: time.Minute, MaxRequests: 1 << 30}), &http1.ConnInfo{HTTP2: http1.H2C}, small{}, nil).Serve()
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, ClientPreface)
	fr := http2.NewFramer(nc, nc)
	fr.SetReuseFrames()
	fr.WriteSettings()
	fr.WriteWindowUpdate(0, 1<<30)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", "/index.html"}, {":authority", "localhost"}} {
		enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	hdr := append([]byte(nil), block.Bytes()...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := uint32(2*i + 1)
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hdr, EndStream: true, EndHeaders: true}); err != nil {
			b.Fatal(err)
		}
		for done := false; !done; {
			f, err := fr.ReadFrame()
			if err != nil {
				b.Fatal(err)
			}
			if d, ok := f.(*http2.DataFrame); ok && d.StreamID == id {
				if n := len(d.Data()); n > 0 {
					fr.WriteWindowUpdate(0, uint32(n))
				}
				done = d.StreamEnded()
			}
		}
	}
}
