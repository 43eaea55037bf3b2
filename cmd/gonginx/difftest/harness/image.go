package harness

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif" // decoders for image.DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"strconv"
	"strings"
)

// shapeImage summarizes the body of an image/* response (Request.ImageShape)
// as "<image FORMAT WxH>" and rewrites its Content-Length line in lines to
// say only whether it matched the body: the image filter's output is
// libgd's under nginx and Go's under gonginx, the same in type and size,
// not in bytes.
func shapeImage(lines, headers []string, body []byte, on bool) (string, bool) {
	if !on || !strings.HasPrefix(headerValue(headers, "Content-Type"), "image/") {
		return "", false
	}
	for i := 1; i < len(lines); i++ {
		name, v, ok := strings.Cut(lines[i], ":")
		if !ok || !strings.EqualFold(name, "Content-Length") {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n == len(body) {
			lines[i] = name + ": <the body's length>"
		}
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
	if err != nil {
		if bytes.HasPrefix(body, []byte("RIFF")) {
			return fmt.Sprintf("<RIFF, %d bytes>", len(body)), true // WebP: no decoder here
		}
		return "<not an image: " + summarize(body) + ">", true
	}
	return fmt.Sprintf("<image %s %dx%d>", format, cfg.Width, cfg.Height), true
}

// shapeHead hides the Content-Length of an image/* answer to a HEAD
// (Request.ImageShape): there is no body to check it against.
func shapeHead(lines, headers []string, method string, on bool) {
	if !on || method != "HEAD" || !strings.HasPrefix(headerValue(headers, "Content-Type"), "image/") {
		return
	}
	for i := 1; i < len(lines); i++ {
		if name, _, ok := strings.Cut(lines[i], ":"); ok && strings.EqualFold(name, "Content-Length") {
			lines[i] = name + ": <an image's length>"
		}
	}
}
