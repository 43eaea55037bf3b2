package server

import (
	"bufio"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recordCounter reads a TLS stream for its client and notes the size
// of each application data record (type 23) in it.
type recordCounter struct {
	net.Conn
	hdr   []byte // a record header's bytes read so far
	left  int    // the current record's body bytes still to come
	sizes []int
}

func (r *recordCounter) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	for p := b[:n]; len(p) > 0; {
		if r.left > 0 {
			k := min(r.left, len(p))
			r.left -= k
			p = p[k:]
			continue
		}
		k := min(5-len(r.hdr), len(p))
		r.hdr = append(r.hdr, p[:k]...)
		p = p[k:]
		if len(r.hdr) == 5 {
			r.left = int(r.hdr[3])<<8 | int(r.hdr[4])
			if r.hdr[0] == 23 {
				r.sizes = append(r.sizes, r.left)
			}
			r.hdr = r.hdr[:0]
		}
	}
	return n, err
}

// TestTLSRecordsFull: a response's records are up to 16 KB from a
// connection's first, as nginx's with its default ssl_buffer_size (16k),
// not crypto/tls's dynamic sizing, which began with records of one TCP
// segment each (a write(2) each) and grew them over the connection's
// first ~1000 records.
func TestTLSRecordsFull(t *testing.T) {
	dir, err := filepath.Abs("../../examples/article")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("0123456789", 4000)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startTest(t, `server { listen 127.0.0.1:PORT ssl; ssl_certificate `+dir+`/cert.pem; ssl_certificate_key `+dir+`/key.pem;
		location / { root `+root+`; } }`)
	raw, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rc := &recordCounter{Conn: raw}
	c := tls.Client(rc, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
	c.SetDeadline(time.Now().Add(20 * time.Second))
	k := &kaClient{c: c, br: bufio.NewReader(c)}
	if got := k.get(t, "/f"); got != body {
		t.Fatalf("body: %d bytes, want %d", len(got), len(body))
	}
	// The head's record, then 40,000 bytes in three (24 bytes of
	// AES-GCM's nonce and tag on each).
	var full []bool
	for _, n := range rc.sizes[1 : len(rc.sizes)-1] {
		full = append(full, n == 16384+24)
	}
	if diff := cmp.Diff([]bool{true, true}, full); diff != "" || len(rc.sizes) != 4 {
		t.Errorf("records %v: the body's but its last want 16 KB (-want +got):\n%s", rc.sizes, diff)
	}
}
