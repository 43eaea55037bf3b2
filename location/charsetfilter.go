package location

import (
	"bytes"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The charset filter's header part (ngx_http_charset_header_filter): the
// charset Content-Type names, and whether the body is recoded from the
// source charset (source_charset, or the one a backend's Content-Type
// names) to it. The tables are the http block's charset_maps (charset.go);
// the recoding is filter.Recode.

// charsetPlan is what the filter does to one response.
type charsetPlan struct {
	apply    bool   // the filter takes the response
	set      bool   // Content-Type is to name dst (ngx_http_set_charset)
	truncate bool   // the type loses its own "; charset=" first
	dst      []byte // the charset it names
	rec      *filter.Recoder
	// noMap: the charsets differ and no charset_map joins them; nginx
	// logs it and sends the response as it is.
	noMap bool
	// fail: a charset variable has no value; nginx's filter fails and
	// the response is not sent.
	fail     bool
	src      []byte
	ownCT    []byte // the type without a backend's charset parameter
	ownCS    []byte // that charset
	fromMain bool   // a subrequest's: the main response's charset
	// unknownOverride is an X-Accel-Charset the configuration does not
	// know: logged, and the response left alone.
	unknownOverride []byte
}

// planCharset decides, as nginx's filter, without touching resp.
func (x *exchange) planCharset(resp *http1.Response, conf *locConf) (p charsetPlan) {
	p.ownCT, p.ownCS = x.splitContentType(resp)
	if p.ownCS == nil && len(resp.Charset) > 0 {
		// A handler that names its charset (autoindex's xml).
		p.ownCS = resp.Charset
	}
	if x.isSub() {
		// ngx_http_main_request_charset: the charset the main response
		// went out with.
		main := x
		for main.parent != nil {
			main = main.parent
		}
		if len(main.outCharset) == 0 {
			return p
		}
		p.dst, p.fromMain = main.outCharset, true
	} else if name := x.st.AccelCharset; len(name) > 0 && len(resp.ContentType) > 0 {
		// A backend's X-Accel-Charset (headers_out.override_charset):
		// the charset named, whatever charset and charset_types say, if
		// the configuration knows it.
		if x.rt.charsets.indexBytes(name) < 0 {
			p.unknownOverride = name
			return p
		}
		p.dst = name
	} else {
		if len(resp.ContentType) == 0 || conf.charset == "" {
			return p
		}
		if len(p.ownCS) > 0 {
			if !conf.overrideCharset {
				return p
			}
		} else if !conf.charsetAny && !x.charsetType(conf, p.ownCT) {
			return p
		}
		p.dst = conf.charsetBytes
		if conf.charsetVar != nil {
			var found bool
			x.charsetBuf, found = conf.charsetVar.EvalFound(&x.st, x.charsetBuf[:0])
			p.dst, p.fail = x.charsetBuf, !found
			if p.fail {
				p.apply = true
				return p
			}
		}
	}
	cs := &x.rt.charsets
	dstIdx := cs.indexBytes(p.dst)
	p.apply = true
	// ngx_http_source_charset: the backend's, or source_charset.
	srcIdx := -1
	switch {
	case len(p.ownCS) > 0:
		p.src = p.ownCS
		srcIdx = cs.indexBytes(p.src)
	case conf.sourceVar != nil:
		var found bool
		x.sourceBuf, found = conf.sourceVar.EvalFound(&x.st, x.sourceBuf[:0])
		p.src, p.fail = x.sourceBuf, !found
		if p.fail {
			return p
		}
		srcIdx = cs.indexBytes(p.src)
	case conf.sourceCharset != "":
		p.src, srcIdx = conf.sourceBytes, conf.sourceIdx
	default:
		p.set = true // source charset off
		return p
	}
	if dstIdx < 0 || srcIdx < 0 {
		if srcIdx != dstIdx || len(p.src) < len(p.dst) || !bytes.EqualFold(p.dst, p.src[:len(p.dst)]) {
			p.noMap = true
			return p
		}
		p.set = true
		return p
	}
	if srcIdx == dstIdx {
		p.truncate, p.set = true, true
		return p
	}
	if hasContentEncoding(resp) {
		p.apply = false
		return p
	}
	p.rec = cs.maps[[2]int{srcIdx, dstIdx}]
	if p.rec == nil {
		p.noMap = true
		return p
	}
	p.truncate, p.set = true, true
	return p
}

// charsetFilter applies the plan to resp and pushes the recoding link.
func (x *exchange) charsetFilter(resp *http1.Response, conf *locConf) {
	if x.partType != nil && resp.Status == 206 {
		// Ranges in parts: the filter decides on the file's own type, as
		// it runs above nginx's range filter; the parts' heads named the
		// charset already.
		ct, own := resp.ContentType, x.partType
		resp.ContentType, x.partType = own, nil
		x.charsetFilter(resp, conf)
		resp.ContentType, resp.Charset, x.partType = ct, nil, own
		return
	}
	if conf.charsetIdle && len(x.st.AccelCharset) == 0 && !x.isSub() {
		// nginx's filter declines (ngx_http_destination_charset: charset
		// off), and no subrequest will ask for the charset this response
		// names: a backend's Content-Type is not parsed for it.
		x.outCharset = x.outCharset[:0]
		return
	}
	p := x.planCharset(resp, conf)
	if !x.isSub() {
		// What a subrequest recodes to: the charset this response names
		// (a backend's own, unless the filter set another).
		x.outCharset = append(x.outCharset[:0], p.ownCS...)
	}
	if p.unknownOverride != nil {
		x.log.Errorf(x, "unknown charset \"%s\" to override%s", p.unknownOverride, x.accelAction())
	}
	if !p.apply {
		return
	}
	if p.fail {
		resp.Drop = true
		return
	}
	if p.noMap {
		// nginx is in its header filter: sending a response it made, or
		// still reading a backend's head.
		while := x.accelAction()
		if while == "" {
			while = " while sending response to client"
		}
		x.log.Errorf(x, "no \"charset_map\" between the charsets \"%s\" and \"%s\"%s", p.src, p.dst, while)
		return
	}
	if p.truncate {
		resp.ContentType = p.ownCT
	}
	if p.set && !x.isSub() {
		// ngx_http_set_charset: a 301 or 302 names no charset. A type that
		// still carries its own "; charset=" is written as it is (nginx's
		// header writer adds one only to a type without it).
		switch {
		case resp.Status == 301 || resp.Status == 302:
			resp.Charset, x.outCharset = nil, x.outCharset[:0]
		case len(resp.ContentType) != len(p.ownCT):
			x.outCharset = append(x.outCharset[:0], p.dst...)
		default:
			resp.Charset = p.dst
			x.outCharset = append(x.outCharset[:0], p.dst...)
		}
	}
	if p.rec != nil {
		if p.rec.Grows() && !x.isSub() {
			resp.ContentLength = -1
		}
		x.rareMem().recode.Reset(p.rec)
		x.chain.Push(&x.rareMem().recode)
	}
}

// charsetGrows reports whether the charset filter will recode resp's body
// to or from utf-8, changing its length (for the static module's ranges).
func (x *exchange) charsetGrows(resp *http1.Response, conf *locConf) bool {
	if conf.charset == "" && !x.isSub() {
		return false
	}
	p := x.planCharset(resp, conf)
	return p.apply && !p.noMap && !p.fail && p.rec != nil && p.rec.Grows()
}

// hasContentEncoding reports a non-empty Content-Encoding among resp's
// headers (a backend's, or gzip's).
func hasContentEncoding(resp *http1.Response) bool {
	for _, h := range resp.Headers {
		if http1.EqualFold(h.Name, "content-encoding") && len(h.Value) > 0 {
			return true
		}
	}
	return false
}
