package difftest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// HTTP/2 request bodies' flow control at the frame level: a client that
// sends a body as the windows let it (ngx_http_v2_read_request_body opens
// a buffered body's stream window to 2^31-1, an unbuffered one follows
// the backend) gets the same WINDOW_UPDATE frames, increments included,
// from nginx and from gonginx.

// h2Flow is one connection of a client that honours the windows the
// server gives it; every frame the server sends is kept as a line.
type h2Flow struct {
	conn net.Conn
	bw   *bufio.Writer
	fr   *http2.Framer
	enc  *hpack.Encoder
	blk  bytes.Buffer

	mu       sync.Mutex
	cond     *sync.Cond
	settings bool // the server's SETTINGS came
	connWin  int64
	initWin  int64
	win      map[uint32]int64
	out      []string
	data     map[uint32][]byte
	ended    bool
}

func h2FlowDial(port int) (*h2Flow, error) {
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	f := &h2Flow{conn: conn, bw: bufio.NewWriterSize(conn, 1<<18), connWin: 65535, initWin: 65535,
		win: map[uint32]int64{}, data: map[uint32][]byte{}}
	f.cond = sync.NewCond(&f.mu)
	f.fr = http2.NewFramer(f.bw, bufio.NewReader(conn))
	f.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	f.enc = hpack.NewEncoder(&f.blk)
	f.bw.WriteString(http2.ClientPreface)
	f.fr.WriteSettings()
	f.bw.Flush()
	go f.read()
	f.mu.Lock()
	for !f.settings && !f.ended {
		f.cond.Wait()
	}
	f.mu.Unlock()
	return f, nil
}

func (f *h2Flow) logLocked(line string) {
	for id, b := range f.data {
		f.out = append(f.out, fmt.Sprintf("DATA stream=%d bytes=%d", id, bodyLen(b)))
	}
	clear(f.data)
	f.out = append(f.out, line)
}

func (f *h2Flow) read() {
	for {
		f.conn.SetReadDeadline(time.Now().Add(time.Second))
		fr, err := f.fr.ReadFrame()
		f.mu.Lock()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				f.logLocked("quiet")
			} else {
				f.logLocked("closed")
			}
			f.ended = true
			f.cond.Broadcast()
			f.mu.Unlock()
			return
		}
		switch fr := fr.(type) {
		case *http2.DataFrame:
			f.data[fr.StreamID] = append(f.data[fr.StreamID], fr.Data()...)
			if fr.StreamEnded() {
				n := bodyLen(f.data[fr.StreamID])
				delete(f.data, fr.StreamID)
				f.logLocked(fmt.Sprintf("DATA stream=%d bytes=%d END_STREAM", fr.StreamID, n))
			}
		case *http2.MetaHeadersFrame:
			f.logLocked(fmt.Sprintf("HEADERS stream=%d status=%s end=%v", fr.StreamID, fr.PseudoValue("status"), fr.StreamEnded()))
		case *http2.RSTStreamFrame:
			f.logLocked(fmt.Sprintf("RST_STREAM stream=%d %v", fr.StreamID, fr.ErrCode))
		case *http2.GoAwayFrame:
			f.logLocked(fmt.Sprintf("GOAWAY last=%d %v", fr.LastStreamID, fr.ErrCode))
		case *http2.SettingsFrame:
			if fr.IsAck() {
				f.logLocked("SETTINGS ACK")
				break
			}
			var s []string
			fr.ForeachSetting(func(st http2.Setting) error {
				s = append(s, st.String())
				if st.ID == http2.SettingInitialWindowSize {
					for id := range f.win {
						f.win[id] += int64(st.Val) - f.initWin
					}
					f.initWin = int64(st.Val)
				}
				return nil
			})
			f.logLocked("SETTINGS " + strings.Join(s, " "))
			f.settings = true
		case *http2.WindowUpdateFrame:
			f.logLocked(fmt.Sprintf("WINDOW_UPDATE stream=%d +%d", fr.StreamID, fr.Increment))
			if fr.StreamID == 0 {
				f.connWin += int64(fr.Increment)
			} else {
				f.win[fr.StreamID] += int64(fr.Increment)
			}
		default:
			f.logLocked(fmt.Sprintf("%v stream=%d", fr.Header().Type, fr.Header().StreamID))
		}
		f.cond.Broadcast()
		f.mu.Unlock()
	}
}

