package http1

import (
	"testing"
	"time"
)

// TestConnClock: a Conn with a Clock stamps each request's head with
// it (HeadAt), its owner's clock, not time.Now.
func TestConnClock(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	c := NewConn(&fakeConn{in: []byte("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")}, &ConnInfo{})
	defer c.Close()
	c.Clock = func() time.Time { at = at.Add(time.Second); return at }
	for _, want := range []time.Time{at.Add(time.Second), at.Add(2 * time.Second)} {
		if _, err := c.ReadRequest(); err != nil {
			t.Fatal(err)
		}
		if got := c.HeadAt(); !got.Equal(want) {
			t.Errorf("HeadAt() = %v, want %v", got, want)
		}
		if err := c.Finish(); err != nil {
			t.Fatal(err)
		}
	}
}
