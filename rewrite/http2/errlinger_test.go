package http2

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// A connection error with no stream running ends in nginx's lingering
// close (ngx_http_v2_finalize_connection, then
// ngx_http_v2_lingering_close): GOAWAY, the write side shut, and what
// the client still sends read and dropped, so its bytes in flight do not
// turn the close into a reset that can destroy the GOAWAY.
func TestConnectionErrorLingers(t *testing.T) {
	addr := serve(t, Config{IdleTimeout: time.Minute, Linger: true, LingerTime: 5 * time.Second, LingerTimeout: 2 * time.Second})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	var out bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	fr.AllowIllegalWrites = true
	out.WriteString(ClientPreface)
	fr.WriteSettings()
	fr.WriteWindowUpdate(0, 0)
	// Frames of an unknown type (ignored) behind the error, more than
	// the server reads at once.
	junk := make([]byte, 16000)
	for i := 0; i < 32; i++ {
		fr.WriteRawFrame(0xfe, 0, 0, junk)
	}
	go nc.Write(out.Bytes())
	rfr := http2.NewFramer(nil, nc)
	var got []string
	for {
		f, err := rfr.ReadFrame()
		if err != nil {
			if errors.Is(err, io.EOF) {
				got = append(got, "EOF")
			} else {
				got = append(got, err.Error())
			}
			break
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			got = append(got, "GOAWAY "+ga.ErrCode.String())
		}
	}
	want := []string{"GOAWAY PROTOCOL_ERROR", "EOF"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %q, want %q", got, want)
	}
}
