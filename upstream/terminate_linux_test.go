package upstream

import (
	"io"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTerminateRequests: worker_shutdown_timeout's end terminates a
// request awaiting its backend as nginx's shutdown timer does: the
// backend connection closes at once, the request ends with 499 and
// nothing is logged for it (a client's own hang-up logs its info line).
func TestTerminateRequests(t *testing.T) {
	b := newHoldingBackend(t)
	ps := newProxyServer(t, "", "proxy_pass http://"+b.ln.Addr().String()+";", "/")
	ps.served = make(chan int, 4)
	lines := &logLines{}
	ps.log = lines
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET /x HTTP/1.1\r\nHost: h\r\n\r\n"))
	waitFor(t, b.heads, "request at the backend")
	TerminateRequests(func(int) bool { return true })
	got := []any{waitFor(t, b.closed, "backend close"), waitFor(t, ps.served, "Serve status"), lines.lines()}
	want := []any{io.EOF, 499, []string(nil)}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
