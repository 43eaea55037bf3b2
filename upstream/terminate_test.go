package upstream

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type closeCount struct{ n int }

func (c *closeCount) Close() error { c.n++; return nil }

// A try no watch covers is ended by TerminateRequests when its client is
// among the stop's, once, and not when it is not.
func TestTerminateUnwatched(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	raw.Control(func(f uintptr) { fd = int(f) })
	type got struct {
		Closes     int
		Terminated bool
	}
	for _, tt := range []struct {
		name  string
		names bool
		want  got
	}{
		{"its client named", true, got{1, true}},
		{"another client", false, got{0, false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var u unwatchedTry
			backend := &closeCount{}
			u.begin(raw, backend)
			TerminateRequests(func(f int) bool { return tt.names && f == fd })
			TerminateRequests(func(f int) bool { return tt.names && f == fd })
			g := got{Terminated: u.end()}
			g.Closes = backend.n
			if diff := cmp.Diff(tt.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n := len(unwatchedTries.m); n != 0 {
				t.Errorf("%d tries still listed", n)
			}
		})
	}
}
