package server

import (
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReadReady: what the client did after its request makes nginx's
// read event ready (and a lingering close follow) or not.
func TestReadReady(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(c *net.TCPConn)
		want bool
	}{
		{"nothing", func(*net.TCPConn) {}, false},
		{"bytes", func(c *net.TCPConn) { c.Write([]byte("GET / HTTP/1.1\r\n")) }, true},
		{"end", func(c *net.TCPConn) { c.CloseWrite() }, true},
		{"reset", func(c *net.TCPConn) { c.SetLinger(0); c.Close() }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			cl, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			sv, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer sv.Close()
			tc.do(cl.(*net.TCPConn))
			got := readReady(sv)
			if tc.want {
				// Loopback delivers at once, but the test does not
				// count on it: a bounded wait for the arrival.
				for i := 0; i < 100 && !got; i++ {
					time.Sleep(10 * time.Millisecond)
					got = readReady(sv)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
