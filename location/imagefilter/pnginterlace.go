package imagefilter

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
)

// adam7 are the interlaced PNG's passes: x and y start, x and y step.
var adam7 = [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}

// encodeInterlacedPNG writes img as an Adam7-interlaced PNG, as libgd does
// with image_filter_interlace on (Go's encoder writes no interlace): a
// palette image as colour type 3 with its alpha in tRNS, any other as
// 8-bit RGBA.
func encodeInterlacedPNG(img image.Image) []byte {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(data)))
		out.Write(n[:])
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.BigEndian.PutUint32(n[:], crc.Sum32())
		out.Write(n[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[12] = 8, 1 // bit depth, interlace method Adam7
	pal, paletted := img.(*image.Paletted)
	bpp := 4
	if paletted {
		bpp = 1
		ihdr[9] = 3
		chunk("IHDR", ihdr)
		plte := make([]byte, 0, 3*len(pal.Palette))
		trns := make([]byte, 0, len(pal.Palette))
		lastAlpha := -1
		for i, c := range pal.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			plte = append(plte, n.R, n.G, n.B)
			trns = append(trns, n.A)
			if n.A != 0xff {
				lastAlpha = i
			}
		}
		chunk("PLTE", plte)
		if lastAlpha >= 0 {
			chunk("tRNS", trns[:lastAlpha+1])
		}
	} else {
		ihdr[9] = 6
		chunk("IHDR", ihdr)
	}
	var raw bytes.Buffer
	zw := zlib.NewWriter(&raw)
	row := make([]byte, 0, 1+w*bpp)
	for _, p := range adam7 {
		for y := p[1]; y < h; y += p[3] {
			row = append(row[:0], 0) // filter type None
			for x := p[0]; x < w; x += p[2] {
				if paletted {
					row = append(row, pal.Pix[y*pal.Stride+x])
					continue
				}
				n := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				row = append(row, n.R, n.G, n.B, n.A)
			}
			if len(row) > 1 {
				zw.Write(row)
			}
		}
	}
	zw.Close()
	chunk("IDAT", raw.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}
