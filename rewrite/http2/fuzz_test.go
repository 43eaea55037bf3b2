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

// FuzzFrames feeds a connection arbitrary frames after the preface: the
// server must neither panic nor hang, whatever the client sends.
func FuzzFrames(f *testing.F) {
	var seed bytes.Buffer
	fr := http2.NewFramer(&seed, nil)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/"}, {":authority", "x"}, {"cookie", "a"}, {"cookie", "b"}} {
		enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes()[:3], EndHeaders: false})
	fr.WriteContinuation(1, true, block.Bytes()[3:])
	fr.WriteData(1, false, []byte("hello"))
	fr.WriteWindowUpdate(1, 100)
	fr.WriteData(1, true, []byte("world"))
	fr.WritePing(false, [8]byte{1})
	fr.WriteRSTStream(3, http2.ErrCodeCancel)
	f.Add(seed.Bytes())
	f.Add([]byte{0, 0, 0, 4, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		cli, srv := net.Pipe()
		c := NewConn(srv, NewConfig(Config{IdleTimeout: time.Second, HeaderTimeout: time.Second, SendTimeout: time.Second}),
			&http1.ConnInfo{HTTP2: http1.H2C}, echo{}, nil)
		done := make(chan struct{})
		go func() { c.Serve(); close(done) }()
		go io.Copy(io.Discard, cli)
		cli.SetWriteDeadline(time.Now().Add(time.Second))
		cli.Write([]byte(ClientPreface))
		cli.Write(in)
		cli.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return after the client closed")
		}
	})
}
