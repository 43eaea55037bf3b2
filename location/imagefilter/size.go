// Package imagefilter is nginx's image filter (ngx_http_image_filter_module)
// apart from locations and the wire: the image types told by their first
// bytes, the sizes read from their headers, the JSON of "image_filter size",
// the resize, crop and rotate transforms (Go's image packages standing for
// libgd), and the body filter Link that reads a response's body up to
// image_filter_buffer before it answers.
//
// What the response's head becomes (held until the body is read, the 415
// of a body that is no image) is package location's (imagefilter.go
// there): it hands the Filter a Host.
package imagefilter

import "strconv"

// Type is an image type as the filter tells it (NGX_HTTP_IMAGE_*).
type Type uint8

const (
	None Type = iota
	JPEG
	GIF
	PNG
	WebP
)

var contentTypes = [...]string{"", "image/jpeg", "image/gif", "image/png", "image/webp"}

// ContentType is the response's Content-Type for an image of type t.
func (t Type) ContentType() string { return contentTypes[t] }

// Name is the type in the size JSON ("jpeg", ...).
func (t Type) Name() string {
	if t == None {
		return ""
	}
	return contentTypes[t][len("image/"):]
}

// Detect tells the type of an image from its first bytes, as
// ngx_http_image_test: fewer than 16 bytes are no image.
func Detect(p []byte) Type {
	if len(p) < 16 {
		return None
	}
	switch {
	case p[0] == 0xff && p[1] == 0xd8:
		return JPEG
	case p[0] == 'G' && p[1] == 'I' && p[2] == 'F' && p[3] == '8' && p[5] == 'a':
		if p[4] == '9' || p[4] == '7' {
			return GIF
		}
	case p[0] == 0x89 && string(p[1:8]) == "PNG\r\n\x1a\n":
		return PNG
	case string(p[0:4]) == "RIFF" && string(p[8:12]) == "WEBP":
		return WebP
	}
	return None
}

// Header is what the size reader found in an image's header.
type Header struct {
	Width, Height int
	// Force: a JPEG whose application data (EXIF, XMP, ...) is more than
	// 5% of its length is converted even when it fits, to drop them.
	Force bool
}

// Size reads the width and height of an image of type t from its header,
// as ngx_http_image_size; ok is false when the header is not one.
// length is the buffer's length as nginx counts it (the response's
// Content-Length, or image_filter_buffer when it had none): nginx reads
// up to it, and bytes past the body read as zero here.
func Size(p []byte, t Type, length int) (h Header, ok bool) {
	at := func(i int) int {
		if i >= 0 && i < len(p) && i < length {
			return int(p[i])
		}
		return 0
	}
	switch t {
	case JPEG:
		last := length - 10
		width, height, app := 0, 0, 0
		for i := 2; i < last; {
			if at(i) == 0xff && at(i+1) != 0xff {
				i++
				m := at(i)
				if (m == 0xc0 || m == 0xc1 || m == 0xc2 || m == 0xc3 || m == 0xc9 || m == 0xca || m == 0xcb) &&
					(width == 0 || height == 0) {
					width = at(i+6)*256 + at(i+7)
					height = at(i+4)*256 + at(i+5)
				}
				n := at(i+1)*256 + at(i+2)
				if m >= 0xe1 && m <= 0xef {
					app += n
				}
				i += n
				continue
			}
			i++
		}
		if width == 0 || height == 0 {
			return h, false
		}
		h.Force = length/20 < app
		h.Width, h.Height = width, height
	case GIF:
		if length < 10 {
			return h, false
		}
		h.Width, h.Height = at(7)*256+at(6), at(9)*256+at(8)
	case PNG:
		if length < 24 {
			return h, false
		}
		h.Width, h.Height = at(18)*256+at(19), at(22)*256+at(23)
	case WebP:
		if length < 30 || at(12) != 'V' || at(13) != 'P' || at(14) != '8' {
			return h, false
		}
		switch at(15) {
		case ' ':
			if at(20)&1 != 0 || at(23) != 0x9d || at(24) != 0x01 || at(25) != 0x2a {
				return h, false // not a key frame, or no start code
			}
			h.Width = (at(26) | at(27)<<8) & 0x3fff
			h.Height = (at(28) | at(29)<<8) & 0x3fff
		case 'L':
			if at(20) != 0x2f {
				return h, false
			}
			h.Width = (at(21)|at(22)<<8)&0x3fff + 1
			h.Height = (at(22)>>6|at(23)<<2|at(24)<<10)&0x3fff + 1
		case 'X':
			h.Width = (at(24) | at(25)<<8 | at(26)<<16) + 1
			h.Height = (at(27) | at(28)<<8 | at(29)<<16) + 1
		default:
			return h, false
		}
	default:
		return h, false
	}
	return h, true
}

// EmptyJSON is "image_filter size"'s answer for a body that is no image
// it can read.
const EmptyJSON = "{}\r\n"

// AppendJSON appends "image_filter size"'s answer for an image, nginx's
// text byte for byte.
func AppendJSON(dst []byte, h Header, t Type) []byte {
	dst = append(dst, `{ "img" : { "width": `...)
	dst = strconv.AppendInt(dst, int64(h.Width), 10)
	dst = append(dst, `, "height": `...)
	dst = strconv.AppendInt(dst, int64(h.Height), 10)
	dst = append(dst, `, "type": "`...)
	dst = append(dst, t.Name()...)
	return append(dst, "\" } }\r\n"...)
}
