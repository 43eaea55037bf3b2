package upstream

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// countingConn counts the reads that reach the socket.
type countingConn struct {
	net.Conn
	reads int
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads++
	return c.Conn.Read(p)
}

// A backend's frames that arrive together are read with one read, as
// nginx reads into its buffer: a unary response (HEADERS, DATA,
// trailers) costs one system call, not two per frame; a payload larger
// than the buffer is read straight into the Framer's.
func TestGRPCReadAhead(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cc := &countingConn{Conn: a}
	hc := newH2Conn(cc).(*h2Conn)
	var wire bytes.Buffer
	fr := http2.NewFramer(&wire, nil)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x88}, EndHeaders: true})
	fr.WriteData(1, false, []byte("hello"))
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x40, 1, 'x', 1, '0'}, EndHeaders: true, EndStream: true})
	small := wire.Len()
	fr.WriteData(1, false, bytes.Repeat([]byte("d"), 10000))
	go func() { b.Write(wire.Bytes()) }()

	var got []string
	for i := 0; i < 4; i++ {
		f, err := hc.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Header().Type.String())
		if i == 0 && !hc.atHand() {
			t.Error("the frames read ahead are not at hand")
		}
	}
	want := []string{"HEADERS", "DATA", "HEADERS", "DATA"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
	// net.Pipe hands over at most what one Write gave and what the
	// reader asked for: the first read takes grpcReadAhead bytes (the
	// three small frames and the start of the big one).
	if small > grpcReadAhead {
		t.Fatalf("test frames of %d bytes exceed the buffer", small)
	}
	if cc.reads > 3 {
		t.Errorf("%d socket reads for 4 frames, want at most 3 (one for the small frames, the big payload straight)", cc.reads)
	}
}

// A read that took less than it asked for drained the socket: what the
// backend sends after it is not at hand until read, as nginx's recv
// clears the read event's ready flag and looks again only when epoll
// reports more; frames still in the read-ahead buffer are.
func TestGRPCDrainedNotAtHand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	hc := newH2Conn(a).(*h2Conn)
	var wire bytes.Buffer
	fr := http2.NewFramer(&wire, nil)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x88}, EndHeaders: true})
	fr.WriteData(1, false, []byte("hello"))
	if _, err := b.Write(wire.Bytes()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 2 {
		f, err := hc.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Header().Type.String())
	}
	// Both frames came in one read, which drained the socket.
	if hc.atHand() {
		t.Error("at hand after a read that drained the socket")
	}
	wire.Reset()
	fr.WriteData(1, true, []byte("later"))
	if _, err := b.Write(wire.Bytes()); err != nil {
		t.Fatal(err)
	}
	for i := 0; !pendingInput(a); i++ {
		if i == 1000 {
			t.Fatal("the backend's frame never reached the socket")
		}
		time.Sleep(time.Millisecond)
	}
	if hc.atHand() {
		t.Error("a frame that came after the draining read is at hand; nginx looks again only on the next event")
	}
	f, err := hc.fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, f.Header().Type.String())
	if diff := cmp.Diff([]string{"HEADERS", "DATA", "DATA"}, got); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
}

// deadlineConn counts the deadlines set on the connection.
type deadlineConn struct {
	net.Conn
	reads, writes int
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.reads++
	return c.Conn.SetReadDeadline(t)
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.writes++
	return c.Conn.SetWriteDeadline(t)
}

// grpc_read_timeout and grpc_send_timeout are re-armed as nginx re-adds a
// timer, through the connection's Deadlines kept with it from request to
// request: not when they would move by less than NGX_TIMER_LAZY_DELAY
// (300 ms), and the read one only when the reader goes to the socket (a
// frame read ahead arms nothing). A stopped body writer's past deadlines
// are forgotten: the next arming acts.
func TestGRPCDeadlinesLazy(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	dc := &deadlineConn{Conn: a}
	hc := newH2Conn(dc).(*h2Conn)
	var dl http1.Deadlines
	hc.dl, hc.readTimeout = &dl, time.Minute
	g := &grpcStream{hc: hc, id: 1}
	hc.cur = g
	var wire bytes.Buffer
	fr := http2.NewFramer(&wire, nil)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x88}, EndHeaders: true})
	fr.WriteData(1, false, []byte("hello"))
	var got [][2]int
	// step reads frames, after sending the pair of them when send.
	step := func(send bool, frames int) {
		if send {
			go func() { b.Write(wire.Bytes()) }()
		}
		for range frames {
			if _, err := hc.fr.ReadFrame(); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, [2]int{dc.reads, dc.writes})
	}
	step(true, 2) // one read from the socket: armed
	step(true, 1) // from the socket, within the lazy delay: kept
	hc.readTimeout = time.Hour
	step(false, 1) // read ahead: nothing armed
	step(true, 1)  // from the socket, an hour away: armed
	go io.Copy(io.Discard, b)
	p := &Proxy{SendTimeout: time.Minute}
	ping := func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{}) }
	for range 2 {
		if err := g.writeFrame(p, ping); err != nil {
			t.Fatal(err)
		}
	}
	got = append(got, [2]int{dc.reads, dc.writes}) // two writes, one arming
	want := [][2]int{{1, 0}, {1, 0}, {1, 0}, {2, 0}, {2, 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("[read write] deadlines set after each step (-want +got):\n%s", diff)
	}
	g.writing, g.writerDone = true, make(chan struct{}, 1)
	g.writerDone <- struct{}{}
	g.join() // pokes a past write deadline
	if err := g.writeFrame(p, ping); err != nil {
		t.Fatalf("a write after a stopped writer's poke: %v", err)
	}
}

// A backend's header names and values are checked as nginx's
// ngx_http_grpc_validate_header_name and _value do, byte by byte: every
// byte, at each place of a name and of a value of each length to 17.
func TestGRPCHeaderValidation(t *testing.T) {
	nameOK := func(c byte) bool { return !(c <= ' ' || c == ':' || c >= 0x7f || 'A' <= c && c <= 'Z') }
	valueOK := func(c byte) bool { return c != 0 && c != '\r' && c != '\n' }
	for c := 0; c < 256; c++ {
		for n := 1; n <= 17; n++ {
			for at := 0; at < n; at++ {
				name := bytes.Repeat([]byte("a"), n)
				name[at] = byte(c)
				if got, want := validHeaderName(name), nameOK(byte(c)); got != want {
					t.Fatalf("name %q: valid %v, want %v", name, got, want)
				}
				value := bytes.Repeat([]byte(" "), n)
				value[at] = byte(c)
				if got, want := validHeaderValue(value), valueOK(byte(c)); got != want {
					t.Fatalf("value %q: valid %v, want %v", value, got, want)
				}
			}
		}
	}
	if validHeaderName(nil) || !validHeaderValue(nil) {
		t.Error("an empty name is invalid, an empty value valid")
	}
}
