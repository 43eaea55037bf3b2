package imagefilter

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

// sample makes a w×h image of type t: GIF and PNG with a palette whose
// first entry (white) is transparent, as the suite's GD image; JPEG in
// true colour.
func sample(t *testing.T, typ Type, w, h int) []byte {
	t.Helper()
	pal := color.Palette{color.NRGBA{255, 255, 255, 0}, color.NRGBA{0, 0, 0, 255}, color.NRGBA{200, 10, 10, 255}}
	p := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x < w/2 {
				p.Pix[y*p.Stride+x] = uint8(1 + (x+y)%2)
			}
		}
	}
	var b bytes.Buffer
	var err error
	switch typ {
	case GIF:
		err = gif.Encode(&b, p, nil)
	case PNG:
		err = png.Encode(&b, p)
	case JPEG:
		err = jpeg.Encode(&b, p, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestProcess(t *testing.T) {
	tests := []struct {
		name       string
		typ        Type
		w, h       int
		p          Params
		outcome    Outcome
		wantW      int
		wantH      int
		wantFormat string
	}{
		{"resize gif", GIF, 100, 120, Params{Mode: Resize, MaxWidth: 10, MaxHeight: 12}, Image, 10, 12, "gif"},
		{"resize width only", GIF, 100, 120, Params{Mode: Resize, MaxWidth: 10, MaxHeight: Unlimited}, Image, 10, 12, "gif"},
		{"resize height only", PNG, 100, 120, Params{Mode: Resize, MaxWidth: Unlimited, MaxHeight: 12}, Image, 10, 12, "png"},
		{"resize jpeg", JPEG, 100, 120, Params{Mode: Resize, MaxWidth: 10, MaxHeight: 12, JPEGQuality: 75}, Image, 10, 12, "jpeg"},
		{"fits: as is", GIF, 100, 120, Params{Mode: Resize, MaxWidth: 100, MaxHeight: 120}, AsIs, 100, 120, "gif"},
		{"rotate 90", GIF, 100, 120, Params{Mode: Rotate, Angle: 90}, Image, 120, 100, "gif"},
		{"rotate 180", PNG, 100, 120, Params{Mode: Rotate, Angle: 180}, Image, 100, 120, "png"},
		{"rotate 270 jpeg", JPEG, 100, 120, Params{Mode: Rotate, Angle: 270, JPEGQuality: 75}, Image, 120, 100, "jpeg"},
		{"rotate 45 fails", GIF, 100, 120, Params{Mode: Rotate, Angle: 45}, Fail, 0, 0, ""},
		{"crop", GIF, 100, 120, Params{Mode: Crop, MaxWidth: 60, MaxHeight: 80}, Image, 60, 80, "gif"},
		{"crop var", GIF, 100, 120, Params{Mode: Crop, MaxWidth: 10, MaxHeight: 20}, Image, 10, 20, "gif"},
		// the suite's "rotate before crop" and "rotate after resize"
		{"crop rotate", GIF, 100, 120, Params{Mode: Crop, MaxWidth: 5, MaxHeight: 6, Angle: 90}, Image, 5, 5, "gif"},
		{"resize rotate", GIF, 100, 120, Params{Mode: Resize, MaxWidth: 5, MaxHeight: 6, Angle: 90}, Image, 6, 5, "gif"},
		{"width 0 fails", GIF, 100, 120, Params{Mode: Resize, MaxWidth: 0, MaxHeight: 6}, Fail, 0, 0, ""},
		{"jpeg quality 0 fails", JPEG, 100, 120, Params{Mode: Resize, MaxWidth: 5, MaxHeight: 6}, Fail, 0, 0, ""},
		{"size", PNG, 100, 120, Params{Mode: SizeOnly}, JSON, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := sample(t, tt.typ, tt.w, tt.h)
			r := Process(body, tt.typ, len(body), &tt.p)
			if r.Outcome != tt.outcome {
				t.Fatalf("outcome %d, want %d (%s)", r.Outcome, tt.outcome, r.Err)
			}
			switch r.Outcome {
			case AsIs:
				if !bytes.Equal(r.Body, body) {
					t.Error("as is: body changed")
				}
			case JSON:
				if want := `{ "img" : { "width": 100, "height": 120, "type": "png" } }` + "\r\n"; string(r.Body) != want {
					t.Errorf("JSON %q, want %q", r.Body, want)
				}
				return
			case Fail:
				return
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != tt.wantW || cfg.Height != tt.wantH || format != tt.wantFormat {
				t.Errorf("got %s %dx%d, want %s %dx%d", format, cfg.Width, cfg.Height, tt.wantFormat, tt.wantW, tt.wantH)
			}
		})
	}
}

// The JPEG carries libgd's comment with the quality, which the suite
// reads ("quality = 75").
func TestJPEGComment(t *testing.T) {
	body := sample(t, JPEG, 40, 40)
	r := Process(body, JPEG, len(body), &Params{Mode: Resize, MaxWidth: 10, MaxHeight: 10, JPEGQuality: 40})
	if !bytes.Contains(r.Body, []byte("CREATOR: gd-jpeg v1.0 (using IJG JPEG v62), quality = 40\n")) {
		t.Errorf("no gd comment in %q", r.Body[:min(len(r.Body), 80)])
	}
	if _, err := jpeg.Decode(bytes.NewReader(r.Body)); err != nil {
		t.Error(err)
	}
}

// Transparency is kept unless image_filter_transparency is off; GIF
// interlacing follows image_filter_interlace and decodes to the same rows.
func TestGIFTransparencyInterlace(t *testing.T) {
	body := sample(t, GIF, 100, 120)
	// The transparent entry is white in the colour table, as GD's
	// (Go's encoder writes it black).
	if body[10]&0x80 == 0 {
		t.Fatal("sample has no global colour table")
	}
	copy(body[13:16], []byte{255, 255, 255})
	for _, tt := range []struct {
		transparency, interlace bool
	}{{true, false}, {false, false}, {true, true}} {
		p := Params{Mode: Resize, MaxWidth: 10, MaxHeight: 12, Transparency: tt.transparency, Interlace: tt.interlace}
		r := Process(body, GIF, len(body), &p)
		plain := Process(body, GIF, len(body), &Params{Mode: Resize, MaxWidth: 10, MaxHeight: 12, Transparency: tt.transparency})
		img, err := gif.Decode(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		pal := img.(*image.Paletted)
		transparent := false
		for _, c := range pal.Palette {
			if _, _, _, a := c.RGBA(); a == 0 {
				transparent = true
			}
		}
		if transparent != tt.transparency {
			t.Errorf("%+v: transparent entry %v", tt, transparent)
		}
		if !tt.transparency && pal.Palette[0] != (color.RGBA{255, 255, 255, 255}) {
			t.Errorf("opaque entry %v, want white", pal.Palette[0])
		}
		if tt.interlace {
			ref, _ := gif.Decode(bytes.NewReader(plain.Body))
			if !bytes.Equal(pal.Pix, ref.(*image.Paletted).Pix) {
				t.Error("interlaced GIF decodes to other rows")
			}
			if bytes.Equal(r.Body, plain.Body) {
				t.Error("interlace changed nothing")
			}
		}
	}
}

// Sharpen changes a true colour image and keeps its size.
func TestSharpen(t *testing.T) {
	body := sample(t, PNG, 30, 30)
	// a true colour PNG: the sample re-encoded as RGBA
	src, _ := png.Decode(bytes.NewReader(body))
	rgba := image.NewRGBA(src.Bounds())
	for y := 0; y < 30; y++ {
		for x := 0; x < 30; x++ {
			rgba.Set(x, y, color.RGBA{uint8(x * x), uint8((x + y) % 3 * 80), 100, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, rgba)
	p := Params{Mode: Resize, MaxWidth: 20, MaxHeight: 20}
	plain := Process(b.Bytes(), PNG, b.Len(), &p)
	p.Sharpen = 50
	sharp := Process(b.Bytes(), PNG, b.Len(), &p)
	if bytes.Equal(plain.Body, sharp.Body) || sharp.Outcome != Image {
		t.Error("sharpen changed nothing")
	}
}

// FuzzProcess: any body a backend sends goes through every transform
// without a panic, and an image answer decodes to its type.
func FuzzProcess(f *testing.F) {
	for _, s := range []struct {
		typ  Type
		w, h int
	}{{GIF, 7, 5}, {PNG, 3, 9}, {JPEG, 16, 16}} {
		f.Add(sampleBytes(s.typ, s.w, s.h), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, sel uint8) {
		typ := Detect(body)
		if typ == None {
			return
		}
		p := Params{MaxWidth: uint64(sel%7) + 1, MaxHeight: uint64(sel%5) + 1, JPEGQuality: 50,
			Transparency: sel&1 == 0, Interlace: sel&2 == 0, Sharpen: uint64(sel % 3 * 20)}
		for _, m := range []Mode{SizeOnly, Resize, Crop, Rotate} {
			p.Mode = m
			p.Angle = [4]uint64{0, 90, 180, 270}[sel%4]
			r := Process(body, typ, len(body), &p)
			if r.Outcome == Image {
				if _, _, err := image.DecodeConfig(bytes.NewReader(r.Body)); err != nil {
					t.Fatalf("mode %d: output does not decode: %v", m, err)
				}
			}
		}
	})
}

func sampleBytes(typ Type, w, h int) []byte {
	p := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.NRGBA{255, 255, 255, 0}, color.Black})
	p.Pix[0] = 1
	var b bytes.Buffer
	switch typ {
	case GIF:
		gif.Encode(&b, p, nil)
	case PNG:
		png.Encode(&b, p)
	case JPEG:
		jpeg.Encode(&b, p, nil)
	}
	return b.Bytes()
}

// image_filter_interlace writes an Adam7 PNG (IHDR's last byte 1) that
// decodes to the pixels of the plain one, palette and true colour.
func TestPNGInterlace(t *testing.T) {
	tc := image.NewNRGBA(image.Rect(0, 0, 37, 23))
	for y := 0; y < 23; y++ {
		for x := 0; x < 37; x++ {
			tc.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 11), uint8(x ^ y), uint8(255 - x)})
		}
	}
	var tcPNG bytes.Buffer
	png.Encode(&tcPNG, tc)
	for name, body := range map[string][]byte{"palette": sample(t, PNG, 100, 120), "true colour": tcPNG.Bytes()} {
		p := Params{Mode: Resize, MaxWidth: 17, MaxHeight: 13, Transparency: true}
		plain := Process(body, PNG, len(body), &p)
		p.Interlace = true
		inter := Process(body, PNG, len(body), &p)
		if inter.Outcome != Image || inter.Body[8+8+12] != 1 {
			t.Fatalf("%s: not an interlaced PNG (%d)", name, inter.Outcome)
		}
		a, err := png.Decode(bytes.NewReader(plain.Body))
		if err != nil {
			t.Fatal(err)
		}
		b, err := png.Decode(bytes.NewReader(inter.Body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a.Bounds() != b.Bounds() {
			t.Fatalf("%s: bounds %v, want %v", name, b.Bounds(), a.Bounds())
		}
		for y := 0; y < a.Bounds().Dy(); y++ {
			for x := 0; x < a.Bounds().Dx(); x++ {
				if ca, cb := color.NRGBAModel.Convert(a.At(x, y)), color.NRGBAModel.Convert(b.At(x, y)); ca != cb {
					t.Fatalf("%s: (%d,%d) = %v, want %v", name, x, y, cb, ca)
				}
			}
		}
	}
}