// bodyLen is a response body's length with an error page's server
// token counted as nginx's ("nginx/1.22.1").
func bodyLen(b []byte) int {
	return len(bareToken.ReplaceAllString(string(b), "<center>nginx/1.22.1</center>"))
}

var bareToken = regexp.MustCompile(`<center>(nginx|gonginx)(/[0-9.]+)?</center>`)

// headers opens stream id with a request for path; cl >= 0 adds a
// content-length field.
func (f *h2Flow) headers(id uint32, method, path string, cl int, end bool) {
	f.blk.Reset()
	fields := []string{":method", method, ":scheme", "http", ":path", path, ":authority", "localhost"}
	if cl >= 0 {
		fields = append(fields, "content-length", strconv.Itoa(cl))
	}
	for i := 0; i < len(fields); i += 2 {
		f.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	f.mu.Lock()
	f.win[id] = f.initWin
	f.mu.Unlock()
	f.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: f.blk.Bytes(), EndStream: end, EndHeaders: true})
}

// send writes n body bytes on stream id in frames of at most 16384, as
// far as both windows let it; it writes what it has when the windows
// are spent and waits for them to grow, at most a second ("client:
// stalled at N" is logged then).
func (f *h2Flow) send(id uint32, n int, end bool) {
	chunk := bytes.Repeat([]byte{'x'}, 16384)
	sent := 0
	for sent < n {
		f.mu.Lock()
		room := min(f.connWin, f.win[id], 16384, int64(n-sent))
		if room <= 0 {
			f.mu.Unlock()
			f.bw.Flush()
			f.mu.Lock()
			deadline := time.Now().Add(time.Second)
			t := time.AfterFunc(time.Second, func() { f.mu.Lock(); f.cond.Broadcast(); f.mu.Unlock() })
			for min(f.connWin, f.win[id]) <= 0 && !f.ended && time.Now().Before(deadline) {
				f.cond.Wait()
			}
			t.Stop()
			stalled := min(f.connWin, f.win[id]) <= 0
			if stalled {
				f.logLocked(fmt.Sprintf("client: stalled at %d", sent))
			}
			f.mu.Unlock()
			if stalled {
				return
			}
			continue
		}
		f.connWin -= room
		f.win[id] -= room
		f.mu.Unlock()
		sent += int(room)
		f.fr.WriteData(id, end && sent == n, chunk[:room])
	}
	if n == 0 && end {
		f.fr.WriteData(id, true, nil)
	}
	f.bw.Flush()
}

// pause sends what was written and waits a fifth of a second (for what
// nginx writes before it reads on).
func (f *h2Flow) pause() {
	f.bw.Flush()
	time.Sleep(200 * time.Millisecond)
}

// finish waits for the server's last frame (a quiet second or the
// connection's end) and returns the lines.
func (f *h2Flow) finish() []string {
	f.bw.Flush()
	f.mu.Lock()
	for !f.ended {
		f.cond.Wait()
	}
	out := f.out
	f.mu.Unlock()
	f.conn.Close()
	return compactRepeats(out)
}

