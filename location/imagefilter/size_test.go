package imagefilter

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// webp builds the suite's WebP samples (image_filter_webp.t's packs).
func webp(kind string) []byte {
	var b bytes.Buffer
	le := func(v uint32) { binary.Write(&b, binary.LittleEndian, v) }
	be := func(vs ...uint32) {
		for _, v := range vs {
			binary.Write(&b, binary.BigEndian, v)
		}
	}
	b.WriteString("RIFF")
	switch kind {
	case "lossy", "err":
		le(0x22)
		if kind == "err" {
			b.WriteString("WEBPERR ")
		} else {
			b.WriteString("WEBPVP8 ")
		}
		be(0x16000000, 0x3001009d, 0x012a0100, 0x01000ec0, 0xfe25a400, 0x03700000)
		b.Write([]byte{0, 0})
	case "lossless":
		le(0x1a)
		b.WriteString("WEBPVP8L")
		be(0x0d000000, 0x2f000000, 0x10071011, 0x118888fe)
		b.Write([]byte{0x07, 0})
	case "extended":
		le(0x4a)
		b.WriteString("WEBPVP8X")
		be(0x0a000000, 0x10000000, 0x00000000, 0x0000414c, 0x50480c00, 0x00001107, 0x1011fd0f, 0x4444ff03,
			0x00005650, 0x38201800, 0x00001401, 0x009d012a, 0x01000100, 0x0000fe00, 0x000dc000, 0xfee6b500)
		b.Write([]byte{0, 0})
	}
	return b.Bytes()
}

func TestDetectAndSize(t *testing.T) {
	gif := []byte("GIF89a\x64\x00\x78\x00\xf0\x00\x00\x00\x00\x00\x00\x00")
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), 0, 0, 1, 2, 0, 0, 3, 4, 8, 3, 0, 0, 0)
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc0, 0, 17, 8, 0, 120, 0, 100, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	tests := []struct {
		name string
		in   []byte
		typ  Type
		want Header
		ok   bool
	}{
		{"gif", gif, GIF, Header{Width: 100, Height: 120}, true},
		{"gif87", append([]byte("GIF87a"), gif[6:]...), GIF, Header{Width: 100, Height: 120}, true},
		{"gif88 is none", append([]byte("GIF88a"), gif[6:]...), None, Header{}, false},
		{"png", png, PNG, Header{Width: 258, Height: 772}, true},
		{"jpeg", jpeg, JPEG, Header{Width: 100, Height: 120}, true},
		{"webp lossy", webp("lossy"), WebP, Header{Width: 1, Height: 1}, true},
		{"webp lossless", webp("lossless"), WebP, Header{Width: 1, Height: 1}, true},
		{"webp extended", webp("extended"), WebP, Header{Width: 1, Height: 1}, true},
		{"webp bad header", webp("err"), WebP, Header{}, false},
		{"webp truncated", webp("lossy")[:29], WebP, Header{}, false},
		{"text", []byte("SEE-THIS"), None, Header{}, false},
		{"short gif", gif[:15], None, Header{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := Detect(tt.in)
			if typ != tt.typ {
				t.Fatalf("Detect = %d, want %d", typ, tt.typ)
			}
			h, ok := Size(tt.in, typ, len(tt.in))
			if diff := cmp.Diff(tt.want, h); diff != "" || ok != tt.ok {
				t.Errorf("Size ok=%v (want %v) (-want +got):\n%s", ok, tt.ok, diff)
			}
		})
	}
}

// A JPEG whose application data is more than 5% of its length is
// converted even when it fits (nginx's force).
func TestSizeJPEGForce(t *testing.T) {
	sof := []byte{0xff, 0xc0, 0, 17, 8, 0, 10, 0, 10, 3}
	app := append([]byte{0xff, 0xe1, 0, 50}, make([]byte, 48)...)
	body := append(append(append([]byte{0xff, 0xd8}, app...), sof...), make([]byte, 900)...)
	h, ok := Size(body, JPEG, len(body))
	if !ok || !h.Force {
		t.Errorf("Size = %+v, %v; want force", h, ok)
	}
	// The same data over a buffer 20 times as long is not 5% of it.
	if h, _ := Size(body, JPEG, 20*len(body)); h.Force {
		t.Errorf("Size over a longer buffer = %+v; want no force", h)
	}
}

func TestJSON(t *testing.T) {
	got := string(AppendJSON(nil, Header{Width: 100, Height: 120}, JPEG))
	if want := "{ \"img\" : { \"width\": 100, \"height\": 120, \"type\": \"jpeg\" } }\r\n"; got != want {
		t.Errorf("AppendJSON = %q, want %q", got, want)
	}
}

func TestValue(t *testing.T) {
	for in, want := range map[string]uint64{"-": Unlimited, "10": 10, "0": 0, "": 0, "1x": 0, "-5": 0,
		"99999999999999999999": 0} {
		if got := Value([]byte(in)); got != want {
			t.Errorf("Value(%q) = %d, want %d", in, got, want)
		}
	}
}

// FuzzSize: the header readers take any bytes, as a backend sends them,
// and any buffer length, without a panic; sizes are never negative.
func FuzzSize(f *testing.F) {
	for _, k := range []string{"lossy", "lossless", "extended", "err"} {
		f.Add(webp(k), 0)
	}
	f.Add([]byte{0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0, 120, 0, 100, 3, 0, 0, 0, 0, 0, 0}, 1<<20)
	f.Add([]byte("GIF89a\x64\x00\x78\x00\xf0\x00\x00\x00\x00\x00\x00\x00"), 5)
	f.Fuzz(func(t *testing.T, p []byte, extra int) {
		length := len(p) + extra%(1<<16)
		typ := Detect(p)
		for _, ty := range []Type{typ, JPEG, GIF, PNG, WebP} {
			h, ok := Size(p, ty, length)
			if ok && (h.Width < 0 || h.Height < 0) {
				t.Fatalf("Size(%d) = %+v", ty, h)
			}
			if ok {
				AppendJSON(nil, h, ty)
			}
		}
	})
}
