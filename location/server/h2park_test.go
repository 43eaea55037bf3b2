package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http2"
	"github.com/google/go-cmp/cmp"
	xhttp2 "golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Client is an HTTP/2 client connection whose HPACK encoder indexes
// its fields, so a later request refers to the server's dynamic table.
type h2Client struct {
	c     net.Conn
	fr    *xhttp2.Framer
	enc   *hpack.Encoder
	block bytes.Buffer
	next  uint32
}

// h2Listen is a listen directive for tls (ssl http2) or h2c (http2).
func h2Listen(t *testing.T, tlsOn bool) string {
	if !tlsOn {
		return "listen 127.0.0.1:PORT http2;"
	}
	dir, err := filepath.Abs("../../examples/article")
	if err != nil {
		t.Fatal(err)
	}
	return "listen 127.0.0.1:PORT ssl http2; ssl_certificate " + dir + "/cert.pem; ssl_certificate_key " + dir + "/key.pem;"
}

// splitWrites is a client socket whose writes arrive in two parts, the
// second after a pause: a TLS record reaches the server in pieces.
type splitWrites struct{ net.Conn }

func (s splitWrites) Write(p []byte) (int, error) {
	if len(p) < 4 {
		return s.Conn.Write(p)
	}
	n, err := s.Conn.Write(p[:3])
	if err != nil {
		return n, err
	}
	time.Sleep(50 * time.Millisecond)
	m, err := s.Conn.Write(p[3:])
	return n + m, err
}

func dialH2(t *testing.T, addr string, tlsOn, split bool) *h2Client {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	raw.SetDeadline(time.Now().Add(20 * time.Second))
	c := raw
	if split {
		c = splitWrites{raw}
	}
	if tlsOn {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c = tc
	}
	h := &h2Client{c: c, fr: xhttp2.NewFramer(c, c), next: 1}
	h.enc = hpack.NewEncoder(&h.block)
	io.WriteString(c, http2.ClientPreface)
	h.fr.WriteSettings()
	return h
}

// get sends GET path and reads its response: status and body.
func (h *h2Client) get(t *testing.T, path string) (string, string) {
	t.Helper()
	id := h.next
	h.next += 2
	h.block.Reset()
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", path}, {":authority", "t"}, {"x-test", "indexed"}} {
		h.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := h.fr.WriteHeaders(xhttp2.HeadersFrameParam{StreamID: id, BlockFragment: h.block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	dec := hpack.NewDecoder(4096, nil)
	status, body := "", ""
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			t.Fatalf("stream %d: %v", id, err)
		}
		switch f := f.(type) {
		case *xhttp2.SettingsFrame:
			if !f.IsAck() {
				h.fr.WriteSettingsAck()
			}
		case *xhttp2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			for _, hf := range fields {
				if hf.Name == ":status" {
					status = hf.Value
				}
			}
		case *xhttp2.DataFrame:
			body += string(f.Data())
		case *xhttp2.GoAwayFrame, *xhttp2.RSTStreamFrame:
			t.Fatalf("stream %d: %v", id, f)
		}
		if f.Header().StreamID == id && f.Header().Flags.Has(xhttp2.FlagDataEndStream) {
			return status, body
		}
	}
}

// ping sends a PING and waits for its ACK.
func (h *h2Client) ping(t *testing.T) {
	t.Helper()
	data := [8]byte{'p', 'a', 'r', 'k', 'e', 'd'}
	h.fr.WritePing(false, data)
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := f.(*xhttp2.PingFrame); ok && p.IsAck() && p.Data == data {
			return
		}
	}
}

// untilEnd reads frames until the server closes: the GOAWAY's code and
// last stream (GOAWAY "none" when there was none), and the read's end.
func (h *h2Client) untilEnd(t *testing.T) (string, error) {
	t.Helper()
	got := "none"
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			return got, err
		}
		if g, ok := f.(*xhttp2.GoAwayFrame); ok {
			got = g.ErrCode.String() + " last " + strconv.FormatUint(uint64(g.LastStreamID), 10)
		}
	}
}

