package location

import (
	"bytes"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
)

// writeFailed is a client stream whose write failed with err.
type writeFailed struct {
	http1.Stream
	err error
}

func (w writeFailed) WriteErr() error { return w.err }

// A client gone while a proxied response was relayed has one info line:
// the abort watch's, when it saw the hang-up first, and then no line for
// the failed write as well (nginx finalizes the request on the event
// that saw it first; its write is never tried).
func TestClientGoneLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	x := &exchange{c: writeFailed{err: syscall.ECONNRESET}, log: NewLogger(&buf)}
	x.logUpstreamError(fmt.Errorf("epoll_wait() reported that client prematurely closed connection: %w", upstream.ErrClientClosed))
	x.endSend()
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("%d lines, want 1:\n%s", n, buf.String())
	}
}
