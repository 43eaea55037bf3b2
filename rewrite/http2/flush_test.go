package http2

import (
	"bytes"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// writeCounter counts the writes that reach the connection.
type writeCounter struct {
	net.Conn
	writes atomic.Int32
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	return w.Conn.Write(p)
}

// gated holds every stream's response until release is closed, so the
// streams end together, as streams whose backends answered in one pass.
type gated struct {
	started chan struct{}
	release chan struct{}
}

func (g gated) ServeStream(s *Stream) {
	hc := s.Conn()
	_, perr := s.Start()
	g.started <- struct{}{}
	if perr != nil || s.Malformed() {
		return
	}
	<-g.release
	hc.WriteHeader(&http1.Response{Status: 200, ContentType: []byte("text/plain"),
		ContentLength: int64(len(smallBody)), LastModified: -1})
	hc.Write(smallBody)
	hc.Finish()
}

// Streams of a connection that end together go out in one write (far
// fewer than one per stream), as nginx writes what a pass of its event
// loop queued on a connection at once. One P makes the goroutines ready
// together run one after the other, as a worker's do.
func TestStreamEndsShareWrite(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 8
	cs, ss := net.Pipe()
	defer cs.Close()
	wc := &writeCounter{Conn: ss}
	g := gated{started: make(chan struct{}, n), release: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		NewConn(wc, NewConfig(Config{IdleTimeout: time.Minute}), &http1.ConnInfo{HTTP2: http1.H2C}, g, nil).Serve()
	}()
	defer wg.Wait()
	defer ss.Close()

	// net.Pipe has no buffer: a reader takes the server's frames.
	fr := http2.NewFramer(cs, cs)
	frames := make(chan http2.FrameHeader) // a Frame is the reader's until its next
	go func() {
		defer close(frames)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			frames <- f.Header()
		}
	}()
	var wire bytes.Buffer
	wire.WriteString(ClientPreface)
	cf := http2.NewFramer(&wire, nil)
	cf.WriteSettings()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for i := 0; i < n; i++ {
		block.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "t"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		cf.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: block.Bytes(),
			EndStream: true, EndHeaders: true})
	}
	go cs.Write(wire.Bytes())
	settingsAcked := false
	for started := 0; started < n || !settingsAcked; {
		select {
		case <-g.started:
			started++
		case h := <-frames:
			if h.Type == http2.FrameSettings && h.Flags.Has(http2.FlagSettingsAck) {
				settingsAcked = true
			}
		}
	}
	before := wc.writes.Load()
	close(g.release)
	for ended := 0; ended < n; {
		h, ok := <-frames
		if !ok {
			t.Fatal("connection ended")
		}
		if h.Type == http2.FrameData && h.Flags.Has(http2.FlagDataEndStream) ||
			h.Type == http2.FrameHeaders && h.Flags.Has(http2.FlagHeadersEndStream) {
			ended++
		}
	}
	got := wc.writes.Load() - before
	t.Logf("%d writes for %d streams", got, n)
	if got > n/2 {
		t.Errorf("%d writes for %d streams that ended together, want them to share writes", got, n)
	}
}
