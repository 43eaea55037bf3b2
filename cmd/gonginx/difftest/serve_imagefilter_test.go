package difftest

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/url"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The image filter (Debian's dynamic ngx_http_image_filter_module.so):
// size, test, resize, crop and rotate, with values from variables, over
// GIF, PNG (palette and true colour), JPEG (one whose EXIF forces a
// conversion), WebP headers, text and truncated images; the buffer's 415,
// error_page for the 415, HEAD, ranges, 304 and proxied bodies. nginx's
// images are libgd's and gonginx's Go's: responses are compared by
// status, headers and the decoded type and size (Request.ImageShape),
// and by how the connection ends (nginx closes it after the filter's
// errors and after a HEAD).
func TestServeImageFilter(t *testing.T) {
	t.Parallel()
	nginx, gonginx := serveNginx(t), serveUnderTest(t)
	const load = "load_module /usr/lib/nginx/modules/ngx_http_image_filter_module.so;\nevents {}"
	nginx.NginxEvents, gonginx.NginxEvents = load, load
	gifBody := imageSample(t, "gif", 100, 120)
	small := imageSample(t, "gif", 8, 6)
	files := map[string]string{
		"img/gif":       string(gifBody),
		"img/png":       string(imageSample(t, "png", 100, 120)),
		"img/jpeg":      string(imageSample(t, "jpeg", 100, 120)),
		"img/tc.png":    string(imageSample(t, "tc.png", 64, 48)),
		"img/exif.jpg":  string(exifJPEG(t)),
		"img/trunc.png": string(imageSample(t, "png", 100, 120)[:60]),
		"img/txt":       "SEE-THIS",
		"img/webp": "RIFF\x22\x00\x00\x00WEBPVP8 \x16\x00\x00\x00\x30\x01\x00\x9d\x01\x2a\x01\x00\x01\x00\x0e\xc0" +
			"\xfe\x25\xa4\x00\x03\x70\x00\x00\x00\x00",
		"img/webperr": "RIFF\x22\x00\x00\x00WEBPERR \x16\x00\x00\x00\x30\x01\x00\x9d\x01\x2a\x01\x00\x01\x00\x0e\xc0" +
			"\xfe\x25\xa4\x00\x03\x70\x00\x00\x00\x00",
	}
	config := `log_format img "$uri $args $status";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log img.log img;
    add_header X-Added yes;
    location /size/ { image_filter size; alias img/; }
    location /test/ {
        image_filter test;
        alias img/;
        location /test/off/ { image_filter off; alias img/; }
    }
    location /resize/ { image_filter resize 10 12; alias img/; }
    location /resize1/ { image_filter resize 10 -; alias img/; }
    location /resize_var/ { image_filter resize $arg_w $arg_h; alias img/; }
    location /rotate/ { image_filter rotate 90; alias img/; }
    location /rotate_var/ { image_filter rotate $arg_r; alias img/; }
    location /crop/ { image_filter crop 60 80; alias img/; }
    location /crop_rotate/ {
        image_filter crop $arg_w $arg_h;
        image_filter rotate $arg_r;
        alias img/;
        location /crop_rotate/resize/ { image_filter resize 10 12; alias img/; }
    }
    location /quality/ {
        image_filter resize 10 12;
        image_filter_jpeg_quality $arg_q;
        image_filter_sharpen 30;
        image_filter_interlace on;
        alias img/;
    }
    location /opaque/ { image_filter resize 10 12; image_filter_transparency off; alias img/; }
    location /buffer/ { image_filter resize 10 12; image_filter_buffer 1k; alias img/; }
    location /ep/ { image_filter resize 10 12; error_page 415 = /empty; alias img/; }
    location /empty { return 204; }
    location /px/ { image_filter resize 4 3; proxy_pass http://{{BACKEND}}; }
    location /pxsize/ { image_filter size; proxy_pass http://{{BACKEND}}; }
    location /pxtest/ { image_filter test; proxy_pass http://{{BACKEND}}; proxy_force_ranges on; }
    location /pxbuffer/ { image_filter test; image_filter_buffer 100; proxy_pass http://{{BACKEND}}; }
}
`
	get := func(target string, extra ...string) harness.Request {
		h := ""
		for _, x := range extra {
			h += x + "\r\n"
		}
		return harness.Request{Name: target, ImageShape: true,
			Send: []string{"GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + h + "\r\n"}}
	}
	head := func(target string) harness.Request {
		return harness.Request{Name: "HEAD " + target, ImageShape: true,
			Send: []string{"HEAD " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n"}}
	}
	bigTyped := "/typed?ct=" + url.QueryEscape("image/gif") + "&body=" + url.QueryEscape(string(gifBody))
	// a backend's GIF with its own Accept-Ranges and ETag (kept, the ETag
	// weak for a new image) and a type that is not the image's
	accelGIF := "/accel?h=" + url.QueryEscape("Accept-Ranges: bytes") + "&h=" + url.QueryEscape(`ETag: "abc"`) +
		"&b=" + url.QueryEscape(string(gifBody))
	truncTyped := "/typed?ct=" + url.QueryEscape("image/png") + "&body=" + url.QueryEscape(files["img/trunc.png"])
	typed := "/typed?ct=" + url.QueryEscape("image/gif") + "&body=" + url.QueryEscape(string(small))
	var reqs []harness.Request
	for _, f := range []string{"gif", "png", "jpeg", "tc.png", "txt", "trunc.png", "webp", "webperr"} {
		reqs = append(reqs, get("/size/"+f))
	}
	reqs = append(reqs, head("/size/txt"), head("/size/gif"),
		get("/test/gif"), get("/test/txt"), get("/test/webp"), head("/test/gif"), head("/test/txt"), get("/test/off/txt"),
		get("/test/gif", "Range: bytes=0-10"), get("/test/gif", "If-None-Match: *"))
	for _, f := range []string{"gif", "png", "jpeg", "tc.png", "exif.jpg", "txt", "trunc.png"} {
		reqs = append(reqs, get("/resize/"+f), get("/rotate/"+f), get("/crop/"+f))
	}
	// A WebP that fits goes as it is; one to transform is nginx's with
	// Debian's libgd and a 415 here (no WebP codec in Go's library), as
	// nginx with a libgd without WebP: not compared.
	reqs = append(reqs, get("/resize/webp"), get("/crop/webp"))
	reqs = append(reqs, head("/resize/gif"),
		get("/resize1/gif"), get("/resize1/jpeg"),
		get("/resize_var/gif?w=10&h=12"), get("/resize_var/png?w=-&h=7"), get("/resize_var/gif?w=10"),
		get("/resize_var/gif?w=200&h=200"),
		get("/rotate_var/png?r=180"), get("/rotate_var/jpeg?r=270"), get("/rotate_var/gif?r=45"), get("/rotate_var/gif"),
		get("/crop_rotate/gif?w=5&h=6&r=90"), get("/crop_rotate/tc.png?w=30&h=10&r=180"),
		get("/crop_rotate/resize/gif?w=5&h=6&r=90"),
		get("/quality/jpeg?q=40"), get("/quality/jpeg"), get("/quality/gif?q=1"), get("/quality/tc.png?q=1"),
		get("/opaque/gif"), get("/opaque/png"),
		get("/buffer/jpeg"), head("/buffer/jpeg"), get("/buffer/txt"), get("/pxbuffer"+bigTyped), get("/ep/txt"), get("/ep/gif"),
		get("/px"+typed), get("/px/chunked"), get("/px"+truncTyped), get("/pxsize/chunked"), get("/pxsize"+typed), get("/pxtest/chunked"),
		get("/pxtest"+typed, "Range: bytes=0-20"), get("/pxtest"+typed),
		get("/px"+accelGIF), get("/pxsize"+accelGIF), get("/pxtest"+accelGIF),
		get("/px/status/404"), get("/pxsize/status/404"))
	c := harness.Case{Name: "image_filter", Config: config, Content: files, Requests: reqs,
		AccessLogFiles: []string{"img.log"}, ErrorMessages: true}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))

	// Over HTTP/2 the filter's errors end a stream, not the connection:
	// streams one after another on one connection, the answers whose
	// bytes are nginx's (pages, JSON, images as they are).
	var streams []string
	for _, r := range []string{"GET /test/txt", "GET /size/txt", "GET /size/gif", "GET /ep/txt",
		"GET /test/gif", "HEAD /size/gif", "GET /resize/webp", "GET /buffer/jpeg", "GET /px/chunked"} {
		streams = append(streams, r+" HTTP/1.1\r\nHost: localhost\r\n\r\n")
	}
	h2 := harness.Case{Name: "image_filter h2", Content: files,
		Config:   strings.Replace(config, "listen 127.0.0.1:{{PORT}};", "listen 127.0.0.1:{{PORT}} http2;", 1),
		Requests: []harness.Request{{Name: "streams", H2: true, Send: streams}}, AccessLogFiles: []string{"img.log"}}
	harness.Compare(t, h2, nginx, gonginx, serveAssets(t))
}

// imageSample makes a w×h test image: "gif" and "png" with a palette
// whose white first entry is transparent (as the suite's GD image),
// "jpeg" from the same pixels, "tc.png" in true colour with alpha.
func imageSample(t *testing.T, kind string, w, h int) []byte {
	t.Helper()
	pal := color.Palette{color.NRGBA{255, 255, 255, 0}, color.NRGBA{0, 0, 0, 255}, color.NRGBA{200, 10, 10, 255}}
	p := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for y := 0; y < h; y++ {
		for x := 0; x < w/2; x++ {
			p.Pix[y*p.Stride+x] = uint8(1 + (x/3+y/3)%2)
		}
	}
	var b bytes.Buffer
	var err error
	switch kind {
	case "gif":
		err = gif.Encode(&b, p, nil)
		// Go writes the transparent entry black; GD's is white.
		copy(b.Bytes()[13:16], []byte{255, 255, 255})
	case "png":
		err = png.Encode(&b, p)
	case "jpeg":
		err = jpeg.Encode(&b, p, &jpeg.Options{Quality: 90})
	case "tc.png":
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				img.Set(x, y, color.NRGBA{uint8(x * 4), uint8(y * 5), 90, uint8(255 - x)})
			}
		}
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// exifJPEG is a 20×20 JPEG whose APP1 segment is over 5% of it: nginx
// converts it even though it fits, to drop the data.
func exifJPEG(t *testing.T) []byte {
	plain := imageSample(t, "jpeg", 20, 20)
	app := append([]byte{0xff, 0xe1, 0x01, 0x02, 'E', 'x', 'i', 'f', 0, 0}, make([]byte, 0x102-8)...)
	return append(append(append([]byte{}, plain[:2]...), app...), plain[2:]...)
}
