package http1

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// trickleInto writes first at once, then parts in order, each after pause, and stops at the
// first write that fails (the server closed); done is closed when it returns.
func trickleInto(w net.Conn, first string, pause time.Duration, parts []string) (done chan struct{}) {
	done = make(chan struct{})
	go func() {
		defer close(done)
		if first != "" {
			if _, err := io.WriteString(w, first); err != nil {
				return
			}
		}
		for _, p := range parts {
			time.Sleep(pause)
			if _, err := io.WriteString(w, p); err != nil {
				return
			}
		}
	}()
	return done
}

func bytesOf(s string) []string {
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i : i+1]
	}
	return out
}

// The outcome of each case is an error kind, never a duration: the pauses are chosen so that a
// per-read timer would let the request through and a whole-head timer cannot.
func TestReadTimeouts(t *testing.T) {
	const head = "GET /x HTTP/1.1\r\nHost: a\r\nX-Trickle: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"
	headParts := []string{head[:14], head[14:28], head[28:42], head[42:56], head[56:70], head[70:]}
	tests := []struct {
		name string
		// first is sent at once (a complete request answered before the rest, or the head's
		// start), then parts trickle with pause between them.
		first string
		parts []string
		pause time.Duration
		setup func(c *Conn)
		// requests is how many ReadRequest calls are made; body reads the last one's body.
		requests int
		body     bool
		want     string
	}{
		// The head's first part is sent at once and the rest in five parts 400 ms apart (2 s
		// in all, past a 1 s timer; no read waits longer than a pause). The first byte must be
		// in before the timer ends, or the outcome is the wait for a request's: with the head
		// trickled a byte each 10 ms from the start and a 150 ms timer, -race under load got
		// "idle timeout" 2 times in 90 runs (the trickler's first write came that late).
		{name: "head trickled past client_header_timeout", first: headParts[0], parts: headParts[1:], pause: 400 * time.Millisecond,
			setup: func(c *Conn) { c.HeaderTimeout = time.Second }, requests: 1, want: "request timeout"},
		{name: "head within client_header_timeout", parts: []string{head}, pause: 0,
			setup: func(c *Conn) { c.HeaderTimeout = 5 * time.Second }, requests: 1, want: "ok"},
		{name: "deadline from accept", first: headParts[0], parts: headParts[1:], pause: 400 * time.Millisecond,
			setup: func(c *Conn) { c.HeaderDeadline = time.Now().Add(time.Second) }, requests: 1, want: "request timeout"},
		{name: "keepalive request trickled", first: "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n", parts: bytesOf(head), pause: 10 * time.Millisecond,
			setup: func(c *Conn) { c.HeaderTimeout, c.IdleTimeout = 150*time.Millisecond, 5*time.Second }, requests: 2, want: "request timeout"},
		{name: "keepalive idle", first: "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n", parts: []string{head}, pause: time.Second,
			setup: func(c *Conn) { c.HeaderTimeout, c.IdleTimeout = 5*time.Second, 50*time.Millisecond }, requests: 2, want: "idle timeout"},
		// The body takes at least 3 pauses (1.8 s, past a whole-body timer of 1.5 s) and each
		// read waits one pause: a loaded machine may delay a write by 900 ms before a per-read
		// timer fires (with 10 ms pauses and a 150 ms timer, -race under load failed 1 in 4).
		{name: "body trickled between reads", first: "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 30\r\n\r\n",
			parts: []string{"0123456789", "0123456789", "0123456789"}, pause: 600 * time.Millisecond,
			setup: func(c *Conn) { c.HeaderTimeout, c.ReadTimeout = 5*time.Second, 1500*time.Millisecond }, requests: 1, body: true, want: "ok"},
		{name: "body stalls", first: "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 30\r\n\r\n0123",
			parts: []string{"4567"}, pause: time.Second,
			setup: func(c *Conn) { c.HeaderTimeout, c.ReadTimeout = 5*time.Second, 50*time.Millisecond }, requests: 1, body: true, want: "request timeout"},
	}
	for _, tc := range tests {
		// Over a pipe (the net.Conn's own reads) and a socket (raw reads).
		for _, transport := range []string{"pipe", "tcp"} {
			t.Run(tc.name+"/"+transport, func(t *testing.T) {
				t.Parallel() // the cases mostly wait: together they take the longest one's time
				srv, cli := net.Pipe()
				if transport == "tcp" {
					srv, cli = socketPair(t, "tcp")
				}
				defer cli.Close()
				c := NewConn(srv, &ConnInfo{})
				tc.setup(c)
				done := trickleInto(cli, tc.first, tc.pause, tc.parts)
				var err error
				for i := 0; i < tc.requests && err == nil; i++ {
					_, err = c.ReadRequest()
				}
				if err == nil && tc.body {
					_, err = io.ReadAll(c.Body())
				}
				got := "ok"
				switch {
				case errors.Is(err, ErrRequestTimeout):
					got = "request timeout"
				case errors.Is(err, os.ErrDeadlineExceeded):
					got = "idle timeout"
				case err != nil:
					got = err.Error()
				}
				c.Close()
				<-done
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			})
		}
	}
}

// failingConn accepts limit bytes of writes, then fails every write (a send_timeout).
type failingConn struct {
	fakeConn
	limit int
}

func (f *failingConn) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n := f.limit
		f.limit = 0
		f.out.Write(p[:n])
		return n, os.ErrDeadlineExceeded
	}
	f.limit -= len(p)
	return f.out.Write(p)
}

// After a write fails the response is cut: nothing more goes out on the connection (a later
// write would splice bytes into the middle of the body) and it is not kept alive.
func TestWriteErrorIsSticky(t *testing.T) {
	fc := &failingConn{fakeConn: fakeConn{in: []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")}, limit: 100}
	c := NewConn(fc, &ConnInfo{})
	if _, err := c.ReadRequest(); err != nil {
		t.Fatal(err)
	}
	c.WriteHeader(&Response{Status: 200, ContentLength: 1 << 20, LastModified: -1})
	big := make([]byte, 64<<10)
	_, err1 := c.Write(big)
	fc.limit = 1 << 30 // the client reads again
	_, err2 := c.Write(big)
	err3 := c.Finish()
	got := []any{errors.Is(err1, os.ErrDeadlineExceeded), errors.Is(err2, os.ErrDeadlineExceeded),
		errors.Is(err3, os.ErrDeadlineExceeded), fc.out.Len(), c.KeepAlive()}
	if d := cmp.Diff([]any{true, true, true, 100, false}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
