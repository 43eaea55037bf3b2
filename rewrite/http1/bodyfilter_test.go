package http1

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// upperFilter is a body filter that upper-cases and holds everything
// until a flush or the end, recording the calls it got.
type upperFilter struct {
	c     *Conn
	held  []byte
	calls []string
}

func (f *upperFilter) FilterBody(p []byte, flush, last bool) error {
	f.held = append(f.held, bytes.ToUpper(p)...)
	switch {
	case last:
		f.calls = append(f.calls, "last")
	case flush:
		f.calls = append(f.calls, "flush")
	default:
		f.calls = append(f.calls, "data")
		return nil
	}
	if _, err := f.c.WriteOut(f.held); err != nil {
		return err
	}
	f.held = f.held[:0]
	return nil
}

func TestBodyFilterSeam(t *testing.T) {
	tests := []struct {
		name, req string
		flush     bool
		want      string
		calls     []string
	}{
		{"chunked GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false,
			"HTTP/1.1 200 OK\r\nServer: " + ServerToken + "\r\nDate: D\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nVary: Accept-Encoding\r\n\r\n6\r\nABCDEF\r\n0\r\n\r\n",
			[]string{"data", "data", "last"}},
		{"flush passes held bytes", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true,
			"HTTP/1.1 200 OK\r\nServer: " + ServerToken + "\r\nDate: D\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nVary: Accept-Encoding\r\n\r\n3\r\nABC\r\n3\r\nDEF\r\n0\r\n\r\n",
			[]string{"data", "flush", "data", "last"}},
		// A response without a body never reaches the filter.
		{"HEAD", "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", false,
			"HTTP/1.1 200 OK\r\nServer: " + ServerToken + "\r\nDate: D\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nVary: Accept-Encoding\r\n\r\n",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeConn{in: []byte(tt.req)}
			c := NewConn(fc, &ConnInfo{Local: AddrText("127.0.0.1"), ServerPort: 8080})
			defer c.Close()
			if _, err := c.ReadRequest(); err != nil {
				t.Fatal(err)
			}
			f := &upperFilter{c: c}
			resp := Response{Status: 200, ContentType: []byte("text/plain"), ContentLength: -1, LastModified: -1,
				VaryAcceptEncoding: true, Body: f}
			if err := c.WriteHeader(&resp); err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("abc"))
			if tt.flush {
				c.Flush()
			}
			c.Write([]byte("def"))
			if err := c.Finish(); err != nil {
				t.Fatal(err)
			}
			got := dateRe.ReplaceAllString(fc.out.String(), "Date: D\r\n")
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("wire (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.calls, f.calls); d != "" {
				t.Errorf("filter calls (-want +got):\n%s", d)
			}
		})
	}
}

// holdFilter holds the head (Response.Hold) and the body; at the end it
// writes the head with the body's length, or drops it.
type holdFilter struct {
	c    *Conn
	resp *Response
	body []byte
	drop bool
}

func (f *holdFilter) FilterBody(p []byte, flush, last bool) error {
	f.body = append(f.body, p...)
	if !last || f.drop {
		return nil
	}
	f.resp.ContentLength = int64(len(f.body))
	if err := f.c.WriteHeld(f.resp); err != nil {
		return err
	}
	_, err := f.c.WriteOut(bytes.ToUpper(f.body))
	return err
}

// A held head goes out when its filter writes it, with what the filter
// learnt from the body (its length: no chunking); a HEAD's body reaches
// the filter too. A dropped one lets another response be written.
func TestHeldHead(t *testing.T) {
	tests := []struct {
		name, req string
		drop      bool
		want      string
	}{
		{"GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false,
			"HTTP/1.1 200 OK\r\nServer: " + ServerToken + "\r\nDate: D\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\nABCDEF"},
		{"HEAD", "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", false,
			"HTTP/1.1 200 OK\r\nServer: " + ServerToken + "\r\nDate: D\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\n"},
		{"dropped", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true,
			"HTTP/1.1 415 Unsupported Media Type\r\nServer: " + ServerToken + "\r\nDate: D\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nno"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeConn{in: []byte(tt.req)}
			c := NewConn(fc, &ConnInfo{Local: AddrText("127.0.0.1"), ServerPort: 8080})
			defer c.Close()
			if _, err := c.ReadRequest(); err != nil {
				t.Fatal(err)
			}
			f := &holdFilter{c: c, drop: tt.drop}
			f.resp = &Response{Status: 200, ContentType: []byte("text/plain"), ContentLength: -1, LastModified: -1,
				Body: f, Hold: true}
			if err := c.WriteHeader(f.resp); err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("abc"))
			c.Write([]byte("def"))
			if err := c.Finish(); err != nil {
				t.Fatal(err)
			}
			if c.Held() != tt.drop {
				t.Fatalf("Held() = %v after the body", c.Held())
			}
			if tt.drop {
				if fc.out.Len() != 0 {
					t.Fatalf("a held head wrote %q", fc.out.String())
				}
				c.DropHeld()
				if c.HeaderWritten() {
					t.Fatal("HeaderWritten after DropHeld")
				}
				c.WriteHeader(&Response{Status: 415, ContentLength: 2, LastModified: -1})
				c.Write([]byte("no"))
				c.Finish()
			}
			got := dateRe.ReplaceAllString(fc.out.String(), "Date: D\r\n")
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("wire (-want +got):\n%s", d)
			}
		})
	}
}
