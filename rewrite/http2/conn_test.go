package http2

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// echo answers each stream with its request line, its headers and its
// body, through the framed http1.Conn as package location does.
type echo struct{}

func (echo) ServeStream(s *Stream) {
	hc := s.Conn()
	req, perr := s.Start()
	if s.Malformed() {
		return
	}
	if perr != nil {
		hc.WriteHeader(&http1.Response{Status: perr.Status, ContentLength: -1, LastModified: -1})
		hc.Write([]byte(perr.Msg))
		hc.Finish()
		return
	}
	var out bytes.Buffer
	out.WriteString(string(req.Method) + " " + string(req.RawURI) + " " + string(req.Proto) + "\n")
	for _, h := range req.Headers {
		out.WriteString(string(h.Name) + ": " + string(h.Value) + "\n")
	}
	body, err := io.ReadAll(hc.Body())
	if err != nil {
		out.WriteString("body error: " + err.Error() + "\n")
	}
	out.Write(body)
	hc.WriteHeader(&http1.Response{Status: 200, ContentType: []byte("text/plain"),
		ContentLength: int64(out.Len()), LastModified: -1,
		Headers: []http1.Header{{Name: []byte("X-Test"), Value: []byte("yes")}}})
	hc.Write(out.Bytes())
	hc.Finish()
}

// serve runs HTTP/2 connections on a local port until the test ends.
func serve(t *testing.T, cfg Config) string {
	t.Helper()
	return serveWith(t, cfg, echo{})
}

func serveWith(t *testing.T, cfg Config, h Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, nc := range conns {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				NewConn(nc, NewConfig(cfg), &http1.ConnInfo{HTTP2: http1.H2C}, h, nil).Serve()
			}()
		}
	}()
	return ln.Addr().String()
}

func h2cClient() *http.Client {
	return &http.Client{Transport: &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return net.Dial(network, addr)
		}}}
}

func TestServeRequests(t *testing.T) {
	addr := serve(t, Config{IdleTimeout: time.Minute})
	client := h2cClient()
	tests := []struct {
		name, method, path, body string
		headers                  [][2]string
		want                     string
	}{
		{"get", "GET", "/a?b=c", "", nil,
			"GET /a?b=c HTTP/2.0\nhost: ADDR\naccept-encoding: gzip\nuser-agent: Go-http-client/2.0\n"},
		{"cookies joined", "GET", "/", "", [][2]string{{"Cookie", "a=1"}, {"Cookie", "b=2"}},
			"GET / HTTP/2.0\nhost: ADDR\naccept-encoding: gzip\nuser-agent: Go-http-client/2.0\ncookie: a=1; b=2\n"},
		{"post body", "POST", "/p", "hello", nil,
			"POST /p HTTP/2.0\nhost: ADDR\ncontent-length: 5\naccept-encoding: gzip\nuser-agent: Go-http-client/2.0\nhello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(tt.method, "http://"+addr+tt.path, body)
			for _, h := range tt.headers {
				req.Header.Add(h[0], h[1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := strings.ReplaceAll(tt.want, "ADDR", addr)
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if resp.Header.Get("X-Test") != "yes" || resp.ProtoMajor != 2 {
				t.Errorf("head: %v %v", resp.Proto, resp.Header)
			}
		})
	}
}

// rawClient speaks frames to the server, for what a well-behaved client
// never sends.
type rawClient struct {
	nc  net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	buf bytes.Buffer
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
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

func (c *rawClient) headers(id uint32, end bool, fields ...string) {
	c.buf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.buf.Bytes(), EndStream: end, EndHeaders: true})
}

// result reads frames until the stream's end, a reset or a GOAWAY and
// says what ended it.
func (c *rawClient) result(id uint32) string {
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return "error " + err.Error()
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamID == id {
				return "status " + f.PseudoValue("status")
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return "reset " + f.ErrCode.String()
			}
		case *http2.GoAwayFrame:
			return "goaway " + f.ErrCode.String()
		}
	}
}

