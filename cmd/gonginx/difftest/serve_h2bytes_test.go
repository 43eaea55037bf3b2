package difftest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// $bytes_sent over HTTP/2 is nginx's stream counter: every frame the
// stream sent, its 9-byte header and payload (HEADERS with its
// CONTINUATIONs, each DATA); $body_bytes_sent leaves out the HEADERS and
// the DATA frames' headers; $request_length is the request's HEADERS
// payload and the body's DATA. The counts follow the frames, so the
// frames are compared too: the response head's HPACK coding field by
// field (nginx's: its own fields with indexed names, the others literal
// names, Huffman when shorter) and the DATA frames' sizes. The values
// that differ between runs (date, server, last-modified, etag) are
// compared by their coding, not their bytes, and the log's counts as
// what they are beyond the frames the client got.
func TestServeH2BytesSent(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "h2 bytes sent", Config: `log_format bytes '$request $status $bytes_sent $body_bytes_sent $request_length';
server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    access_log logs/bytes.log bytes;
    root html;
    error_page 404 502 /error.html;
    location /r { return 200 "ok\n"; }
    location /empty { return 204; }
    location /up/ { proxy_pass http://{{BACKEND}}/; }
    location /chunk/ { http2_chunk_size 1k; proxy_pass http://{{BACKEND}}/; }
    location /gz/ { gzip on; gzip_min_length 0; gzip_proxied any; gzip_vary on; proxy_pass http://{{BACKEND}}/; }
    location /hdr/ { add_header X-Added "some value"; add_header Cache-Control no-cache; proxy_pass http://{{BACKEND}}/; }
    location /rd/ { proxy_pass http://{{BACKEND}}/; proxy_redirect ~^/(.*) https://example.com/$1; }
    location /off/ { server_tokens off; proxy_pass http://{{BACKEND}}/; }
}
`, Content: map[string]string{"html/index.html": "<p>index</p>\n", "html/error.html": "<p>error</p>\n",
		"html/big.txt": strings.Repeat("0123456789abcdef", 10000), "logs/.keep": ""}}
	// exact: the DATA frames' sizes are compared; else (a large proxied
	// body, framed as nginx's event pipe read it) their sum and whether
	// the end came alone.
	reqs := []struct {
		method, path, body string
		exact              bool
	}{
		{"GET", "/r", "", true},
		{"GET", "/empty", "", true},
		{"GET", "/index.html", "", true},
		{"GET", "/big.txt", "", true},
		{"HEAD", "/index.html", "", true},
		{"GET", "/missing", "", true},
		{"GET", "/up/made?n=100", "", true},
		{"GET", "/up/made?n=100000", "", false},
		{"GET", "/up/made?n=50000&chunked=1", "", false},
		{"GET", "/up/made?n=10&hn=3000", "", true},
		{"GET", "/up/made?n=10&hn=20000", "", true},
		// A Location the proxy rewrote is nginx's own field, another
		// the backend's.
		{"GET", "/up/made?status=302&h=Location:+/somewhere", "", true},
		{"GET", "/rd/made?status=302&h=Location:+/somewhere", "", true},
		{"GET", "/chunk/made?n=5000", "", true},
		{"GET", "/gz/made?n=70000", "", false},
		{"GET", "/hdr/made?n=10&h=Last-Modified:+Tue,+02+Jan+2024+03:04:05+GMT&h=X-Up:+1", "", true},
		{"GET", "/off/made?n=10", "", true},
		{"POST", "/up/post", "hello=world", true},
	}
	run := func(im harness.Impl) []string {
		be, err := harness.StartBackend()
		if err != nil {
			return []string{"backend: " + err.Error()}
		}
		defer be.Close()
		srv, err := harness.Start(c, im, serveAssets(t), be.Port)
		if err != nil {
			return []string{"start: " + err.Error()}
		}
		var out, logged []string
		wire := map[string]int{}
		for _, r := range reqs {
			s, n := h2FrameList(h2Dialer(srv.Port, false), r.method, r.path, r.body, r.exact)
			out, wire[r.method+" "+r.path] = append(out, r.method+" "+r.path+": "+s), n
		}
		_, files := srv.StopReading([]string{"logs/bytes.log"})
		for _, l := range strings.Split(strings.TrimSpace(files["logs/bytes.log"]), "\n") {
			f := strings.Fields(l)
			n, ok := 0, false
			if len(f) >= 5 {
				n, ok = wire[f[0]+" "+f[1]]
			}
			if !ok {
				logged = append(logged, "log: "+l)
				continue
			}
			// $bytes_sent as what it is beyond the frames the client got.
			sent, _ := strconv.Atoi(f[len(f)-3])
			f[len(f)-3] = fmt.Sprintf("wire%+d", sent-n)
			logged = append(logged, "log: "+strings.Join(f, " "))
		}
		// In the order of the requests: a stream's line may be written
		// after its client got the end and asked the next.
		sort.Strings(logged)
		return append(out, logged...)
	}
	a, b := atOnce(func() []string { return run(want) }, func() []string { return run(got) })
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("nginx vs gonginx (-nginx +gonginx):\n%s", diff)
	}
}

