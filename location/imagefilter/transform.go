package imagefilter

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strconv"
)

// Mode is image_filter's first parameter.
type Mode uint8

const (
	Off Mode = iota
	Test
	SizeOnly
	Resize
	Crop
	Rotate
)

// Unlimited is "-" as a width or height: no limit on that side.
const Unlimited = ^uint64(0)

// Params are a request's image_filter values, its variables evaluated
// (ngx_http_image_filter_get_value: a number above 0, Unlimited for "-",
// else 0).
type Params struct {
	Mode                Mode
	MaxWidth, MaxHeight uint64
	Angle               uint64
	JPEGQuality         uint64
	WebPQuality         uint64
	Sharpen             uint64
	Transparency        bool
	Interlace           bool
}

// Value reads a value as ngx_http_image_filter_value does.
func Value(s []byte) uint64 {
	if len(s) == 1 && s[0] == '-' {
		return Unlimited
	}
	if len(s) == 0 {
		return 0
	}
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		// ngx_atoi fails on overflow of a signed size.
		if n > (1<<63-1-uint64(c-'0'))/10 {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

// Outcome is what the filter answers with.
type Outcome uint8

const (
	Fail  Outcome = iota // 415 (ngx_http_filter_finalize_request)
	JSON                 // application/json, 200, the head cleared
	AsIs                 // the image as it came
	Image                // a new image: its length, a weak ETag
)

// Result is the filter's answer for a body read whole.
type Result struct {
	Outcome Outcome
	Body    []byte
	Err     string // why Fail, for the error log ("" when nginx logs nothing)
	// Close: the request ends in an error after this answer, so the
	// connection closes (nginx's NGX_HTTP_IMAGE_DONE: "{}" for a body
	// that is no image).
	Close bool
}

// maxPixels bounds the images decoded: a header may claim any size, and
// libgd would try to allocate it. 2^25 pixels is 128 MB as RGBA.
const maxPixels = 1 << 25

var errTooLarge = errors.New("image too large")

// Process answers for a body of type t read whole, as
// ngx_http_image_process. length is nginx's buffer length (Size's).
func Process(body []byte, t Type, length int, p *Params) Result {
	h, ok := Size(body, t, length)
	if p.Mode == SizeOnly {
		if !ok {
			return Result{Outcome: JSON, Body: []byte(EmptyJSON)}
		}
		return Result{Outcome: JSON, Body: AppendJSON(nil, h, t)}
	}
	if p.Mode == Rotate {
		if p.Angle != 90 && p.Angle != 180 && p.Angle != 270 {
			return Result{}
		}
		return transform(body, t, h, p)
	}
	if p.MaxWidth == 0 || p.MaxHeight == 0 {
		return Result{}
	}
	if ok && uint64(h.Width) <= p.MaxWidth && uint64(h.Height) <= p.MaxHeight && p.Angle == 0 && !h.Force {
		return Result{Outcome: AsIs, Body: body}
	}
	return transform(body, t, h, p)
}

// transform is ngx_http_image_resize: decode, resize or crop, rotate,
// encode in the same type.
func transform(body []byte, t Type, h Header, p *Params) Result {
	src, err := decode(body, t)
	if err != nil {
		return Result{Err: err.Error()}
	}
	sx, sy := src.Bounds().Dx(), src.Bounds().Dy()
	if !h.Force && p.Angle == 0 && uint64(sx) <= p.MaxWidth && uint64(sy) <= p.MaxHeight {
		return Result{Outcome: AsIs, Body: body}
	}
	pal, paletted := src.(*image.Paletted)
	if paletted && !p.Transparency {
		// gdImageColorTransparent(src, -1): the transparent entry is
		// kept only with image_filter_transparency on.
		pal.Palette = opaque(pal.Palette, body, t)
	}
	dx, dy := sx, sy
	resize := false
	switch p.Mode {
	case Resize:
		if uint64(dx) > p.MaxWidth {
			dy = max(int(uint64(dy)*p.MaxWidth/uint64(dx)), 1)
			dx = int(p.MaxWidth)
		}
		if uint64(dy) > p.MaxHeight {
			dx = max(int(uint64(dx)*p.MaxHeight/uint64(dy)), 1)
			dy = int(p.MaxHeight)
		}
		resize = true
	case Crop:
		if float64(dx)/float64(dy) < float64(p.MaxWidth)/float64(p.MaxHeight) {
			if uint64(dx) > p.MaxWidth {
				dy = max(int(uint64(dy)*p.MaxWidth/uint64(dx)), 1)
				dx = int(p.MaxWidth)
				resize = true
			}
		} else if uint64(dy) > p.MaxHeight {
			dx = max(int(uint64(dx)*p.MaxHeight/uint64(dy)), 1)
			dy = int(p.MaxHeight)
			resize = true
		}
	}
	dst := src
	if resize {
		dst = scale(src, dx, dy)
	}
	switch p.Angle {
	case 90, 180, 270:
		dst = rotate(dst, int(p.Angle))
		if p.Angle != 180 {
			dx, dy = dy, dx
		}
	}
	if p.Mode == Crop {
		ox, oy := 0, 0
		if uint64(dx) > p.MaxWidth {
			ox = dx - int(p.MaxWidth)
		}
		if uint64(dy) > p.MaxHeight {
			oy = dy - int(p.MaxHeight)
		}
		if ox != 0 || oy != 0 {
			dst = crop(dst, image.Rect(ox/2, oy/2, ox/2+dx-ox, oy/2+dy-oy))
		}
	}
	if p.Sharpen > 0 && !paletted {
		sharpen(dst.(*image.RGBA), p.Sharpen)
	}
	out, err := encode(dst, t, p)
	if err != nil {
		return Result{Err: err.Error()}
	}
	return Result{Outcome: Image, Body: out}
}

// decode reads an image with Go's decoders; a palette image stays one
// (as libgd keeps GIFs and palette PNGs), any other becomes RGBA.
func decode(body []byte, t Type) (image.Image, error) {
	r := bytes.NewReader(body)
	var cfg image.Config
	var err error
	switch t {
	case JPEG:
		cfg, err = jpeg.DecodeConfig(r)
	case GIF:
		cfg, err = gif.DecodeConfig(r)
	case PNG:
		cfg, err = png.DecodeConfig(r)
	default:
		// No WebP codec in Go's standard library: nginx built with a
		// libgd lacking WebP answers so too.
		return nil, errors.New("nginx was built without GD WebP support")
	}
	if err != nil {
		return nil, failed(t, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return nil, failed(t, errTooLarge)
	}
	r.Reset(body)
	var img image.Image
	switch t {
	case JPEG:
		img, err = jpeg.Decode(r)
	case GIF:
		img, err = gif.Decode(r)
	case PNG:
		img, err = png.Decode(r)
	}
	if err != nil {
		return nil, failed(t, err)
	}
	if p, ok := img.(*image.Paletted); ok {
		if p.Rect.Min != (image.Point{}) {
			q := image.NewPaletted(image.Rect(0, 0, p.Rect.Dx(), p.Rect.Dy()), p.Palette)
			draw.Draw(q, q.Rect, p, p.Rect.Min, draw.Src)
			p = q
		}
		return p, nil
	}
	b := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Rect, img, b.Min, draw.Src)
	return rgba, nil
}

// failed is nginx's error line for an image its decoder could not read
// (libgd's own reason goes to stderr, not to the log).
func failed(t Type, _ error) error {
	name := [...]string{"", "Jpeg", "Gif", "Png", "Webp"}[t]
	return errors.New("gdImageCreateFrom" + name + "Ptr() failed")
}

// opaque makes the transparent entry of a palette opaque. Go's GIF
// decoder zeroes that entry, so its colour is read again from the
// global colour table.
func opaque(pal color.Palette, body []byte, t Type) color.Palette {
	out := make(color.Palette, len(pal))
	copy(out, pal)
	for i, c := range out {
		r, g, b, a := c.RGBA()
		if a == 0xffff {
			continue
		}
		nc := color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 0xff}
		if a != 0 {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			nc = color.NRGBA{n.R, n.G, n.B, 0xff}
		} else if t == GIF && len(body) > 13 && body[10]&0x80 != 0 {
			if off := 13 + 3*i; off+3 <= len(body) && i < 2<<(body[10]&7) {
				nc = color.NRGBA{body[off], body[off+1], body[off+2], 0xff}
			}
		}
		out[i] = nc
	}
	return out
}

// scale resizes img to w×h: a palette image by its nearest pixels (its
// palette and transparent entry kept), any other by the mean of the
// source pixels each one covers.
func scale(img image.Image, w, h int) image.Image {
	sx, sy := img.Bounds().Dx(), img.Bounds().Dy()
	if p, ok := img.(*image.Paletted); ok {
		q := image.NewPaletted(image.Rect(0, 0, w, h), p.Palette)
		for y := 0; y < h; y++ {
			srcY := (2*y + 1) * sy / (2 * h)
			for x := 0; x < w; x++ {
				q.Pix[y*q.Stride+x] = p.Pix[srcY*p.Stride+(2*x+1)*sx/(2*w)]
			}
		}
		return q
	}
	src := img.(*image.RGBA)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		y0, y1 := y*sy/h, max((y+1)*sy/h, y*sy/h+1)
		for x := 0; x < w; x++ {
			x0, x1 := x*sx/w, max((x+1)*sx/w, x*sx/w+1)
			var sum [4]uint64
			for yy := y0; yy < y1; yy++ {
				row := src.Pix[yy*src.Stride:]
				for xx := x0; xx < x1; xx++ {
					for c := 0; c < 4; c++ {
						sum[c] += uint64(row[xx*4+c])
					}
				}
			}
			n := uint64((y1 - y0) * (x1 - x0))
			o := dst.Pix[y*dst.Stride+x*4:]
			for c := 0; c < 4; c++ {
				o[c] = uint8((sum[c] + n/2) / n)
			}
		}
	}
	return dst
}