func TestStreamErrors(t *testing.T) {
	addr := serve(t, Config{IdleTimeout: time.Minute})
	base := []string{":method", "GET", ":scheme", "http", ":path", "/"}
	tests := []struct {
		name   string
		fields []string
		want   string
	}{
		{"ok", append(base, ":authority", "x"), "status 200"},
		{"no host", base, "status 400"},
		{"upper-case name", append(base, ":authority", "x", "X-Foo", "1"), "reset PROTOCOL_ERROR"},
		{"CR in value", append(base, ":authority", "x", "x-foo", "a\rb"), "reset PROTOCOL_ERROR"},
		{"unknown pseudo", append(base, ":authority", "x", ":foo", "1"), "status 400"},
		{"duplicate path", append(base, ":authority", "x", ":path", "/b"), "status 400"},
		{"no method", []string{":scheme", "http", ":path", "/", ":authority", "x"}, "status 400"},
		{"bad path", []string{":method", "GET", ":scheme", "http", ":path", "x", ":authority", "x"}, "status 400"},
		{"authority and host", append(base, ":authority", "x", "host", "y"), "status 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.headers(1, true, tt.fields...)
			if diff := cmp.Diff(tt.want, c.result(1)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestConnectionErrors(t *testing.T) {
	addr := serve(t, Config{IdleTimeout: time.Minute, HeaderLimit: 100})
	tests := []struct {
		name string
		send func(c *rawClient)
		want string
	}{
		{"even stream", func(c *rawClient) {
			c.headers(2, true, ":method", "GET", ":scheme", "http", ":path", "/")
		}, "goaway PROTOCOL_ERROR"},
		{"header list too large", func(c *rawClient) {
			c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", "x-big", strings.Repeat("a", 200))
		}, "goaway ENHANCE_YOUR_CALM"},
		{"window overflow", func(c *rawClient) {
			c.fr.WriteWindowUpdate(0, maxWindow)
		}, "goaway FLOW_CONTROL_ERROR"},
		// DATA, RST_STREAM of a stream never opened are skipped, as
		// nginx 1.22 skips them ("unknown http2 stream").
		{"data and reset on idle streams", func(c *rawClient) {
			c.fr.WriteData(5, true, []byte("x"))
			c.fr.WriteRSTStream(7, http2.ErrCodeCancel)
			c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
		}, "status 200"},
		// nginx checks the increment before it looks the stream up.
		{"window increment 0 on a stream", func(c *rawClient) {
			c.fr.WriteRawFrame(http2.FrameWindowUpdate, 0, 3, []byte{0, 0, 0, 0})
		}, "goaway PROTOCOL_ERROR"},
		// nginx's state handlers refuse these by their size alone
		// (FRAME_SIZE_ERROR); the Framer took the first as a request
		// with no fields (400) and closed on the others without GOAWAY.
		{"HEADERS with an empty block", func(c *rawClient) {
			c.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, 1, nil)
		}, "goaway FRAME_SIZE_ERROR"},
		{"HEADERS shorter than its priority", func(c *rawClient) {
			c.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersPriority|http2.FlagHeadersEndHeaders, 1, []byte{0, 0, 0})
		}, "goaway FRAME_SIZE_ERROR"},
		{"padded DATA of no bytes", func(c *rawClient) {
			c.fr.WriteRawFrame(http2.FrameData, http2.FlagDataPadded, 1, nil)
		}, "goaway FRAME_SIZE_ERROR"},
		{"a block in HEADERS and CONTINUATION", func(c *rawClient) {
			block := []byte{0x82, 0x86, 0x84, 0x41, 1, 'x'}
			c.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersEndStream, 1, block[:2])
			c.fr.WriteContinuation(1, true, block[2:])
		}, "status 200"},
		{"CONTINUATION on another stream", func(c *rawClient) {
			c.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersEndStream, 1, []byte{0x82, 0x86})
			c.fr.WriteContinuation(3, true, []byte{0x84})
		}, "goaway PROTOCOL_ERROR"},
		{"HEADERS padded past its end", func(c *rawClient) {
			c.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersPadded|http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, 1, []byte{9, 0x82})
		}, "goaway PROTOCOL_ERROR"},
		{"too many PRIORITY frames", func(c *rawClient) {
			for i := 0; i < 128; i++ {
				c.fr.WritePriority(uint32(2*i+3), http2.PriorityParam{StreamDep: 1, Weight: 1})
			}
		}, "goaway ENHANCE_YOUR_CALM"},
		// The frame says 5 bytes and 4 came: nginx refuses the integer
		// from what arrived, without waiting for the rest.
		{"too long index in a partial frame", func(c *rawClient) {
			c.nc.Write([]byte{0, 0, 5, 1, 5, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
		}, "goaway COMPRESSION_ERROR"},
		{"too long length behind priority", func(c *rawClient) {
			c.nc.Write([]byte{0, 0, 12, 1, 0x25, 0, 0, 0, 1, 0, 0, 0, 0, 15, 0x82, 0x42, 0xff, 0xff, 0xff, 0xff})
		}, "goaway COMPRESSION_ERROR"},
		{"huffman padded with a whole byte", func(c *rawClient) {
			block := append([]byte{0x84, 0x86, 0x41}, lit(0, false, []byte("x"))...)
			block = append(block, 0x42)
			block = append(block, lit(0, true, huffPadded("GET"))...)
			c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndStream: true, EndHeaders: true})
		}, "status 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			tt.send(c)
			if diff := cmp.Diff(tt.want, c.result(1)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A connection whose first bytes are not the preface (an HTTP/1 request
// on an http2 port) gets nginx 1.22's SETTINGS, then GOAWAY with
// PROTOCOL_ERROR.
func TestInvalidPreface(t *testing.T) {
	addr := serve(t, Config{})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	fr := http2.NewFramer(nil, nc)
	var got []string
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			break
		}
		got = append(got, f.Header().Type.String())
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			got = append(got, ga.ErrCode.String())
		}
	}
	want := []string{"SETTINGS", "WINDOW_UPDATE", "GOAWAY", "PROTOCOL_ERROR"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The next frame is the queued stream's nearest the root, then the
// heaviest, then the oldest (nginx's queue order), as PRIORITY frames and
// HEADERS priorities shape the tree.
func TestPickOrder(t *testing.T) {
	type prio struct {
		id, dep uint32
		weight  int
		excl    bool
	}
	tests := []struct {
		name   string
		prios  []prio
		queued []uint32
		want   []uint32
	}{
		{"default weights: oldest first", nil, []uint32{3, 1, 5}, []uint32{1, 3, 5}},
		{"heavier first", []prio{{1, 0, 1, false}, {3, 0, 256, false}}, []uint32{1, 3}, []uint32{3, 1}},
		{"parent before child", []prio{{1, 3, 256, false}, {3, 0, 1, false}}, []uint32{1, 3}, []uint32{3, 1}},
		{"exclusive adopts siblings", []prio{{1, 0, 16, false}, {3, 0, 16, false}, {5, 0, 16, true}}, []uint32{1, 3, 5}, []uint32{5, 1, 3}},
		{"dependency on a descendant moves it up", []prio{{3, 1, 16, false}, {1, 3, 16, false}}, []uint32{1, 3}, []uint32{3, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Conn{streams: map[uint32]*Stream{}, sendWindow: 1 << 20, cfg: &Config{MaxConcurrentStreams: 128}}
			for _, p := range tt.prios {
				c.setPriorityLocked(p.id, p.dep, p.weight, p.excl)
			}
			for _, id := range tt.queued {
				if _, ok := c.nodes[id]; !ok {
					c.setPriorityLocked(id, 0, 16, false)
				}
				st := &Stream{id: id, out: []byte("x"), sendWindow: 1 << 20}
				c.streams[id] = st
				c.live = append(c.live, st)
			}
			var got []uint32
			for st := c.pickLocked(); st != nil; st = c.pickLocked() {
				got = append(got, st.id)
				st.endSent = true
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A graceful stop (a reload's old worker) says GOAWAY NO_ERROR naming the
// last stream taken, then closes once no stream runs.
func TestShutdownGoAway(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan *Conn, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c := NewConn(nc, NewConfig(Config{IdleTimeout: time.Minute}), &http1.ConnInfo{HTTP2: http1.H2C}, echo{}, nil)
		conns <- c
		c.Serve()
	}()
	c := dialRaw(t, ln.Addr().String())
	c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
	if got := c.result(1); got != "status 200" {
		t.Fatalf("first stream: %s", got)
	}
	(<-conns).Shutdown()
	var got []string
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			got = append(got, "closed")
			break
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			got = append(got, fmt.Sprintf("GOAWAY %v last=%d", ga.ErrCode, ga.LastStreamID))
		}
	}
	if diff := cmp.Diff([]string{"GOAWAY NO_ERROR last=1", "closed"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	<-done
}

// blocking holds every stream's handler until release closes; running
// counts the handlers at work.
type blocking struct {
	running chan struct{}
	release chan struct{}
}

func (b blocking) ServeStream(s *Stream) {
	b.running <- struct{}{}
	<-b.release
}

// Rapid reset: streams the client opens and resets at once still count
// against http2_max_concurrent_streams until their handlers return, so
// the streams past the limit are refused and no more handlers run.
func TestRapidResetBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	h := blocking{running: make(chan struct{}, 100), release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		NewConn(nc, NewConfig(Config{IdleTimeout: time.Minute, MaxConcurrentStreams: 4}), &http1.ConnInfo{HTTP2: http1.H2C}, h, nil).Serve()
	}()
	c := dialRaw(t, ln.Addr().String())
	// The preface's SETTINGS must be acknowledged first, or every stream
	// is refused as nginx refuses data before it.
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			c.fr.WriteSettingsAck()
			break
		}
	}
	const n = 20
	for i := 0; i < n; i++ {
		id := uint32(2*i + 1)
		c.headers(id, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
		c.fr.WriteRSTStream(id, http2.ErrCodeCancel)
	}
	refused := 0
	for refused < n-4 {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := f.(*http2.RSTStreamFrame); ok && r.ErrCode == http2.ErrCodeRefusedStream {
			refused++
		}
	}
	for i := 0; i < 4; i++ {
		<-h.running // the four admitted streams' handlers
	}
	if got := len(h.running); got != 0 {
		t.Errorf("%d handlers past http2_max_concurrent_streams ran", got)
	}
	close(h.release)
	c.nc.Close()
	<-done
}

// What a window lets go reaches the client at once, even while the rest
// of the response, its end among it, waits for more window.
func TestSmallWindowFlushed(t *testing.T) {
	addr := serve(t, Config{IdleTimeout: time.Minute})
	c := dialRaw(t, addr)
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1})
	c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("no DATA within the window: %v", err)
		}
		if d, ok := f.(*http2.DataFrame); ok {
			if diff := cmp.Diff("1 false", fmt.Sprintf("%d %v", len(d.Data()), d.StreamEnded())); diff != "" {
				t.Errorf("first DATA frame (-want +got):\n%s", diff)
			}
			return
		}
	}
}

// watcher is a handler that watches its stream as the proxy does while
// a backend's head is awaited, and reports whether the watch fired and
// the reset's line (twice: it is given once).
type watcher struct {
	fired chan bool
	lines chan [2]string
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func (w watcher) ServeStream(s *Stream) {
	closed := make(chan struct{})
	s.WatchAbort(closerFunc(func() error { close(closed); return nil }))
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
	}
	w.fired <- s.StopWatch()
	w.lines <- [2]string{s.TakeReset(), s.TakeReset()}
}

// A stream the client resets, or whose connection ends, closes the
// backend a proxy awaits (nginx: 499 through check_broken_connection).
// A reset's line is nginx's for its code (ngx_http_v2_state_rst_stream).
func TestWatchAbort(t *testing.T) {
	tests := []struct {
		how  string
		code http2.ErrCode
		want string
	}{
		{"close", 0, ""},
		{"reset", http2.ErrCodeCancel, "client canceled stream 1"},
		{"reset", http2.ErrCodeRefusedStream, "client refused stream 1"},
		{"reset", http2.ErrCodeInternal, "client terminated stream 1 due to internal error"},
		{"reset", http2.ErrCodeNo, "client terminated stream 1 with status 0"},
		{"reset", http2.ErrCodeEnhanceYourCalm, "client terminated stream 1 with status 11"},
	}
	for _, tt := range tests {
		how := tt.how
		t.Run(how+" "+tt.code.String(), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			w := watcher{fired: make(chan bool, 1), lines: make(chan [2]string, 1)}
			go func() {
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				NewConn(nc, NewConfig(Config{IdleTimeout: time.Minute}), &http1.ConnInfo{HTTP2: http1.H2C}, w, nil).Serve()
			}()
			c := dialRaw(t, ln.Addr().String())
			c.fr.WriteSettingsAck()
			c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
			time.Sleep(50 * time.Millisecond) // the handler is watching (a later reset fires at once too)
			if how == "reset" {
				c.fr.WriteRSTStream(1, tt.code)
			} else {
				c.nc.Close()
			}
			if fired := <-w.fired; !fired {
				t.Error("the watch did not fire")
			}
			if diff := cmp.Diff([2]string{tt.want, ""}, <-w.lines); diff != "" {
				t.Errorf("reset lines (-want +got):\n%s", diff)
			}
		})
	}
}

// writeLog records each Write on the server's side of a connection.
type writeLog struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, bytes.Clone(p))
	w.mu.Unlock()
	return w.Conn.Write(p)
}

