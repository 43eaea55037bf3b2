package difftest

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// An HTTP/2 client that keeps its windows at 64 KB and reads nothing for
// a while: with proxy_buffering on, nginx reads the backend's 16 MB ahead
// into its buffers and then a temporary file (its warning names the
// file), so the backend has written all of it before the client reads a
// byte, and a kept connection is free for another request by then; the
// client then gets the whole body. gonginx spooled HTTP/1 clients only:
// an HTTP/2 stream held the backend back, and logged nothing. The same
// over TLS (listen ... ssl http2), and for a cache miss being stored
// (the file is the cache's, with no warning), which the next request
// then gets from the cache.
func TestServeH2ProxyTempFile(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	config := `server {
    listen 127.0.0.1:{{PORT}} LISTEN;
    server_name localhost;
    SSL
    error_log stderr warn;
    proxy_temp_path proxy_temp 1 2;
    location / { proxy_pass http://{{BACKEND}}/; }
    location /ka/ {
        proxy_pass http://ka/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /c/ {
        proxy_cache z;
        proxy_cache_valid 200 1m;
        proxy_pass http://{{BACKEND}}/;
    }
}
upstream ka { server {{BACKEND}}; keepalive 1; }
proxy_cache_path cache levels=1:2 keys_zone=z:1m;
`
	plain := harness.Case{Name: "h2 temp file", Content: map[string]string{"proxy_temp/.keep": ""},
		Config: strings.NewReplacer("LISTEN", "http2", "SSL", "").Replace(config)}
	tls := plain
	tls.Name, tls.Files = "h2 temp file tls", []string{"cert.pem", "key.pem"}
	tls.Config = strings.NewReplacer("LISTEN", "ssl http2", "SSL", "ssl_certificate {{CERT}}; ssl_certificate_key {{KEY}};").Replace(config)
	// The log lines' messages, without their time, pid and request; the
	// file's name without the server's prefix.
	msg := regexp.MustCompile(`\[(crit|error|warn)\] \d+#\d+: (\*\d+ )?([^,]*)`)
	tmp := regexp.MustCompile(`file \S*/proxy_temp/`)
	run := func(im harness.Impl, c harness.Case, path string) string {
		be, err := harness.StartBackend()
		if err != nil {
			return "backend: " + err.Error()
		}
		defer be.Close()
		srv, err := harness.Start(c, im, serveAssets(t), be.Port)
		if err != nil {
			return "start: " + err.Error()
		}
		dial := h2Dialer(srv.Port, c.Files != nil)
		end := slowH2(dial, path, be)
		var lines []string
		for _, m := range msg.FindAllStringSubmatch(srv.Stop(), -1) {
			if !strings.Contains(m[3], "epoll_wait") { // the stop's
				lines = append(lines, m[1]+": "+tmp.ReplaceAllString(m[3], "file proxy_temp/"))
			}
		}
		return end + "; log: " + strings.Join(lines, " | ")
	}
	for _, tt := range []struct {
		c    harness.Case
		path string
	}{
		{plain, "/made?n=16777216"}, {plain, "/ka/made?n=16777216"}, {plain, "/c/made?n=16777216"},
		{tls, "/made?n=16777216"}, {tls, "/ka/made?n=16777216"}, {tls, "/c/made?n=16777216"},
	} {
		t.Run(tt.c.Name+tt.path, func(t *testing.T) {
			a, b := atOnce(func() string { return run(want, tt.c, tt.path) }, func() string { return run(got, tt.c, tt.path) })
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("nginx vs gonginx (-nginx +gonginx):\n%s", diff)
			}
		})
	}
}

// h2Dialer connects to port on loopback, over TLS with ALPN h2 when
// useTLS (the certificate is not checked).
func h2Dialer(port int, useTLS bool) func() (net.Conn, error) {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if useTLS {
		return func() (net.Conn, error) {
			return tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", NextProtos: []string{"h2"}})
		}
	}
	return func() (net.Conn, error) { return net.Dial("tcp", addr) }
}

