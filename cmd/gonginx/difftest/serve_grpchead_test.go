package difftest

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A gRPC backend of raw frames: it reads the request (up to its
// END_STREAM), then answers as the path says, each part in one write
// (a path ending in /fields: see echoH2Fields):
//
//	/ctl<C>-head<H>[-apart][-data<D>]
//
// control frames of C bytes (SETTINGS, PING, WINDOW_UPDATE, a SETTINGS
// padded with repeated entries), then, 300 ms later when apart, a
// HEADERS frame of H bytes (frame header included; :status 200 and an
// X-Pad header), then a DATA frame of D bytes with END_STREAM (4 without
// data<D>), in the HEADERS' write.
func startRawH2Backend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				rawH2Answer(nc)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func rawH2Answer(nc net.Conn) {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(nc, preface); err != nil {
		return
	}
	fr := http2.NewFramer(io.Discard, nc)
	// Fields are decoded here, not by the framer: it would refuse names
	// and values a loose server passes, and the echo shows them as sent.
	var fields []hpack.HeaderField
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) { fields = append(fields, f) })
	var path string
	var id uint32
	var body []byte
	for ended := false; !ended; {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			id, ended = f.StreamID, f.StreamEnded()
			if _, err := dec.Write(f.HeaderBlockFragment()); err != nil {
				return
			}
		case *http2.ContinuationFrame:
			if _, err := dec.Write(f.HeaderBlockFragment()); err != nil {
				return
			}
		case *http2.DataFrame:
			body = append(body, f.Data()...)
			ended = f.StreamEnded()
		}
	}
	for _, f := range fields {
		if f.Name == ":path" {
			path = f.Value
		}
	}
	if strings.HasSuffix(path, "/fields") {
		echoH2Fields(nc, id, fields, body)
		return
	}
	num := func(key string) int {
		i := strings.Index(path, key)
		if i < 0 {
			return -1
		}
		s := path[i+len(key):]
		if j := strings.IndexAny(s, "-/"); j >= 0 {
			s = s[:j]
		}
		n, _ := strconv.Atoi(s)
		return n
	}
	var out bytes.Buffer
	w := http2.NewFramer(&out, nil)
	// Control frames of ctl bytes: SETTINGS (one entry: 15), a PING
	// (17), a WINDOW_UPDATE (13), and a SETTINGS of repeated entries
	// taking the rest (9 + 6n: ctl is chosen to fit).
	if ctl := num("ctl"); ctl > 0 {
		w.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
		w.WritePing(false, [8]byte{1})
		w.WriteWindowUpdate(0, 1<<20)
		if rest := ctl - 15 - 17 - 13; rest >= 9 {
			var s []http2.Setting
			for range (rest - 9) / 6 {
				s = append(s, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
			}
			w.WriteSettings(s...)
		}
	}
	if strings.Contains(path, "-apart") {
		nc.Write(out.Bytes())
		out.Reset()
		time.Sleep(300 * time.Millisecond)
	}
	// The HEADERS frame: :status 200 (1 byte), X-Pad as a literal without
	// indexing, never Huffman coded (name 6, value with a 2- or 3-byte
	// length).
	head := num("head")
	var block []byte
	block = append(block, 0x88)
	pad := head - 9 - 1 - 1 - 1 - len("x-pad")
	vlen := pad - 1
	if vlen >= 127 {
		vlen = pad - 3
	}
	block = append(block, 0x00, 5)
	block = append(block, "x-pad"...)
	if vlen < 127 {
		block = append(block, byte(vlen))
	} else {
		block = append(block, 0x7f, byte((vlen-127)%128|0x80), byte((vlen-127)/128))
	}
	block = append(block, strings.Repeat("p", vlen)...)
	w.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndHeaders: true})
	data := "body"
	if d := num("data"); d > 0 {
		data = strings.Repeat("d", d-9)
	}
	w.WriteData(id, true, []byte(data))
	nc.Write(out.Bytes())
	// Wait for the proxy's close.
	io.Copy(io.Discard, nc)
}

// nginx reads a gRPC response's frames into grpc_buffer_size from its
// start again only when a read ends at a frame's end outside a header
// block: control frames that came with the head in one read count
// against the buffer too ("upstream sent too big header"), those read
// before it do not; DATA after a whole head does not.
func TestServeGRPCHeadWithFrames(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	addr := startRawH2Backend(t)
	c := serveProxyCase("grpc head read with other frames", `log_format h '$request $status';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr info;
    access_log logs/a.log h;
    location / { grpc_pass grpc://`+addr+`; }
}
`,
		plainGet("a 4000-byte HEADERS alone", "/ctl0-head4000"),
		plainGet("204 bytes of control frames with it", "/ctl204-head4000"),
		plainGet("the control frames read before it", "/ctl204-head4000-apart"),
		plainGet("control frames and HEADERS ending at the buffer's end", "/ctl204-head3892"),
		plainGet("a byte past the buffer", "/ctl204-head3893"),
		plainGet("DATA with a head that fills the buffer", "/ctl0-head4000-data3000"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.ErrorLog = true
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// echoH2Fields answers with the request's header fields as they came, in
// their order, and its body: a backend that refuses nothing, so what a
// proxy passes is seen whole (net/http's server rejects connection-specific
// fields with a 400 whose frames race its reset of the stream).
func echoH2Fields(nc net.Conn, id uint32, fields []hpack.HeaderField, body []byte) {
	var sb strings.Builder
	for _, f := range fields {
		sb.WriteString(strconv.Quote(f.Name) + ": " + strconv.Quote(f.Value) + "\n")
	}
	sb.WriteString("body=" + strconv.Quote(string(body)) + "\n")
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	enc.WriteField(hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
	var out bytes.Buffer
	w := http2.NewFramer(&out, nil)
	w.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true})
	w.WriteData(id, false, []byte(sb.String()))
	block.Reset()
	enc.WriteField(hpack.HeaderField{Name: "grpc-status", Value: "0"})
	w.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true, EndStream: true})
	nc.Write(out.Bytes())
	io.Copy(io.Discard, nc)
}