// rotate turns img counter-clockwise by angle (90, 180 or 270).
func rotate(img image.Image, angle int) image.Image {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	nw, nh := h, w
	if angle == 180 {
		nw, nh = w, h
	}
	// where (x, y) of the new image comes from
	from := func(x, y int) (int, int) {
		switch angle {
		case 90:
			return w - 1 - y, x
		case 180:
			return w - 1 - x, h - 1 - y
		}
		return y, h - 1 - x
	}
	if p, ok := img.(*image.Paletted); ok {
		q := image.NewPaletted(image.Rect(0, 0, nw, nh), p.Palette)
		for y := 0; y < nh; y++ {
			for x := 0; x < nw; x++ {
				fx, fy := from(x, y)
				q.Pix[y*q.Stride+x] = p.Pix[fy*p.Stride+fx]
			}
		}
		return q
	}
	src := img.(*image.RGBA)
	dst := image.NewRGBA(image.Rect(0, 0, nw, nh))
	for y := 0; y < nh; y++ {
		for x := 0; x < nw; x++ {
			fx, fy := from(x, y)
			copy(dst.Pix[y*dst.Stride+x*4:y*dst.Stride+x*4+4], src.Pix[fy*src.Stride+fx*4:])
		}
	}
	return dst
}

// crop copies the part r of img into a new image at the origin.
func crop(img image.Image, r image.Rectangle) image.Image {
	out := image.Rect(0, 0, r.Dx(), r.Dy())
	if p, ok := img.(*image.Paletted); ok {
		q := image.NewPaletted(out, p.Palette)
		draw.Draw(q, out, p, r.Min, draw.Src)
		return q
	}
	dst := image.NewRGBA(out)
	draw.Draw(dst, out, img, r.Min, draw.Src)
	return dst
}