// h2FrameList sends one request on a connection of its own with wide
// windows and describes the response's frames: the head's fields as
// coded (its length less the values that vary), the DATA frames' sizes
// (runs as "N*size"; with exact false their sum and whether the end came
// in a frame of its own), how the stream ended; and the bytes its
// HEADERS, CONTINUATION and DATA frames took on the wire.
func h2FrameList(dial func() (net.Conn, error), method, path, body string, exact bool) (string, int) {
	conn, err := dial()
	if err != nil {
		return "dial: " + err.Error(), 0
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fr := http2.NewFramer(conn, conn)
	io.WriteString(conn, http2.ClientPreface)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
	fr.WriteWindowUpdate(0, 1<<30)
	var blk bytes.Buffer
	enc := hpack.NewEncoder(&blk)
	for _, f := range [][2]string{{":method", method}, {":scheme", "http"}, {":path", path}, {":authority", "localhost"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk.Bytes(), EndStream: body == "", EndHeaders: true})
	if body != "" {
		fr.WriteData(1, true, []byte(body))
	}
	var fields, sizes []string
	wire, last, run, total := 0, -1, 0, 0
	flush := func() {
		if !exact {
			sizes = []string{fmt.Sprintf("%d bytes, end alone %v", total, last == 0)}
		} else if run > 0 {
			sizes = append(sizes, fmt.Sprintf("%d*%d", run, last))
		}
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			flush()
			return fmt.Sprintf("%s; DATA %v; then %v", strings.Join(fields, ", "), sizes, err), wire
		}
		h := f.Header()
		if h.StreamID != 1 {
			if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
				fr.WriteSettingsAck()
			}
			continue
		}
		end := false
		switch f := f.(type) {
		case *http2.HeadersFrame:
			wire += 9 + int(h.Length)
			fs, varies := hpackFields(f.HeaderBlockFragment())
			fields = append(append(fields, fmt.Sprintf("HEADERS %d", int(h.Length)-varies)), fs...)
			end = f.StreamEnded()
		case *http2.ContinuationFrame:
			wire += 9 + int(h.Length)
			fs, varies := hpackFields(f.HeaderBlockFragment())
			fields = append(append(fields, fmt.Sprintf("CONTINUATION %d", int(h.Length)-varies)), fs...)
		case *http2.DataFrame:
			wire += 9 + int(h.Length)
			total += len(f.Data())
			if n := len(f.Data()); n != last {
				flush()
				last, run = n, 0
			}
			run++
			end = f.StreamEnded()
		case *http2.RSTStreamFrame:
			flush()
			return fmt.Sprintf("%s; DATA %v; RST_STREAM %v", strings.Join(fields, ", "), sizes, f.ErrCode), wire
		}
		if end {
			flush()
			return fmt.Sprintf("%s; DATA %v", strings.Join(fields, ", "), sizes), wire
		}
	}
}

// hpackFields walks a header block (one fragment, as the servers send
// with the default frame size when it fits) and writes each field's
// representation: "0x61" and the like for the first byte of a field with
// an indexed name, the name when literal, each string's length and "h"
// when Huffman-coded, the value unless it varies between runs (the
// date, the server's token, a file's time); varies is how many bytes
// those values took.
func hpackFields(b []byte) (out []string, varies int) {
	size := 0 // the last string's, with its length
	integer := func(prefix uint) (uint64, bool) {
		if len(b) == 0 {
			return 0, false
		}
		k := uint64(1)<<prefix - 1
		v := uint64(b[0]) & k
		b = b[1:]
		if v < k {
			return v, true
		}
		for m := uint(0); len(b) > 0; m += 7 {
			c := b[0]
			b = b[1:]
			v += uint64(c&0x7f) << m
			if c&0x80 == 0 {
				return v, true
			}
		}
		return 0, false
	}
	str := func() (string, string, bool) {
		size = len(b)
		if len(b) == 0 {
			return "", "", false
		}
		huff := b[0]&0x80 != 0
		n, ok := integer(7)
		if !ok || uint64(len(b)) < n {
			return "", "", false
		}
		raw := b[:n]
		b = b[n:]
		size -= len(b)
		coding := strconv.Itoa(int(n))
		if huff {
			coding += "h"
			s, err := hpack.HuffmanDecodeToString(raw)
			return s, coding, err == nil
		}
		return string(raw), coding, true
	}
	for len(b) > 0 {
		first := b[0]
		var prefix uint
		switch {
		case first&0x80 != 0:
			i, _ := integer(7)
			out = append(out, fmt.Sprintf("indexed %d", i))
			continue
		case first&0xe0 == 0x20:
			n, _ := integer(5)
			out = append(out, fmt.Sprintf("table size %d", n))
			continue
		case first&0xc0 == 0x40:
			prefix = 6
		default:
			prefix = 4
		}
		idx, ok := integer(prefix)
		if !ok {
			return append(out, "bad block"), varies
		}
		field := fmt.Sprintf("%#x", first)
		name := ""
		if idx == 0 {
			n, coding, ok := str()
			if !ok {
				return append(out, "bad name"), varies
			}
			name, field = n, field+" "+n+"("+coding+")"
		} else if idx < 62 {
			name = staticNames[idx]
		}
		v, coding, ok := str()
		if !ok {
			return append(out, "bad value"), varies
		}
		switch name {
		case "date", "server", "last-modified", "etag":
			v, coding = "-", "varies"
			varies += size
		}
		out = append(out, field+": "+v+" ("+coding+")")
	}
	return out, varies
}

// staticNames is HPACK's static table's names the walk meets.
var staticNames = map[uint64]string{8: ":status", 28: "content-length", 31: "content-type", 33: "date",
	34: "etag", 44: "last-modified", 46: "location", 54: "server", 59: "vary"}
