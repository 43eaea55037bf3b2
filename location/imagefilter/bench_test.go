package imagefilter

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// BenchmarkResizeJPEG: a 1024×768 photo-like JPEG to a 150×100 thumbnail,
// the filter's usual work (decode, scale, encode).
func BenchmarkResizeJPEG(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 1024, 768))
	for y := 0; y < 768; y++ {
		for x := 0; x < 1024; x++ {
			img.Set(x, y, color.RGBA{uint8(x ^ y), uint8(x * y >> 8), uint8(y), 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	body := buf.Bytes()
	p := Params{Mode: Resize, MaxWidth: 150, MaxHeight: 100, JPEGQuality: 75}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if r := Process(body, JPEG, len(body), &p); r.Outcome != Image {
			b.Fatal(r.Err)
		}
	}
}
