package server

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestCountedOutBeforeClose: a connection closed after its response is
// no longer active (stub_status, $connections_active) when its client
// sees the close, as nginx's ngx_http_close_connection counts it out
// before close(): the Amplify agent's stub_status, asked on a new
// connection right after one ended, found 2 active and 1 waiting.
func TestCountedOutBeforeClose(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT; location / { return 200 "ok"; } }`)
	late := 0
	for range 300 {
		c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
		if _, err := io.ReadAll(c); err != nil {
			t.Fatal(err)
		}
		if ts.srv.counters.Stats.Active.Load() != 0 || ts.srv.counters.Stats.Waiting.Load() != 0 {
			late++
		}
		c.Close()
	}
	if late > 0 {
		t.Errorf("%d of 300 connections still counted (active or waiting) once their client read the close", late)
	}
}
