package difftest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The third attack audit, HTTP/2 at the frame level: floods and protocol violations (RFC 9113
// section 5 and 6) written frame by frame to nginx and gonginx on one cleartext listener; what
// each answers is compared frame by frame (type, stream, flags, error code, :status, how many
// body bytes), up to the connection's end or a quiet second.

// h2Script writes one connection's frames; fr is already past the preface and the client's
// SETTINGS; pause sends what was written and waits a fifth of a second (for an answer nginx
// writes before it reads on).
type h2Script func(fr *http2.Framer, enc func(fields ...string) []byte, pause func())

func h2Headers(id uint32, block []byte, end bool) http2.HeadersFrameParam {
	return http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: end, EndHeaders: true}
}

// h2Exchange runs script on a fresh connection to port and returns what came back.
func h2Exchange(port int, script h2Script) []string {
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return []string{"dial: " + err.Error()}
	}
	defer conn.Close()
	bw := bufio.NewWriterSize(conn, 1<<16)
	fr := http2.NewFramer(bw, bufio.NewReader(conn))
	fr.AllowIllegalWrites = true // the scripts break the rules on purpose
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = 1 << 20
	bw.WriteString(http2.ClientPreface)
	fr.WriteSettings()
	var block bytes.Buffer
	henc := hpack.NewEncoder(&block)
	enc := func(fields ...string) []byte {
		block.Reset()
		for i := 0; i+1 < len(fields); i += 2 {
			henc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
		}
		return append([]byte(nil), block.Bytes()...)
	}
	done := make(chan []string)
	go func() {
		var out []string
		data := map[uint32]int{}
		flush := func() {
			for id, n := range data {
				out = append(out, fmt.Sprintf("DATA stream=%d bytes=%d", id, n))
			}
			clear(data)
		}
		for {
			conn.SetReadDeadline(time.Now().Add(time.Second))
			f, err := fr.ReadFrame()
			if err != nil {
				flush()
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					out = append(out, "quiet")
				} else {
					out = append(out, "closed")
				}
				done <- out
				return
			}
			switch f := f.(type) {
			case *http2.DataFrame:
				data[f.StreamID] += len(f.Data())
				if f.StreamEnded() {
					out = append(out, fmt.Sprintf("DATA stream=%d bytes=%d END_STREAM", f.StreamID, data[f.StreamID]))
					delete(data, f.StreamID)
				}
				continue
			case *http2.MetaHeadersFrame:
				flush()
				out = append(out, fmt.Sprintf("HEADERS stream=%d status=%s end=%v", f.StreamID, f.PseudoValue("status"), f.StreamEnded()))
			case *http2.RSTStreamFrame:
				flush()
				out = append(out, fmt.Sprintf("RST_STREAM stream=%d %v", f.StreamID, f.ErrCode))
			case *http2.GoAwayFrame:
				flush()
				out = append(out, fmt.Sprintf("GOAWAY last=%d %v", f.LastStreamID, f.ErrCode))
			case *http2.SettingsFrame:
				if f.IsAck() {
					out = append(out, "SETTINGS ACK")
				} else {
					var s []string
					f.ForeachSetting(func(st http2.Setting) error { s = append(s, st.String()); return nil })
					out = append(out, "SETTINGS "+strings.Join(s, " "))
				}
			case *http2.PingFrame:
				out = append(out, fmt.Sprintf("PING ack=%v", f.IsAck()))
			case *http2.WindowUpdateFrame:
				// Window updates follow what each server read when: not compared.
			default:
				out = append(out, fmt.Sprintf("%v stream=%d", f.Header().Type, f.Header().StreamID))
			}
		}
	}()
	script(fr, enc, func() { bw.Flush(); time.Sleep(200 * time.Millisecond) })
	bw.Flush()
	out := <-done
	return compactRepeats(out)
}

// compactRepeats writes runs of one line as "line ×N" (PING and SETTINGS ACK floods).
func compactRepeats(in []string) []string {
	var out []string
	for i := 0; i < len(in); {
		j := i
		for j < len(in) && in[j] == in[i] {
			j++
		}
		if j-i > 1 {
			out = append(out, fmt.Sprintf("%s ×%d", in[i], j-i))
		} else {
			out = append(out, in[i])
		}
		i = j
	}
	return out
}