// slowH2 asks for path with the default 64 KB windows, reads nothing for
// 2 s and then until the backend has written its response whole or 20 s
// more have passed (a loaded machine's TLS server took more than 2 s for
// 16 MB), notes which (and, for /ka/, what a request on another
// connection is answered), then reads the response, opening the windows
// as it goes: the status, the body's length and digest. For /c/, the same
// asked again after (the cache's copy): its digest and the backend's
// request count.
func slowH2(dial func() (net.Conn, error), path string, be *harness.Backend) string {
	out := h2Read(dial, path, func() string {
		time.Sleep(2 * time.Second)
		out := fmt.Sprintf("backend done before the client read: %v; ", awaitBackendDone(be, 20*time.Second))
		if strings.HasPrefix(path, "/ka/") {
			// Whether the kept connection is free again by then.
			out += "meanwhile " + getH2(dial, "/ka/reqno") + "; "
		}
		return out
	}, true)
	if strings.HasPrefix(path, "/c/") {
		again := h2Read(dial, path, func() string { return "" }, true)
		heads, _ := be.Seen()
		out += fmt.Sprintf("; again: %s, backend requests %d", again, heads)
	}
	return out
}

// awaitBackendDone polls until be has written one response whole, for up
// to limit: whether it did.
func awaitBackendDone(be *harness.Backend, limit time.Duration) bool {
	for end := time.Now().Add(limit); ; time.Sleep(50 * time.Millisecond) {
		if _, whole := be.Seen(); whole == 1 || time.Now().After(end) {
			return whole == 1
		}
	}
}

// getH2 is path's body on a connection of its own.
func getH2(dial func() (net.Conn, error), path string) string {
	return h2Read(dial, path, func() string { return "" }, false)
}

// h2Get opens an HTTP/2 connection on conn and asks for path (a GET,
// stream 1). A window other than 0 is the client's, stream's and
// connection's alike, else they stay at 64 KB. The framer returned reads
// header blocks whole.
func h2Get(conn net.Conn, path string, window uint32) *http2.Framer {
	fr := http2.NewFramer(conn, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	io.WriteString(conn, http2.ClientPreface)
	if window != 0 {
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: window})
		fr.WriteWindowUpdate(0, window-65535)
	} else {
		fr.WriteSettings()
	}
	var blk bytes.Buffer
	enc := hpack.NewEncoder(&blk)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", path}, {":authority", "localhost"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk.Bytes(), EndStream: true, EndHeaders: true})
	return fr
}

// h2Read asks for path, calls before, and reads the response: the
// status and the body's length and digest (or, short, the body itself),
// after what before said.
func h2Read(dial func() (net.Conn, error), path string, before func() string, digest bool) string {
	conn, err := dial()
	if err != nil {
		return "dial: " + err.Error()
	}
	defer conn.Close()
	fr := h2Get(conn, path, 0)
	out := before()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	h := sha256.New()
	var body []byte
	status, n := "", 0
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return out + fmt.Sprintf("status %s, %d bytes, then %v", status, n, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			status = f.PseudoValue("status")
		case *http2.DataFrame:
			d := f.Data()
			h.Write(d)
			if !digest {
				body = append(body, d...)
			}
			n += len(d)
			if len(d) > 0 {
				fr.WriteWindowUpdate(0, uint32(len(d)))
				fr.WriteWindowUpdate(1, uint32(len(d)))
			}
			if f.StreamEnded() && !digest {
				return out + fmt.Sprintf("status %s, %q", status, body)
			}
			if f.StreamEnded() {
				return out + fmt.Sprintf("status %s, %d bytes, sha256 %s", status, n, hex.EncodeToString(h.Sum(nil))[:16])
			}
		case *http2.RSTStreamFrame:
			return out + fmt.Sprintf("status %s, %d bytes, then RST_STREAM %v", status, n, f.ErrCode)
		case *http2.GoAwayFrame:
			return out + fmt.Sprintf("status %s, %d bytes, then %v", status, n, f)
		}
	}
}
