package upstream

import (
	"net"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// writeRecorder keeps each Write apart: on loopback the backend's reads
// merge writes, so only the sender can tell how the body was cut.
type writeRecorder struct {
	net.Conn
	writes []string
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

// A streamed chunked body whose last chunk is at hand with its data goes
// out in one write, as nginx's request chain sends it
// (proxy_request_buffering_chunked.t reads the backend once and wants both).
func TestSendChunkedLastChunkWithData(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	client.Write([]byte("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n56789\r\n0\r\n\r\n"))
	time.Sleep(20 * time.Millisecond) // all of it in the server's first read
	c := http1.NewConn(server, &http1.ConnInfo{})
	defer c.Close()
	if _, err := c.ReadRequest(); err != nil {
		t.Fatal(err)
	}
	rec := &writeRecorder{Conn: server}
	x := &exchange{rbuf: make([]byte, 4096)}
	if err := (&Proxy{}).sendChunked(c, rec, x); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 1 || rec.writes[0] != "5\r\n56789\r\n0\r\n\r\n" {
		t.Errorf("writes %q, want one: %q", rec.writes, "5\r\n56789\r\n0\r\n\r\n")
	}
}