// TestH2IdleParks: an idle HTTP/2 connection parks (no goroutine reads
// it) and, woken by its next frames, answers them with the connection's
// state as it was: the HPACK table its next request's indexed fields
// refer to, its stream numbers; a PING is answered and the connection
// parks again; a TLS record that arrives in parts is read whole.
func TestH2IdleParks(t *testing.T) {
	for _, mode := range []string{"h2c", "h2", "h2-split"} {
		t.Run(mode, func(t *testing.T) {
			tlsOn := mode != "h2c"
			ts := startTest(t, `server { `+h2Listen(t, tlsOn)+` location / { return 200 "ok $request_uri $http_x_test"; } }`)
			h := dialH2(t, ts.addr, tlsOn, mode == "h2-split")
			parked := func() bool { st := ts.srv.idleState(); return st.H2Parked == 1 && st.H2Buffers == 0 }
			var got []string
			for i, path := range []string{"/a", "/b", "/c"} {
				if i == 2 {
					h.ping(t)
					if !waitFor(parked) {
						t.Fatalf("not parked after a PING: %+v", ts.srv.idleState())
					}
				}
				status, body := h.get(t, path)
				got = append(got, status+" "+body)
				if !waitFor(parked) {
					t.Fatalf("not parked after %s: %+v", path, ts.srv.idleState())
				}
			}
			want := []string{"200 ok /a indexed", "200 ok /b indexed", "200 ok /c indexed"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("responses (-want +got):\n%s", diff)
			}
		})
	}
}

// TestH2ParkedIdleTimeout: keepalive_timeout ends a parked connection
// with GOAWAY (NO_ERROR), as nginx's idle handler finalizes it.
func TestH2ParkedIdleTimeout(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		ts := startTest(t, `keepalive_timeout 1s; server { `+h2Listen(t, tlsOn)+` location / { return 200 "ok"; } }`)
		h := dialH2(t, ts.addr, tlsOn, false)
		if status, _ := h.get(t, "/"); status != "200" {
			t.Fatalf("status %s", status)
		}
		if !waitFor(func() bool { return ts.srv.idleState().H2Parked == 1 }) {
			t.Fatalf("not parked: %+v", ts.srv.idleState())
		}
		goaway, err := h.untilEnd(t)
		if goaway != "NO_ERROR last 1" || !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
			t.Errorf("tls %v: %s, %v", tlsOn, goaway, err)
		}
		if !waitFor(func() bool { return ts.srv.idleState().Conns == 0 }) {
			t.Fatalf("connection kept: %+v", ts.srv.idleState())
		}
	}
}

// TestH2ShutdownParked: a graceful stop says GOAWAY to a parked
// connection and closes it, and ends without waiting for
// keepalive_timeout.
func TestH2ShutdownParked(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		ts := startTest(t, `server { `+h2Listen(t, tlsOn)+` location / { return 200 "ok"; } }`)
		h := dialH2(t, ts.addr, tlsOn, false)
		h.get(t, "/")
		if !waitFor(func() bool { return ts.srv.idleState().H2Parked == 1 }) {
			t.Fatalf("not parked: %+v", ts.srv.idleState())
		}
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done <- ts.srv.Shutdown(ctx)
		}()
		// The server shuts its side after GOAWAY, then lingers until the
		// client closes (nginx's lingering close).
		goaway, _ := h.untilEnd(t)
		if goaway != "NO_ERROR last 1" {
			t.Errorf("tls %v: GOAWAY %s", tlsOn, goaway)
		}
		h.c.Close()
		if err := <-done; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	}
}