func TestServeH2Window(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	be, err := harness.StartBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	c := harness.Case{Name: "h2 window", Config: `server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    location /buf/ { proxy_pass http://{{BACKEND}}/; }
    location /unbuf/ { proxy_request_buffering off; proxy_pass http://{{BACKEND}}/; }
    location /max/ { client_max_body_size 1k; proxy_pass http://{{BACKEND}}/; }
    location /maxpage/ { client_max_body_size 1k; error_page 413 @big; proxy_pass http://{{BACKEND}}/; }
    location @big { return 413 "too big\n"; }
    location /static { return 200 "ok\n"; }
}
`}
	scripts := []struct {
		name string
		run  func(f *h2Flow)
	}{
		{"small body after a pause", func(f *h2Flow) {
			f.headers(1, "POST", "/buf/", 10, false)
			f.pause()
			f.send(1, 10, true)
		}},
		{"small body with its head", func(f *h2Flow) {
			f.headers(1, "POST", "/buf/", 10, false)
			f.send(1, 10, true)
		}},
		{"body past client_body_buffer_size", func(f *h2Flow) {
			f.headers(1, "POST", "/buf/", 300000, false)
			f.send(1, 300000, true)
		}},
		{"body past the preread window, no length", func(f *h2Flow) {
			f.headers(1, "POST", "/buf/", -1, false)
			f.send(1, 200000, true)
		}},
		{"body of 1 MB", func(f *h2Flow) {
			f.headers(1, "POST", "/buf/", 1<<20, false)
			f.send(1, 1<<20, true)
		}},
		{"unbuffered body", func(f *h2Flow) {
			f.headers(1, "POST", "/unbuf/", 300000, false)
			f.pause()
			f.send(1, 300000, true)
		}},
		{"body over client_max_body_size", func(f *h2Flow) {
			f.headers(1, "POST", "/max/", 100000, false)
			f.pause()
			f.send(1, 100000, true)
		}},
		{"body over client_max_body_size, no length", func(f *h2Flow) {
			f.headers(1, "POST", "/max/", -1, false)
			f.pause()
			f.send(1, 100000, true)
		}},
		{"body over client_max_body_size, no length, error_page", func(f *h2Flow) {
			f.headers(1, "POST", "/maxpage/", -1, false)
			f.pause()
			f.send(1, 100000, true)
		}},
		{"body to a handler that does not read it", func(f *h2Flow) {
			f.headers(1, "POST", "/static", 100000, false)
			f.pause()
			f.send(1, 100000, true)
		}},
	}
	srvs := map[string]*harness.Server{}
	for _, im := range []harness.Impl{want, got} {
		srv, err := harness.Start(c, im, serveAssets(t), be.Port)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Stop()
		srvs[im.Name] = srv
	}
	// Scripts whose stream WINDOW_UPDATEs are compared by their total:
	// nginx gives a relayed body's window back as its socket reads ended
	// (+65500 +36 where a read split a frame).
	sums := map[string]bool{"unbuffered body": true}
	run := func(port int, script func(*h2Flow), sum bool) []string {
		f, err := h2FlowDial(port)
		if err != nil {
			return []string{"dial: " + err.Error()}
		}
		script(f)
		if sum {
			return sumWindowUpdates(f.finish())
		}
		return f.finish()
	}
	for _, s := range scripts {
		a, b := atOnce(func() []string { return run(srvs[want.Name].Port, s.run, sums[s.name]) },
			func() []string { return run(srvs[got.Name].Port, s.run, sums[s.name]) })
		if d := cmp.Diff(a, b); d != "" {
			t.Errorf("%s: %s vs %s (-want +got):\n%s", s.name, want.Name, got.Name, d)
		} else if testing.Verbose() {
			t.Logf("%s: %q", s.name, a)
		}
	}
}

// sumWindowUpdates makes each run of a stream's WINDOW_UPDATE lines
// ("WINDOW_UPDATE stream=1 +65536", "... ×3") one line with their total.
func sumWindowUpdates(in []string) []string {
	var out []string
	stream, total := "", int64(0)
	flush := func() {
		if stream != "" {
			out = append(out, fmt.Sprintf("WINDOW_UPDATE %s total +%d", stream, total))
		}
		stream, total = "", 0
	}
	for _, l := range in {
		var st string
		var inc, times int64 = 0, 1
		if n, _ := fmt.Sscanf(l, "WINDOW_UPDATE %s +%d ×%d", &st, &inc, &times); n < 2 || st == "stream=0" {
			flush()
			out = append(out, l)
			continue
		}
		if st != stream {
			flush()
			stream = st
		}
		total += inc * times
	}
	flush()
	return out
}
