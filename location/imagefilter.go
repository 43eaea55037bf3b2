package location

import (
	"github.com/gonginx/gonginx/location/imagefilter"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The image filter (ngx_http_image_filter_module, Debian's dynamic
// module): its directives, its header part, and the held head its body
// part (imagefilter.Filter) answers for once it has read the body.

// imageConf is a level's image_filter settings. A value with variables
// is evaluated when the body is whole (its cv set; the number unused).
type imageConf struct {
	mode                  imagefilter.Mode
	width, height, angle  uint64
	wcv, hcv, acv         *rewrite.Complex
	jpegQ, webpQ, sharpen uint64
	jqcv, wqcv, shcv      *rewrite.Complex
	transparency          bool
	interlace             bool
	buffer                int64
}

var defaultImageConf = imageConf{jpegQ: 75, webpQ: 80, transparency: true, buffer: 1 << 20}

// imageFilterLine applies one image_filter* directive, as
// ngx_http_image_filter and its siblings. A level with image_filter
// lines inherits none of the enclosing level's (applyBlock resets them).
func (c *compiler) imageFilterLine(conf *locConf, d *nginxconf.Directive) error {
	img := &conf.img
	switch d.Name {
	case "image_filter_buffer":
		if n, ok := nginxconf.ParseSize(d.Args[0]); ok {
			img.buffer = n
		}
		return nil
	case "image_filter_interlace":
		img.interlace = onOff(d)
		return nil
	case "image_filter_transparency":
		img.transparency = onOff(d)
		return nil
	case "image_filter_jpeg_quality":
		return c.imageValue(d, &img.jpegQ, &img.jqcv, false)
	case "image_filter_webp_quality":
		return c.imageValue(d, &img.webpQ, &img.wqcv, false)
	case "image_filter_sharpen":
		return c.imageValue(d, &img.sharpen, &img.shcv, true)
	}
	a := d.Args
	switch len(a) {
	case 1:
		switch a[0] {
		case "off":
			img.mode = imagefilter.Off
		case "test":
			img.mode = imagefilter.Test
		case "size":
			img.mode = imagefilter.SizeOnly
		default:
			return confErr(d, "invalid parameter \"%s\"", a[0])
		}
		return nil
	case 2:
		if a[0] != "rotate" {
			return confErr(d, "invalid parameter \"%s\"", a[0])
		}
		// rotate with resize or crop rotates after them
		if img.mode != imagefilter.Resize && img.mode != imagefilter.Crop {
			img.mode = imagefilter.Rotate
		}
		cv, n, err := c.imageArg(d, a[1])
		if err != nil {
			return err
		}
		if cv == nil && n != 90 && n != 180 && n != 270 {
			return confErr(d, "invalid parameter \"%s\"", a[1])
		}
		img.angle, img.acv = n, cv
		return nil
	}
	switch a[0] {
	case "resize":
		img.mode = imagefilter.Resize
	case "crop":
		img.mode = imagefilter.Crop
	default:
		return confErr(d, "invalid parameter \"%s\"", a[0])
	}
	for i, dst := range [2]struct {
		n  *uint64
		cv **rewrite.Complex
	}{{&img.width, &img.wcv}, {&img.height, &img.hcv}} {
		cv, n, err := c.imageArg(d, a[1+i])
		if err != nil {
			return err
		}
		if cv == nil && n == 0 {
			return confErr(d, "invalid parameter \"%s\"", a[1+i])
		}
		*dst.n, *dst.cv = n, cv
	}
	return nil
}

// imageArg compiles a value: its complex value when it has variables,
// else its number (ngx_http_image_filter_value).
func (c *compiler) imageArg(d *nginxconf.Directive, arg string) (*rewrite.Complex, uint64, error) {
	cv, err := c.rc.Complex(arg)
	if err != nil {
		return nil, 0, rewrite.At(err, d)
	}
	if _, ok := cv.Static(); ok {
		return nil, imagefilter.Value([]byte(arg)), nil
	}
	return cv, 0, nil
}

// imageValue reads image_filter_jpeg_quality, _webp_quality (above 0)
// or _sharpen (0 or more); a level's line replaces both the number and
// the value with variables it inherited.
func (c *compiler) imageValue(d *nginxconf.Directive, n *uint64, cvp **rewrite.Complex, zeroOK bool) error {
	cv, v, err := c.imageArg(d, d.Args[0])
	if err != nil {
		return err
	}
	// nginx's checks: a quality above 0, a sharpen not negative ("-").
	if cv == nil && (v == imagefilter.Unlimited || v == 0 && !zeroOK) {
		return confErr(d, "invalid value \"%s\"", d.Args[0])
	}
	*n, *cvp = v, cv
	return nil
}

// imageApplies reports whether the image filter takes x's response
// (its header filter's first tests).
func (x *exchange) imageApplies(conf *locConf, status int) bool {
	return conf.img.mode != imagefilter.Off && status != 304 && !x.isSub() && x.imgPassed != conf
}

// imageFilterHeader is ngx_http_image_header_filter: the head is held,
// ranges are off, and the body goes to the filter's link.
func (x *exchange) imageFilterHeader(resp *http1.Response, conf *locConf) {
	if x.imgPassed == conf {
		x.imgPassed = nil // one response passes: the 415 the filter asked for
		if rm := x.rare; rm != nil && len(rm.imgKept) > 0 {
			rm.imgMerged = append(append(rm.imgMerged[:0], rm.imgKept...), resp.Headers...)
			rm.imgKept = rm.imgKept[:0]
			resp.Headers = rm.imgMerged
		}
		return
	}
	if !x.imageApplies(conf, resp.Status) {
		return
	}
	const mixed = "multipart/x-mixed-replace"
	if ct := resp.ContentType; len(ct) >= len(mixed) && equalFold(ct[:len(mixed)], mixed) {
		x.log.Logf(x, "error", "image filter: multipart/x-mixed-replace response")
		resp.Drop = true
		return
	}
	length := resp.ContentLength
	if length > conf.img.buffer {
		action := "sending response to client"
		if x.proxied {
			action = "reading response header from upstream"
		}
		x.log.Logf(x, "error", "%s while %s", imagefilter.TooBig(length), action)
		x.imgPassed = conf
		x.keepImageHeaders(resp.Headers)
		resp.Refuse = 415
		return
	}
	if length < 0 {
		length = conf.img.buffer
	}
	if i := lastHeader(resp.Headers, "refresh"); i >= 0 {
		resp.Headers = append(resp.Headers[:i], resp.Headers[i+1:]...)
	}
	resp.RangeHeaders, resp.AllowRanges = nil, 0 // r->allow_ranges = 0
	resp.Hold = true
	x.imgHolding = true
	rm := x.rareMem()
	rm.imgHost = imageHost{x: x, resp: resp, conf: conf}
	rm.img.Reset(&rm.imgHost, conf.img.mode, length)
	x.chain.Push(&rm.img)
}

// keepImageHeaders keeps the head's lines for the 415 the header filter
// answers with: nginx's special response goes out with headers_out as the
// filters above left it (add_header's lines, a backend's), less what
// ngx_http_send_special_response clears. The values are copied: their
// memory is the next head's.
func (x *exchange) keepImageHeaders(hs []http1.Header) {
	rm := x.rareMem()
	buf := rm.imgKeptBuf[:0]
	for _, h := range hs {
		if http1.EqualFold(h.Name, "etag") || http1.EqualFold(h.Name, "last-modified") ||
			http1.EqualFold(h.Name, "accept-ranges") {
			continue
		}
		buf = append(append(buf, h.Name...), h.Value...)
	}
	rm.imgKeptBuf = buf
	kept := rm.imgKept[:0]
	for _, h := range hs {
		if http1.EqualFold(h.Name, "etag") || http1.EqualFold(h.Name, "last-modified") ||
			http1.EqualFold(h.Name, "accept-ranges") {
			continue
		}
		n, v := len(h.Name), len(h.Value)
		kept = append(kept, http1.Header{Name: buf[:n:n], Value: buf[n : n+v : n+v]})
		buf = buf[n+v:]
	}
	rm.imgKept = kept
}

// imageFilterEnd answers a response whose body ended with its head still
// held: the filter found no image it could answer with, so nginx's
// ngx_http_filter_finalize_request answers 415 (error_page applies) and
// the connection closes after it. It reports whether it answered.
// Its first test is inlined at the callers (the rest is imageFilterEndRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) imageFilterEnd() bool {
	if !x.imgHolding {
		return false
	}
	return x.imageFilterEndRun()
}

// imageFilterEndRun is imageFilterEnd past its first test.
func (x *exchange) imageFilterEndRun() bool {
	if !x.imgHolding || !x.c.Held() {
		return false
	}
	x.c.DropHeld()
	if x.c.Aborted() || x.c.Terminated() {
		return true // a body cut short: nothing goes out
	}
	x.imgPassed = x.curConf
	if x.rare != nil && x.rare.imgHost.conf != nil {
		x.imgPassed = x.rare.imgHost.conf
	}
	x.special(415)
	x.c.CloseAfter()
	return true
}

// imageHost is imagefilter.Host for x's response.
type imageHost struct {
	x      *exchange
	resp   *http1.Response
	conf   *locConf
	params imagefilter.Params
	tmp    []byte // a value evaluated
}

var appJSON = []byte("application/json")

// Pass is Host's: the type the first bytes tell is the response's type.
func (h *imageHost) Pass(t imagefilter.Type) error {
	h.setType(t)
	return h.write()
}

func (h *imageHost) setType(t imagefilter.Type) {
	h.resp.ContentType = []byte(t.ContentType())
	h.resp.Charset = nil
}

// Answer is Host's.
func (h *imageHost) Answer(t imagefilter.Type, r *imagefilter.Result) error {
	resp := h.resp
	switch r.Outcome {
	case imagefilter.Fail:
		return nil // imageFilterEnd answers
	case imagefilter.JSON:
		// ngx_http_clean_header: nothing of the head is left.
		*resp = http1.Response{
			Status: 200, ContentType: appJSON, LastModified: -1,
			ServerTokensOff: resp.ServerTokensOff, Close: resp.Close,
			KeepAliveTimeout: resp.KeepAliveTimeout, NoChunked: resp.NoChunked,
			Body: resp.Body,
		}
		h.x.st.Status = 200
		h.x.status = 200
	case imagefilter.Image:
		h.setType(t)
		h.x.weakenETag(resp) // ngx_http_image_resize: the length is set below
	default:
		h.setType(t)
	}
	resp.ContentLength = int64(len(r.Body))
	err := h.write()
	if r.Close {
		h.x.c.CloseAfter()
	}
	return err
}

// write sends the held head; a HEAD's request ends there in nginx
// (ngx_http_image_send's NGX_ERROR for a header-only response), so its
// connection closes.
func (h *imageHost) write() error {
	x := h.x
	err := x.c.WriteHeld(h.resp)
	if x.req != nil && x.req.MethodCode == http1.MethodHEAD {
		x.c.CloseAfter()
	}
	return err
}

// Params is Host's: the values with variables evaluated.
func (h *imageHost) Params() *imagefilter.Params {
	x, ic := h.x, &h.conf.img
	eval := func(cv *rewrite.Complex, n uint64) uint64 {
		if cv == nil {
			return n
		}
		h.tmp = cv.Eval(&x.st, h.tmp[:0])
		return imagefilter.Value(h.tmp)
	}
	h.params = imagefilter.Params{
		Mode:         ic.mode,
		MaxWidth:     eval(ic.wcv, ic.width),
		MaxHeight:    eval(ic.hcv, ic.height),
		Angle:        eval(ic.acv, ic.angle),
		JPEGQuality:  eval(ic.jqcv, ic.jpegQ),
		WebPQuality:  eval(ic.wqcv, ic.webpQ),
		Sharpen:      eval(ic.shcv, ic.sharpen),
		Transparency: ic.transparency,
		Interlace:    ic.interlace,
	}
	return &h.params
}

// Log is Host's, with what nginx's log says the request was doing: the
// filter runs as the body is sent (a backend's body: by the upstream's
// sending, in nginx's words).
func (h *imageHost) Log(msg string) {
	action := "sending response to client"
	if h.x.proxied {
		action = "sending to client"
	}
	h.x.log.Logf(h.x, "error", "%s while %s", msg, action)
}