// A small response is one write: its HEADERS wait for its DATA and end,
// as nginx's frames queued in one pass go out in one write.
func TestHeadHeldForBody(t *testing.T) {
	cli, srv := net.Pipe()
	wl := &writeLog{Conn: srv}
	done := make(chan struct{})
	go func() {
		NewConn(wl, NewConfig(Config{IdleTimeout: time.Minute}), &http1.ConnInfo{HTTP2: http1.H2C}, echo{}, nil).Serve()
		close(done)
	}()
	defer func() { cli.Close(); <-done }()
	cli.SetDeadline(time.Now().Add(10 * time.Second))
	c := &rawClient{nc: cli, fr: http2.NewFramer(cli, cli)}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.buf)
	go func() { // a pipe: the client writes while it reads
		io.WriteString(cli, ClientPreface)
		c.fr.WriteSettings()
		c.fr.WriteSettingsAck()
		c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
	}()
	if got := c.result(1); got != "status 200" {
		t.Fatal(got)
	}
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := f.(*http2.DataFrame); ok && d.StreamEnded() {
			break
		}
	}
	wl.mu.Lock()
	defer wl.mu.Unlock()
	var kinds []string
	for _, w := range wl.writes {
		fr := http2.NewFramer(nil, bytes.NewReader(w))
		var k []string
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				break
			}
			if f.Header().StreamID == 1 {
				k = append(k, f.Header().Type.String())
			}
		}
		if len(k) > 0 {
			kinds = append(kinds, strings.Join(k, "+"))
		}
	}
	if diff := cmp.Diff([]string{"HEADERS+DATA"}, kinds); diff != "" {
		t.Errorf("writes of stream 1 (-want +got):\n%s", diff)
	}
}

