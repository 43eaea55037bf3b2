package http2

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
)

// response reads stream id's status and body (or its reset) from c.
func (c *rawClient) response(id uint32) string {
	var out string
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return out + "error " + err.Error()
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamID == id {
				out += "status " + f.PseudoValue("status") + "\n"
				if f.StreamEnded() {
					return out
				}
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				out += string(f.Data())
				if f.StreamEnded() {
					return out
				}
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return out + "reset " + f.ErrCode.String()
			}
		case *http2.GoAwayFrame:
			return out + "goaway " + f.ErrCode.String()
		}
	}
}

// TestSeenBlockSameRequest: a header block sent again (indexed fields
// alone, its fields taken as they were decoded before) makes the same
// request as its first time, a block after it or between its times
// changing the table or not, and a block that was refused, answered 400
// or dropped a field is not kept: the same answer each time.
func TestSeenBlockSameRequest(t *testing.T) {
	base := []string{":method", "GET", ":scheme", "http", ":path", "/a?b", ":authority", "x"}
	sets := [][]string{
		append(base, "user-agent", "u", "te", "trailers", "cookie", "a=1", "cookie", "b=2", "x-sp", " v w\t"),
		append(base, "user-agent", "u2", "content-length", "0"),
		append(base, "x_under", "1", "x.dot", "2"),
		{":method", "GET", ":scheme", "http", ":path", "/a", ":authority", "x", ":path", "/b"},
		{":method", "GET", ":scheme", "http", ":path", "/"},
		append(base, "x-bad", "a\rb"),
		append(base, "host", "y"),
	}
	for _, ignore := range []bool{true, false} {
		addr := serve(t, Config{IdleTimeout: time.Minute, IgnoreInvalidHeaders: ignore})
		c := dialRaw(t, addr)
		first := map[int]string{}
		id := uint32(1)
		for round := 0; round < 3; round++ {
			for i, fields := range sets {
				for rep := 0; rep < 2; rep++ {
					c.headers(id, true, fields...)
					got := c.response(id)
					id += 2
					if want, ok := first[i]; !ok {
						first[i] = got
					} else if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("ignore_invalid_headers %v, set %d, round %d (-first +again):\n%s", ignore, i, round, diff)
					}
				}
			}
		}
		t.Logf("ignore %v: %q", ignore, first[0])
	}
}
