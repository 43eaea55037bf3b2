package http2

import (
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// serveOne runs one HTTP/2 connection on a local port and returns its
// address and the Conn once accepted (on the channel).
func serveOne(t *testing.T, cfg Config, tc *tls.Config) (string, <-chan *Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *Conn, 1)
	done := make(chan struct{})
	var nc net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(done)
		var err error
		nc, err = ln.Accept()
		close(accepted)
		if err != nil {
			return
		}
		conn := nc
		if tc != nil {
			conn = tls.Server(nc, tc)
		}
		c := NewConn(conn, NewConfig(cfg), &http1.ConnInfo{HTTP2: http1.H2C}, echo{}, nil)
		ch <- c
		c.Serve()
	}()
	t.Cleanup(func() {
		ln.Close()
		<-accepted
		if nc != nil {
			nc.Close()
		}
		<-done
	})
	return ln.Addr().String(), ch
}

// heldWhenIdle waits (bounded) until c holds no buffer; what it holds.
func heldWhenIdle(c *Conn) int {
	for i := 0; i < 500; i++ {
		if c.HeldBuffers() == 0 {
			return 0
		}
		runtime.Gosched()
		time.Sleep(2 * time.Millisecond)
	}
	return c.HeldBuffers()
}

// An idle connection gives its read and write buffers back and takes
// them again when the next frames come: its requests are answered as
// before.
func TestIdleHoldsNoBuffers(t *testing.T) {
	for _, mode := range []string{"h2c", "h2"} {
		t.Run(mode, func(t *testing.T) { testIdleHoldsNoBuffers(t, mode == "h2") })
	}
}

func testIdleHoldsNoBuffers(t *testing.T, withTLS bool) {
	var tc *tls.Config
	if withTLS {
		cert, err := tls.LoadX509KeyPair("../../examples/article/cert.pem", "../../examples/article/key.pem")
		if err != nil {
			t.Fatal(err)
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}}
	}
	addr, ch := serveOne(t, Config{IdleTimeout: time.Minute}, tc)
	var cl *rawClient
	if withTLS {
		cl = dialRawTLS(t, addr)
	} else {
		cl = dialRaw(t, addr)
	}
	c := <-ch
	var got []string
	for id := uint32(1); id <= 5; id += 2 {
		cl.headers(id, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "t")
		got = append(got, cl.result(id))
		// The DATA frame of the answer, and the SETTINGS ack, read.
		if id == 1 {
			cl.fr.WritePing(false, [8]byte{1})
		}
		if n := heldWhenIdle(c); n != 0 {
			t.Errorf("after stream %d: idle connection holds %d bytes of buffers", id, n)
		}
	}
	// PING answered from a connection that held nothing.
	cl.fr.WritePing(false, [8]byte{2})
	got = append(got, cl.pingAck(2))
	want := []string{"status 200", "status 200", "status 200", "ping ack 2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// pingAck reads frames until a PING ack and says its first octet.
func (c *rawClient) pingAck(want byte) string {
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return "error " + err.Error()
		}
		if p, ok := f.(*http2.PingFrame); ok && p.IsAck() && p.Data[0] == want {
			return "ping ack " + string('0'+p.Data[0])
		}
	}
}

// dialRawTLS is dialRaw over TLS with ALPN h2.
func dialRawTLS(t *testing.T, addr string) *rawClient {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(nc, ClientPreface)
	c := &rawClient{nc: nc, fr: http2.NewFramer(nc, nc)}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.buf)
	c.fr.WriteSettings()
	return c
}
