package upstream

import (
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHangUpBeforeSend: a client that closes right after its request is
// seen gone before the request is sent (nginx handles the hang-up its
// event reported once it connected): the backend gets a connection and
// nothing on it, the request ends with 499 and the info line; with
// proxy_ignore_client_abort on, the request is sent.
func TestHangUpBeforeSend(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ignore bool
		lines  []string
	}{
		{name: "abort", lines: []string{"[info] epoll_wait() reported that client prematurely closed connection, " +
			"so upstream connection is closed too while connecting to upstream, upstream: http://ADDR/x"}},
		{name: "ignore client abort", ignore: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newHoldingBackend(t)
			loc := "proxy_pass http://" + b.ln.Addr().String() + ";"
			if tc.ignore {
				loc = "proxy_ignore_client_abort on; " + loc
			}
			ps := newProxyServer(t, "", loc, "/")
			ps.served = make(chan int, 4)
			lines := &logLines{}
			ps.log = lines
			c, err := net.Dial("tcp", ps.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			// Corked, the request and the FIN leave in one segment: the
			// hang-up is there when the request is read, as when nginx's
			// event reports both.
			raw, err := c.(*net.TCPConn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 1) })
			c.Write([]byte("GET /x HTTP/1.1\r\nHost: h\r\n\r\n"))
			c.Close()
			if tc.ignore {
				waitFor(t, b.heads, "request at the backend")
				b.answer <- heldResponse
				if diff := cmp.Diff(0, waitFor(t, ps.served, "Serve status")); diff != "" {
					t.Errorf("status (-want +got):\n%s", diff)
				}
			} else {
				if diff := cmp.Diff(io.EOF, waitFor(t, b.closed, "backend close"), cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
					t.Errorf("backend read, want nothing (-want +got):\n%s", diff)
				}
				select { // heads is told before closed
				case <-b.heads:
					t.Errorf("the request was sent")
				default:
				}
				if diff := cmp.Diff(499, waitFor(t, ps.served, "Serve status")); diff != "" {
					t.Errorf("status (-want +got):\n%s", diff)
				}
			}
			got := lines.lines()
			for i := range got {
				got[i] = strings.ReplaceAll(got[i], b.ln.Addr().String(), "ADDR")
			}
			if diff := cmp.Diff(tc.lines, got); diff != "" {
				t.Errorf("error lines (-want +got):\n%s", diff)
			}
		})
	}
}