// TestH2FirstStreamWait: until its first stream a connection waits
// under client_header_timeout from accept, parked once it sent its
// preface, and ends as nginx 1.22 ends it (seen with the oracle): GOAWAY
// NO_ERROR, not at keepalive_timeout; one that never completed its
// preface gets GOAWAY PROTOCOL_ERROR (nginx's read handler timed out).
func TestH2FirstStreamWait(t *testing.T) {
	ts := startTest(t, `client_header_timeout 1s; keepalive_timeout 60s; server { `+h2Listen(t, false)+` location / { return 200 "ok"; } }`)
	tests := []struct {
		name, send string
		settings   bool
		want       string
	}{
		{"nothing", "", false, "PROTOCOL_ERROR last 0"},
		{"part of the preface", http2.ClientPreface[:10], false, "PROTOCOL_ERROR last 0"},
		{"preface, no stream", http2.ClientPreface, true, "NO_ERROR last 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			h := &h2Client{c: c, fr: xhttp2.NewFramer(c, c)}
			io.WriteString(c, tt.send)
			if tt.settings {
				h.fr.WriteSettings()
				if !waitFor(func() bool { return ts.srv.idleState().H2Parked == 1 }) {
					t.Fatalf("not parked: %+v", ts.srv.idleState())
				}
			}
			if got, _ := h.untilEnd(t); got != tt.want {
				t.Errorf("GOAWAY %s, want %s", got, tt.want)
			}
		})
	}
}

// TestDrainReusableH2: an idle HTTP/2 connection (parked or not) is
// reusable, as nginx's: when worker_connections run short, the oldest
// says GOAWAY NO_ERROR and closes (nginx's idle handler finalizing it),
// and the new client is served.
func TestDrainReusableH2(t *testing.T) {
	srv, addr, _ := startReturningX(t, "warn", "worker_connections 4;", "", " http2", nil)
	defer srv.Close()
	a := dialH2(t, addr, false, false)
	a.get(t, "/")
	if !waitFor(func() bool { return srv.idleState().H2Parked == 1 }) {
		t.Fatalf("not parked: %+v", srv.idleState())
	}
	b := dialH2(t, addr, false, false)
	b.get(t, "/")
	c := dialH2(t, addr, false, false)
	c.get(t, "/")
	d := dialH2(t, addr, false, false)
	status, body := d.get(t, "/")
	goaway, _ := a.untilEnd(t)
	got := []string{"a " + goaway, "d " + status + " " + body}
	if st, _ := b.get(t, "/"); st != "200" {
		got = append(got, "b "+st)
	}
	want := []string{"a NO_ERROR last 1", "d 200 x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestH2PartialFrameAfterPark: a parked connection woken by part of a
// frame waits for the rest past its grace, under keepalive_timeout (it
// does not park with the part, nor lose the frame's bounds), as nginx
// keeps a partial frame; then it parks again.
func TestH2PartialFrameAfterPark(t *testing.T) {
	ts := startTest(t, `server { `+h2Listen(t, false)+` location / { return 200 "ok"; } }`)
	for _, cut := range []int{5, 12} {
		h := dialH2(t, ts.addr, false, false)
		h.get(t, "/")
		if !waitFor(func() bool { return ts.srv.idleState().H2Parked == 1 }) {
			t.Fatalf("not parked: %+v", ts.srv.idleState())
		}
		var ping bytes.Buffer
		xhttp2.NewFramer(&ping, nil).WritePing(false, [8]byte{'p', 'a', 'r', 't'})
		h.c.Write(ping.Bytes()[:cut])
		time.Sleep(300 * time.Millisecond) // past the grace
		h.c.Write(ping.Bytes()[cut:])
		for {
			f, err := h.fr.ReadFrame()
			if err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
			if p, ok := f.(*xhttp2.PingFrame); ok && p.IsAck() {
				if p.Data != [8]byte{'p', 'a', 'r', 't'} {
					t.Fatalf("cut %d: PING ACK %q", cut, p.Data)
				}
				break
			}
		}
		if !waitFor(func() bool { return ts.srv.idleState().H2Parked == 1 }) {
			t.Fatalf("cut %d: not parked again: %+v", cut, ts.srv.idleState())
		}
		h.c.Close()
		waitFor(func() bool { return ts.srv.idleState().Conns == 0 })
	}
}
