package http2

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// decodeAll runs blocks through one decoder, each block split into
// fragments of at most frag bytes, and returns the fields as "name: value".
func decodeAll(blocks [][]byte, frag int) ([]string, error) {
	var got []string
	d := newDecoder(4096, 8192, func(name, value []byte) {
		got = append(got, string(name)+": "+string(value))
	})
	for _, b := range blocks {
		for len(b) > 0 {
			n := min(frag, len(b))
			if err := d.Write(b[:n]); err != nil {
				return got, err
			}
			b = b[n:]
		}
		if err := d.Close(); err != nil {
			return got, err
		}
	}
	return got, nil
}

// TestDecoderMatchesXNet: blocks from x/net's encoder (dynamic table,
// evictions, a size update, Huffman and raw strings, sensitive fields)
// decode to what x/net's decoder reads, whatever the fragment sizes.
func TestDecoderMatchesXNet(t *testing.T) {
	var blocks [][]byte
	var want []string
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	xd := hpack.NewDecoder(4096, nil)
	for i := 0; i < 40; i++ {
		if i == 20 {
			enc.SetMaxDynamicTableSize(512)
		}
		fields := []hpack.HeaderField{
			{Name: ":method", Value: "GET"},
			{Name: ":path", Value: fmt.Sprintf("/item/%d", i%7)},
			{Name: ":authority", Value: "example.com"},
			{Name: "x-long", Value: strings.Repeat(string(rune('a'+i%26)), 100+i*20)},
			{Name: "cookie", Value: fmt.Sprintf("s=%d", i), Sensitive: i%3 == 0},
			{Name: "x-bin", Value: "\x01\xff\x7f~"},
		}
		buf.Reset()
		for _, f := range fields {
			enc.WriteField(f)
		}
		b := bytes.Clone(buf.Bytes())
		blocks = append(blocks, b)
		fs, err := xd.DecodeFull(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			want = append(want, f.Name+": "+f.Value)
		}
	}
	for _, frag := range []int{1, 3, 7, 1 << 20} {
		got, err := decodeAll(blocks, frag)
		if err != nil {
			t.Fatalf("frag %d: %v", frag, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("frag %d (-want +got):\n%s", frag, diff)
		}
	}
}

// huffPadded is Huffman coding as nginx-tests' HTTP2.pm writes it: a
// string of whole bytes gets a whole byte of padding more.
func huffPadded(s string) []byte {
	b := hpack.AppendHuffmanString(nil, s)
	bits := 0
	for i := 0; i < len(s); i++ {
		bits += int(hpack.HuffmanEncodeLength(strings.Repeat(s[i:i+1], 8)))
	}
	if bits%8 == 0 {
		b = append(b, 0xff)
	}
	return b
}

func lit(prefix byte, huff bool, s []byte) []byte {
	first := byte(0)
	if huff {
		first = 0x80
	}
	return append(appendInt([]byte{prefix}, 7, first, uint64(len(s)))[1:], s...)
}

// TestDecoderAsNginx: where nginx's reading differs from RFC 7541's
// strictest, and its errors.
func TestDecoderAsNginx(t *testing.T) {
	get := huffPadded("GET")
	if len(get) != 3 {
		t.Fatalf("GET codes to %d bits, want 24 (a whole byte of padding)", len(hpack.AppendHuffmanString(nil, "GET"))*8)
	}
	cases := []struct {
		name  string
		block []byte
		want  []string
		err   string
	}{
		{"huffman padded with a whole byte", append([]byte{0x42}, lit(0, true, get)...), []string{":method: GET"}, ""},
		{"huffman padding not ones", append([]byte{0x42}, lit(0, true, []byte{0xc5, 0x83, 0x7e})...), nil, "client sent invalid encoded header field"},
		{"huffman with EOS", append([]byte{0x42}, lit(0, true, []byte{0xff, 0xff, 0xff, 0xfc})...), nil, "client sent invalid encoded header field"},
		{"never indexed", append([]byte{0x12}, lit(0, false, []byte("PUT"))...), []string{":method: PUT"}, ""},
		{"new name without indexing", append(append([]byte{0x00}, lit(0, false, []byte("x-a"))...), lit(0, false, []byte("b"))...), []string{"x-a: b"}, ""},
		{"size update mid-block", []byte{0x82, 0x3f, 0xe1, 0x1f, 0x84}, []string{":method: GET", ":path: /"}, ""},
		{"size update too large", []byte{0x3f, 0xe2, 0x1f}, nil, "client sent invalid table size update"},
		{"index 0", []byte{0x80}, nil, "client sent invalid hpack table index 0"},
		{"index out of the table", []byte{0xbe}, nil, "client sent out of bound hpack table index: 62"},
		{"too long index", []byte{0xff, 0xff, 0xff, 0xff}, nil, "client sent header block with too long header index value"},
		{"too long literal length", []byte{0x42, 0xff, 0xff, 0xff, 0xff}, nil, "client sent header field with too long length value"},
		{"four-octet index", []byte{0xff, 0x80, 0x80, 0x00}, nil, "client sent out of bound hpack table index: 127"},
		{"field too large", append([]byte{0x42}, appendInt([]byte{0}, 7, 0, 8193)[1:]...), nil, "client sent too large header field"},
		{"cut field", []byte{0x42, 0x03, 'G'}, nil, "client sent header block with incorrect length"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll([][]byte{tc.block}, 1<<20)
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			if diff := cmp.Diff(tc.err, msg); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecoderTableBounded: entries larger than the table empty it, and a
// long run of insertions keeps the arena within its bound.
func TestDecoderTableBounded(t *testing.T) {
	d := newDecoder(4096, 8192, func(name, value []byte) {})
	for i := 0; i < 2000; i++ {
		v := bytes.Repeat([]byte{'v'}, i%300)
		if err := d.Write(append(append([]byte{0x40}, lit(0, false, []byte("x-k"))...), lit(0, false, v)...)); err != nil {
			t.Fatal(err)
		}
	}
	if cap(d.arena) > 4*4096 || d.size > 4096 {
		t.Errorf("arena cap %d, table size %d", cap(d.arena), d.size)
	}
	big := bytes.Repeat([]byte{'v'}, 5000)
	d.Write(append(append([]byte{0x40}, lit(0, false, []byte("x-k"))...), lit(0, false, big)...))
	if d.size != 0 || len(d.ents)-d.first != 0 {
		t.Errorf("after an oversized entry: size %d, %d entries", d.size, len(d.ents)-d.first)
	}
}

// FuzzDecoder: whatever both decoders accept decodes to the same fields
// (ours also takes longer Huffman padding and rejects longer integers).
func FuzzDecoder(f *testing.F) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	enc.WriteField(hpack.HeaderField{Name: ":path", Value: "/a/b?c"})
	enc.WriteField(hpack.HeaderField{Name: "x-y", Value: "zzz", Sensitive: true})
	enc.WriteField(hpack.HeaderField{Name: "x-y", Value: "zzz"})
	f.Add(buf.Bytes())
	f.Add([]byte{0x42, 0x83, 0xc5, 0x83, 0x7f, 0x3f, 0xe1, 0x1f})
	f.Fuzz(func(t *testing.T, in []byte) {
		ours, err := decodeAll([][]byte{in}, 5)
		var he *hpackError
		if err != nil && !errors.As(err, &he) {
			t.Fatalf("error %v is not an hpackError", err)
		}
		if he != nil && he.code != http2.ErrCodeCompression && he.code != http2.ErrCodeEnhanceYourCalm && he.code != http2.ErrCodeFrameSize {
			t.Fatalf("code %v", he.code)
		}
		xd := hpack.NewDecoder(4096, nil)
		xd.SetMaxStringLength(8192)
		fs, xerr := xd.DecodeFull(in)
		if err != nil || xerr != nil {
			return
		}
		var theirs []string
		for _, f := range fs {
			theirs = append(theirs, f.Name+": "+f.Value)
		}
		if diff := cmp.Diff(theirs, ours); diff != "" {
			t.Errorf("(-x/net +ours):\n%s", diff)
		}
	})
}