// With no window for the body, the head still goes at once: a client may
// wait for HEADERS before it opens the window (nginx sends them whatever
// the window).
func TestHeadWithoutWindow(t *testing.T) {
	addr := serve(t, Config{IdleTimeout: time.Minute})
	c := dialRaw(t, addr)
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
	c.nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	if diff := cmp.Diff("status 200", c.result(1)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A client that sends a body past http2_body_preread_size at once (as
// nginx's tests do, before its SETTINGS could be read) is served when the
// handler reads the body: nginx's handler has opened the stream's window
// before the DATA frame is parsed.
func TestBodyBeyondPrereadWindow(t *testing.T) {
	addr := serve(t, Config{IdleTimeout: time.Minute, PrereadSize: 65536})
	for _, size := range []int{65536, 66000, 200000} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			c := dialRaw(t, addr)
			c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x",
				"content-length", strconv.Itoa(size))
			c.fr.WriteData(1, true, bytes.Repeat([]byte("b"), size))
			if diff := cmp.Diff("status 200", c.result(1)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// lateReader is echo run late: it starts once a DATA frame past the
// window waits for it, and later than the 50 ms that wait once had, as a
// loaded machine may run a handler's goroutine.
type lateReader struct{}

func (lateReader) ServeStream(s *Stream) {
	for i := 0; i < 1000; i++ {
		s.c.mu.Lock()
		waiting := s.waiting&waitBody != 0
		s.c.mu.Unlock()
		if waiting {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	echo{}.ServeStream(s)
}

// A handler that asks for the body late, having waited on nothing else,
// still gets it: nginx's handler has opened the window before the next
// frame is read, however busy the machine.
func TestBodyBeyondWindowLateReader(t *testing.T) {
	c := dialRaw(t, serveWith(t, Config{IdleTimeout: time.Minute, PrereadSize: 65536}, lateReader{}))
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x", "content-length", "66000")
	c.fr.WriteData(1, true, bytes.Repeat([]byte("b"), 66000))
	if diff := cmp.Diff("status 200", c.result(1)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// slowEnd holds the write that carries a stream's end for a while after
// the client has read it, as a busy machine may hold the writer.
type slowEnd struct {
	net.Conn
	once sync.Once
}

func (w *slowEnd) Write(p []byte) (int, error) {
	n, err := w.Conn.Write(p)
	fr := http2.NewFramer(nil, bytes.NewReader(p))
	for {
		f, ferr := fr.ReadFrame()
		if ferr != nil {
			break
		}
		if h := f.Header(); h.StreamID != 0 && h.Flags.Has(http2.FlagDataEndStream) { // DATA's or HEADERS' END_STREAM
			w.once.Do(func() { time.Sleep(200 * time.Millisecond) })
		}
	}
	return n, err
}

// A client that opens its next stream as soon as it has read the end of
// one at http2_max_concurrent_streams is served: nginx has closed the
// stream before it reads another frame (h2.t's max_concurrent_streams).
func TestStreamEndFreesItsPlace(t *testing.T) {
	cli, srv := net.Pipe()
	done := make(chan struct{})
	go func() {
		NewConn(&slowEnd{Conn: srv}, NewConfig(Config{IdleTimeout: time.Minute, MaxConcurrentStreams: 1}),
			&http1.ConnInfo{HTTP2: http1.H2C}, echo{}, nil).Serve()
		close(done)
	}()
	defer func() { cli.Close(); <-done }()
	cli.SetDeadline(time.Now().Add(10 * time.Second))
	c := &rawClient{nc: cli, fr: http2.NewFramer(cli, cli)}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.buf)
	sent := make(chan struct{})
	go func() { // a pipe: the client writes while it reads
		io.WriteString(cli, ClientPreface)
		c.fr.WriteSettings()
		c.fr.WriteSettingsAck()
		c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
		close(sent)
	}()
	if got := c.result(1); got != "status 200" {
		t.Fatal(got)
	}
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := f.(*http2.DataFrame); ok && d.StreamID == 1 && d.StreamEnded() {
			break
		}
	}
	<-sent
	go c.headers(3, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
	if diff := cmp.Diff("status 200", c.result(3)); diff != "" {
		t.Errorf("stream opened on the last one's end (-want +got):\n%s", diff)
	}
}