func TestServeAttack3H2Frames(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	be, err := harness.StartBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	c := harness.Case{Name: "h2 frames", Config: `server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    location / { return 200 "ok\n"; }
    location /p/ { proxy_pass http://{{BACKEND}}/; }
}
`}
	get := func(path string) []string {
		return []string{":method", "GET", ":scheme", "http", ":path", path, ":authority", "localhost"}
	}
	post := func(path string) []string {
		return []string{":method", "POST", ":scheme", "http", ":path", path, ":authority", "localhost"}
	}
	scripts := []struct {
		name string
		run  h2Script
	}{
		{"a plain GET", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, enc(get("/")...), true))
		}},
		{"1000 PINGs", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			for i := 0; i < 1000; i++ {
				fr.WritePing(false, [8]byte{byte(i)})
			}
		}},
		{"1000 SETTINGS", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			for i := 0; i < 1000; i++ {
				fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(65535 + i)})
			}
		}},
		{"SETTINGS initial window over 2^31-1", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
		}},
		{"SETTINGS max frame size under 16384", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 100})
		}},
		{"SETTINGS max frame size over 2^24-1", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 24})
		}},
		{"SETTINGS enable push 2", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 2})
		}},
		{"SETTINGS unknown id", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteSettings(http2.Setting{ID: 0x99, Val: 7})
			fr.WriteHeaders(h2Headers(1, enc(get("/")...), true))
		}},
		{"SETTINGS ACK with a payload", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRawFrame(http2.FrameSettings, http2.FlagSettingsAck, 0, []byte{0, 4, 0, 0, 0, 1})
		}},
		{"SETTINGS on a stream", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRawFrame(http2.FrameSettings, 0, 1, nil)
		}},
		{"SETTINGS of 5 bytes", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRawFrame(http2.FrameSettings, 0, 0, []byte{0, 4, 0, 0, 1})
		}},
		{"PING on a stream", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRawFrame(http2.FramePing, 0, 1, make([]byte, 8))
		}},
		{"PING of 7 bytes", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRawFrame(http2.FramePing, 0, 0, make([]byte, 7))
		}},
		{"connection window overflow", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteWindowUpdate(0, 1<<31-1)
			fr.WriteWindowUpdate(0, 1<<31-1)
		}},
		{"stream window overflow", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, enc(get("/p/slow")...), true))
			fr.WriteWindowUpdate(1, 1<<31-1)
			fr.WriteWindowUpdate(1, 1<<31-1)
		}},
		{"stream window overflow, the response done at once", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			// nginx runs the handler as the HEADERS come: the stream is
			// closed (RST_STREAM NO_ERROR) before the updates are read.
			fr.WriteHeaders(h2Headers(1, enc(get("/")...), false))
			fr.WriteWindowUpdate(1, 1<<31-1)
			fr.WriteWindowUpdate(1, 1<<31-1)
		}},
		{"connection window increment 0", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRawFrame(http2.FrameWindowUpdate, 0, 0, []byte{0, 0, 0, 0})
		}},
		{"stream window increment 0", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, enc(get("/p/slow")...), true))
			fr.WriteRawFrame(http2.FrameWindowUpdate, 0, 1, []byte{0, 0, 0, 0})
		}},
		{"WINDOW_UPDATE on an idle stream", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteWindowUpdate(5, 100)
			fr.WriteHeaders(h2Headers(1, enc(get("/")...), true))
		}},
		{"HEADERS on stream 0", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, 0, enc(get("/")...))
		}},
		{"HEADERS on an even stream", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(2, enc(get("/")...), true))
		}},
		{"HEADERS on a lower stream", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(5, enc(get("/")...), true))
			pause()
			fr.WriteHeaders(h2Headers(3, enc(get("/")...), true))
		}},
		{"HEADERS on a closed stream", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, enc(get("/")...), true))
			pause()
			fr.WriteHeaders(h2Headers(1, enc(get("/")...), true))
		}},
		{"HEADERS depending on itself", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(get("/")...), EndStream: true, EndHeaders: true,
				Priority: http2.PriorityParam{StreamDep: 1, Weight: 15}})
		}},
		{"PRIORITY depending on itself", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WritePriority(3, http2.PriorityParam{StreamDep: 3})
			fr.WriteHeaders(h2Headers(1, enc(get("/")...), true))
		}},
		{"1000 PRIORITY frames", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			for i := 0; i < 1000; i++ {
				fr.WritePriority(uint32(2*i+3), http2.PriorityParam{StreamDep: uint32(2*i + 1), Weight: 200})
			}
			fr.WriteHeaders(h2Headers(1, enc(get("/")...), true))
		}},
		{"PRIORITY of 4 bytes", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRawFrame(http2.FramePriority, 0, 3, []byte{0, 0, 0, 1})
		}},
		{"DATA on an idle stream", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteData(1, true, []byte("x"))
		}},
		{"DATA on stream 0", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRawFrame(http2.FrameData, 0, 0, []byte("x"))
		}},
		{"DATA after END_STREAM", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, enc(get("/p/slow")...), true))
			fr.WriteData(1, true, []byte("x"))
		}},
		{"DATA after END_STREAM, the response done at once", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, enc(get("/")...), true))
			fr.WriteData(1, true, []byte("x"))
		}},
		{"1000 empty DATA frames", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, enc(post("/p/x")...), false))
			for i := 0; i < 1000; i++ {
				fr.WriteData(1, false, nil)
			}
			fr.WriteData(1, true, []byte("end"))
		}},
		{"DATA padding longer than the frame", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, enc(post("/p/x")...), false))
			fr.WriteRawFrame(http2.FrameData, http2.FlagDataPadded|http2.FlagDataEndStream, 1, []byte{10, 'a', 'b'})
		}},
		{"HEADERS padding longer than the frame", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			b := enc(get("/")...)
			fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersPadded|http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, 1,
				append([]byte{byte(len(b) + 5)}, b...))
		}},
		{"a frame over the max frame size", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, enc(post("/p/x")...), false))
			fr.WriteRawFrame(http2.FrameData, http2.FlagDataEndStream, 1, make([]byte, 16385))
		}},
		{"a body over the stream window", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, enc(post("/p/x")...), false))
			for i := 0; i < 5; i++ {
				fr.WriteData(1, false, make([]byte, 16384))
			}
			fr.WriteData(1, true, nil)
		}},
		{"CONTINUATION without HEADERS", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteContinuation(1, true, enc(get("/")...))
		}},
		{"CONTINUATION on another stream", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			b := enc(get("/")...)
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:3], EndStream: true})
			fr.WriteContinuation(3, true, b[3:])
		}},
		{"a PING between HEADERS and CONTINUATION", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			b := enc(get("/")...)
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:3], EndStream: true})
			fr.WritePing(false, [8]byte{})
			fr.WriteContinuation(1, true, b[3:])
		}},
		{"1000 empty CONTINUATION frames", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			b := enc(get("/")...)
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:3], EndStream: true})
			for i := 0; i < 1000; i++ {
				fr.WriteContinuation(1, false, nil)
			}
			fr.WriteContinuation(1, true, b[3:])
		}},
		{"CONTINUATION flood of headers", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(get("/")...), EndStream: true})
			for i := 0; i < 200; i++ {
				fr.WriteContinuation(1, false, enc(fmt.Sprintf("x-h%d", i), strings.Repeat("v", 1000)))
			}
			fr.WriteContinuation(1, true, nil)
		}},
		{"a header list over the limit in one HEADERS", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			f := get("/")
			for i := 0; i < 20; i++ {
				f = append(f, fmt.Sprintf("x-h%d", i), strings.Repeat("v", 1000))
			}
			b := enc(f...)
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:16000], EndStream: true})
			fr.WriteContinuation(1, true, b[16000:])
		}},
		{"HPACK table size update over the limit", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			// 0x3f e1 ff 03: a dynamic table size update to 65536.
			fr.WriteHeaders(h2Headers(1, append([]byte{0x3f, 0xe1, 0xff, 0x03}, enc(get("/")...)...), true))
		}},
		{"HPACK index out of the table", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, append(enc(get("/")...), 0xff, 0x7f), true))
		}},
		{"HPACK huffman garbage", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteHeaders(h2Headers(1, append(enc(get("/")...), 0x40, 0x81, 0xff, 0x81, 0xff), true))
		}},
		{"an unknown frame type", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRawFrame(0x42, 0xff, 1, []byte("whatever"))
			fr.WriteHeaders(h2Headers(1, enc(get("/")...), true))
		}},
		{"PUSH_PROMISE from the client", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRawFrame(http2.FramePushPromise, http2.FlagPushPromiseEndHeaders, 1, append([]byte{0, 0, 0, 2}, enc(get("/")...)...))
		}},
		{"RST_STREAM on an idle stream", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRSTStream(1, http2.ErrCodeCancel)
		}},
		{"RST_STREAM on stream 0", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteRSTStream(0, http2.ErrCodeCancel)
		}},
		{"GOAWAY from the client, then a request", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			fr.WriteGoAway(0, http2.ErrCodeNo, nil)
			fr.WriteHeaders(h2Headers(1, enc(get("/")...), true))
		}},
		{"130 streams open at once", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			for i := 0; i < 130; i++ {
				fr.WriteHeaders(h2Headers(uint32(2*i+1), enc(post("/p/x")...), false))
			}
		}},
		// Rapid reset past 128 streams is not compared: nginx frees a
		// reset stream at once, gonginx counts it until its handler
		// returns and refuses the streams past http2_max_concurrent_streams.
		{"120 streams, each reset at once", func(fr *http2.Framer, enc func(...string) []byte, pause func()) {
			for i := 0; i < 120; i++ {
				fr.WriteHeaders(h2Headers(uint32(2*i+1), enc(get("/p/slow")...), true))
				fr.WriteRSTStream(uint32(2*i+1), http2.ErrCodeCancel)
			}
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
	diffs := 0
	for _, s := range scripts {
		a, b := atOnce(func() []string { return h2Exchange(srvs[want.Name].Port, s.run) },
			func() []string { return h2Exchange(srvs[got.Name].Port, s.run) })
		if d := cmp.Diff(a, b); d != "" {
			diffs++
			t.Errorf("%s: %s vs %s (-want +got):\n%s", s.name, want.Name, got.Name, d)
		} else if testing.Verbose() {
			t.Logf("%s: %q", s.name, a)
		}
	}
	if diffs > 0 {
		t.Logf("%d of %d scripts differ", diffs, len(scripts))
	}
}
