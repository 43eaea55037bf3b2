package filter

import (
	"bytes"
	stdgzip "compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func gzipOf(s string) []byte {
	var b bytes.Buffer
	zw := stdgzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// gunzipPieces runs pieces through a Gunzip link; a piece "|" is a flush.
func gunzipPieces(pieces [][]byte) (string, []int, error) {
	var w flushWire
	var c Chain
	var g Gunzip
	c.Reset(&w)
	g.Reset()
	c.Push(&g)
	defer g.Release()
	for _, p := range pieces {
		var err error
		if string(p) == "|" {
			err = c.FilterBody(nil, true, false)
		} else {
			err = c.FilterBody(p, false, false)
		}
		if err != nil {
			return w.got.String(), w.flushes, err
		}
	}
	err := c.FilterBody(nil, false, true)
	return w.got.String(), w.flushes, err
}

func TestGunzip(t *testing.T) {
	body := strings.Repeat("abcdefgh", 10000)
	z := gzipOf(body)
	var flushed bytes.Buffer
	zw := stdgzip.NewWriter(&flushed)
	zw.Write([]byte("DA"))
	zw.Flush()
	atFlush := flushed.Len()
	zw.Write([]byte("TA"))
	zw.Close()
	fz := flushed.Bytes()
	tests := []struct {
		name    string
		pieces  [][]byte
		want    string
		flushes []int
		err     string
	}{
		{"whole", [][]byte{z}, body, nil, ""},
		{"byte by byte", split(z, 1), body, nil, ""},
		{"two members", [][]byte{gzipOf("one "), gzipOf("two")}, "one two", nil, ""},
		{"flush passes what came before it", [][]byte{fz[:atFlush], []byte("|"), fz[atFlush:]}, "DATA", []int{2}, ""},
		{"empty body", nil, "", nil, "inflate() returned -5 on response end"},
		{"truncated", [][]byte{z[:len(z)/2]}, body, nil, "inflate() returned -5 on response end"},
		{"not gzip", [][]byte{[]byte("plain text, not gzip")}, "", nil, "inflate() failed: 0, -3"},
		{"garbage after a member", [][]byte{gzipOf("ok"), []byte("garbage!!!!!")}, "ok", nil, "inflate() failed: 0, -3"},
		{"bad checksum", [][]byte{corruptCRC(gzipOf("checked"))}, "checked", nil, "inflate() failed: 0, -3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, flushes, err := gunzipPieces(tt.pieces)
			if tt.err == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tt.err != "" {
				var ge *GunzipError
				if !errors.As(err, &ge) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if d := cmp.Diff(tt.err, ge.Error()); d != "" {
					t.Errorf("error (-want +got):\n%s", d)
				}
			}
			if tt.err != "" {
				// What inflated before the failure went out.
				if !strings.HasPrefix(tt.want, got) {
					t.Errorf("body %q is not a prefix of %q", got, tt.want)
				}
			} else if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("body (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.flushes, flushes); tt.flushes != nil && d != "" {
				t.Errorf("flushes (-want +got):\n%s", d)
			}
		})
	}
}

// A body cut short (the client went away) ends the inflater's goroutine.
func TestGunzipReleaseMidStream(t *testing.T) {
	z := gzipOf(strings.Repeat("x", 100000))
	for i := 0; i < 20; i++ {
		var w flushWire
		var c Chain
		var g Gunzip
		c.Reset(&w)
		g.Reset()
		c.Push(&g)
		if err := c.FilterBody(z[:len(z)/2], false, false); err != nil {
			t.Fatal(err)
		}
		g.Release()
	}
}

func split(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

func corruptCRC(z []byte) []byte {
	z = append([]byte(nil), z...)
	z[len(z)-8] ^= 0xff
	return z
}

// FuzzGunzip feeds untrusted backend bytes, split anywhere: no panic, no
// hang, and a stream inflates exactly when compress/gzip reads it whole,
// to the same bytes. (How much of a corrupt stream goes out before the
// failure is each inflater's own.)
func FuzzGunzip(f *testing.F) {
	f.Add(gzipOf("hello, world"), uint8(3))
	f.Add(append(gzipOf("one"), gzipOf("two")...), uint8(1))
	f.Add([]byte("\x1f\x8b\x08\x00garbage"), uint8(2))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		n := int(step)%64 + 1
		got, _, err := gunzipPieces(split(data, n))
		zr, rerr := stdgzip.NewReader(bytes.NewReader(data))
		var want []byte
		if rerr == nil {
			want, rerr = io.ReadAll(zr)
		}
		switch {
		case err == nil && rerr != nil:
			t.Fatalf("inflated without error what compress/gzip fails: %v", rerr)
		case err != nil && rerr == nil:
			t.Fatalf("failed (%v) where compress/gzip reads %q", err, want)
		case err == nil && got != string(want):
			t.Fatalf("inflated %q, compress/gzip %q", got, want)
		}
	})
}