// sharpen is gdImageSharpen: each pixel less pct/400 of each of its
// neighbours in a column, then in a row, the weights summing to one.
func sharpen(img *image.RGBA, pct uint64) {
	outer := -float64(pct) / 400
	inner := 1 - 2*outer
	w, h := img.Rect.Dx(), img.Rect.Dy()
	pass := func(n, stride, step, count int) {
		prev := make([]float64, 4)
		for line := 0; line < count; line++ {
			base := line * stride
			for c := 0; c < 4; c++ {
				prev[c] = float64(img.Pix[base+c])
			}
			for i := 1; i < n-1; i++ {
				o := base + i*step
				for c := 0; c < 3; c++ {
					cur := float64(img.Pix[o+c])
					v := inner*cur + outer*(prev[c]+float64(img.Pix[o+step+c]))
					prev[c] = cur
					img.Pix[o+c] = uint8(min(max(v, 0), float64(img.Pix[o+3])))
				}
			}
		}
	}
	pass(h, 4, img.Stride, w) // columns
	pass(w, img.Stride, 4, h) // rows
}

// encode writes img as type t: JPEG at image_filter_jpeg_quality, with
// the JFIF and comment segments libgd's libjpeg writes; GIF and PNG
// interlaced with image_filter_interlace (JPEG not: Go writes no
// progressive JPEG).
func encode(img image.Image, t Type, p *Params) ([]byte, error) {
	var b bytes.Buffer
	switch t {
	case JPEG:
		q := p.JPEGQuality
		if q == 0 || q > 1<<62 {
			return nil, errors.New("") // nginx logs nothing for it
		}
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: int(min(q, 100))}); err != nil {
			return nil, errors.New("gdImageJpegPtr() failed")
		}
		return jpegSegments(b.Bytes(), q), nil
	case GIF:
		pal, ok := img.(*image.Paletted)
		if !ok {
			return nil, errors.New("gdImageGifPtr() failed")
		}
		if p.Interlace {
			pal = interlaceRows(pal)
		}
		if err := gif.Encode(&b, pal, &gif.Options{NumColors: 256}); err != nil {
			return nil, errors.New("gdImageGifPtr() failed")
		}
		out := b.Bytes()
		if p.Interlace {
			setGIFInterlaced(out)
		}
		return out, nil
	case PNG:
		if p.Interlace {
			return encodeInterlacedPNG(img), nil
		}
		if err := png.Encode(&b, img); err != nil {
			return nil, errors.New("gdImagePngPtr() failed")
		}
		return b.Bytes(), nil
	}
	return nil, errors.New("unknown image type")
}

