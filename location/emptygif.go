package location

import "github.com/gonginx/gonginx/rewrite/http1"

// The empty_gif content handler (ngx_http_empty_gif_module): a location's
// handler, like proxy_pass, answering every GET and HEAD with a 1x1
// transparent GIF.

// emptyGIF is nginx's ngx_empty_gif, 43 bytes.
var emptyGIF = []byte{
	'G', 'I', 'F', '8', '9', 'a', // header
	0x01, 0x00, 0x01, 0x00, // width, height
	0x80, 0x01, 0x00, // global 1-bit color table, background color #1, no aspect ratio
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff, // color #0 black, color #1 white
	0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x01, 0x00, // graphic control extension: color #1 transparent
	0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // image descriptor
	0x02, 0x02, 0x4c, 0x01, 0x00, // image data
	0x3b, // trailer
}

// emptyGIFTime is the Last-Modified nginx gives it (Mon, 28 Sep 1970
// 06:00:00 GMT).
const emptyGIFTime = 23349600

var typeGIF = []byte("image/gif")

// emptyGif is ngx_http_empty_gif_handler through ngx_http_send_response:
// 405 for other methods; the body discarded; Last-Modified set, so the
// not-modified filter may answer 304 (there is no ETag and no ranges).
func (x *exchange) emptyGif(conf *locConf) int {
	m := x.req.MethodCode
	if m != http1.MethodGET && m != http1.MethodHEAD {
		return 405
	}
	if rc := x.discardBody(); rc != 0 {
		return rc
	}
	r := x.newResp(200, conf)
	r.ContentType = typeGIF
	r.ContentLength = int64(len(emptyGIF))
	r.LastModified = emptyGIFTime
	switch x.notModifiedFilter(conf, emptyGIFTime, nil) {
	case 412:
		return 412
	case 304:
		r.Status, r.ContentType, r.ContentLength = 304, nil, -1
		x.writeHeader(r)
		return 0
	}
	x.writeHeader(r)
	if m != http1.MethodHEAD {
		x.write(emptyGIF)
	}
	return 0
}