// jpegSegments puts libjpeg's JFIF APP0 and libgd's comment after the
// SOI of Go's encoding, which writes neither.
func jpegSegments(enc []byte, q uint64) []byte {
	comment := "CREATOR: gd-jpeg v1.0 (using IJG JPEG v62), quality = " + strconv.FormatUint(q, 10) + "\n"
	out := make([]byte, 0, len(enc)+20+4+len(comment))
	out = append(out, enc[:2]...)
	out = append(out, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)
	n := len(comment) + 2
	out = append(out, 0xff, 0xfe, byte(n>>8), byte(n))
	out = append(out, comment...)
	return append(out, enc[2:]...)
}

// interlaceRows orders p's rows as an interlaced GIF stores them (every
// 8th from 0, every 8th from 4, every 4th from 2, every 2nd from 1), so
// that Go's encoder, which writes rows in order, writes them so.
func interlaceRows(p *image.Paletted) *image.Paletted {
	q := image.NewPaletted(p.Rect, p.Palette)
	h, w := p.Rect.Dy(), p.Rect.Dx()
	i := 0
	for _, pass := range [4][2]int{{0, 8}, {4, 8}, {2, 4}, {1, 2}} {
		for y := pass[0]; y < h; y += pass[1] {
			copy(q.Pix[i*q.Stride:i*q.Stride+w], p.Pix[y*p.Stride:])
			i++
		}
	}
	return q
}

// setGIFInterlaced sets the interlace flag of a GIF's first image
// descriptor.
func setGIFInterlaced(g []byte) {
	i := 13
	if g[10]&0x80 != 0 {
		i += 3 << (g[10]&7 + 1)
	}
	for i < len(g) {
		switch g[i] {
		case 0x2c: // image descriptor: its flags are its 10th byte
			if i+9 < len(g) {
				g[i+9] |= 0x40
			}
			return
		case 0x21: // extension: label, then sub-blocks
			i += 2
			for i < len(g) && g[i] != 0 {
				i += int(g[i]) + 1
			}
			i++
		default:
			return
		}
	}
}
