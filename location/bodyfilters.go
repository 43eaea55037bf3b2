package location

import (
	"github.com/gonginx/gonginx/location/imagefilter"
	"github.com/gonginx/gonginx/location/userid"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The header parts of the body filters (package filter holds the stream
// transforms). nginx runs them below its headers filter in the order of
// ngx_modules.c, each seeing what the ones above changed: gunzip,
// addition, sub, image, charset, ssi, gzip, then range and chunked. Each that
// applies edits the head (a body that changes length loses its
// Content-Length and ranges) and pushes its link onto x.chain; a response
// none applies to goes to the wire as it is.

// bodyFilters runs the filters' header parts for resp and hands the wire
// the chain, if any link was pushed. They run for a HEAD too: nginx's
// header writer, below them, is what marks a HEAD header-only, so a HEAD
// gets the Content-Encoding or the cleared length a GET gets; the wire
// then sends no body through the chain.
func (x *exchange) bodyFilters(resp *http1.Response, conf *locConf) {
	x.chain.Reset(nil) // the wire is set for a chain that has links
	if resp.Drop {
		return
	}
	if headerPartsOff(conf) {
		// What headerParts does when none of its other filters is on
		// (most locations): their tests in one run of code, where spread
		// among the filters' rare blocks they touched more
		// instruction-cache lines per response.
		x.charsetFilter(resp, conf)
		x.headLength = resp.ContentLength // ssiFilter's
		x.gzipVary(resp, conf)
	} else {
		x.headerParts(resp, conf)
	}
	if x.rangedFile {
		x.st.Status = resp.Status // the file's 206 from here on (statusAbove)
	}
	x.rangeFilter(resp, conf)
	x.sliceAfterRange(resp)
	if !x.chain.Empty() {
		// x.c made a Wire only here: an interface conversion costs a
		// look-up of its method table.
		x.chain.SetWire(x.c)
		resp.Body = &x.chain
	}
}

// headerPartsOff reports that none of the filters headerParts runs
// besides charset (userid, gunzip, addition, sub, image, ssi, gzip) is on
// in conf: each one's first test, together.
func headerPartsOff(conf *locConf) bool {
	return conf.userid.cfg.Enable < userid.V1 && !conf.gz.gunzip && conf.addBefore == nil && conf.addAfter == nil &&
		conf.sub == nil && conf.img.mode == imagefilter.Off && !conf.ssi.on && !conf.gz.on
}

// headerParts runs the header parts of the filters above the range
// filter, in nginx's order.
func (x *exchange) headerParts(resp *http1.Response, conf *locConf) {
	x.useridFilter(resp, conf)
	x.gunzipFilterHeader(resp, conf)
	postpone := x.additionFilter(resp, conf)
	if x.subHeader(resp, conf) {
		x.chain.Push(&x.rareMem().subs.link)
	}
	if conf.img.mode != imagefilter.Off {
		x.imageFilterHeader(resp, conf)
	}
	x.charsetFilter(resp, conf)
	postpone = x.ssiFilter(resp, conf) || postpone
	if postpone {
		x.postpone.Reset()
		if x.postpone.OnWait == nil {
			x.postpone.OnWait = x.passTurn // bound once per pooled exchange
		}
		x.chain.Push(&x.postpone)
	}
	x.gzipFilterHeader(resp, conf)
	x.gzipVary(resp, conf)
}

// transformsBody reports whether a body filter will change the length of
// resp's body, so that the static module sends the whole file rather than
// ranges of it (nginx's range filter sits below them and finds no length).
func (x *exchange) transformsBody(resp *http1.Response, conf *locConf) bool {
	return x.additionApplies(resp, conf) || x.subTable(resp, conf) != nil || x.charsetGrows(resp, conf) ||
		x.ssiApplies(resp, conf) || x.gzipTransforms(resp, conf)
}

// additionApplies is the test of nginx's addition header filter: a 200
// of the main request whose type is in addition_types, in a location with
// add_before_body or add_after_body.
func (x *exchange) additionApplies(resp *http1.Response, conf *locConf) bool {
	if resp.Status != 200 || x.isSub() || (conf.addBefore == nil && conf.addAfter == nil) {
		return false
	}
	return conf.additionTypes.matches(x, resp)
}

// additionFilter is the addition filter's header part: the body changes
// length, so Content-Length and Accept-Ranges go and an ETag turns weak.
// It reports whether subrequests will join the body (postpone).
// Its first test is inlined at the callers (the rest is additionFilterRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) additionFilter(resp *http1.Response, conf *locConf) bool {
	if conf.addBefore == nil && conf.addAfter == nil {
		return false
	}
	return x.additionFilterRun(resp, conf)
}

// additionFilterRun is additionFilter past its first test.
func (x *exchange) additionFilterRun(resp *http1.Response, conf *locConf) bool {
	if !x.additionApplies(resp, conf) {
		return false
	}
	x.changesLength(resp)
	if x.additionRun == nil {
		x.additionRun = x.runAddition
	}
	rm := x.rareMem()
	rm.addition.Reset(conf.addBefore, conf.addAfter, x.additionRun)
	x.chain.Push(&rm.addition)
	return true
}

// runAddition makes add_before_body's or add_after_body's subrequest.
func (x *exchange) runAddition(uri []byte) {
	x.subrequest(uri, nil, false, x.subrequestOut())
}

// subrequestOut is where x's subrequests' output goes: x's postpone link.
func (x *exchange) subrequestOut() func([]byte) error {
	if x.postponeOut == nil {
		x.postponeOut = x.postpone.Write
	}
	return x.postponeOut
}

// changesLength is what a filter that changes the body's length does to
// the head (ngx_http_clear_content_length, ngx_http_clear_accept_ranges,
// ngx_http_weak_etag).
func (x *exchange) changesLength(resp *http1.Response) {
	resp.ContentLength = -1
	resp.RangeHeaders = nil
	// A backend's Accept-Ranges goes too (headers_out.accept_ranges).
	if i := lastHeader(resp.Headers, "accept-ranges"); i >= 0 {
		resp.Headers = append(resp.Headers[:i], resp.Headers[i+1:]...)
	}
	x.weakenETag(resp)
}

// weakenETag is ngx_http_weak_etag: a strong ETag turns weak, one that is
// not a valid entity tag goes.
func (x *exchange) weakenETag(resp *http1.Response) {
	for i := range resp.Headers {
		h := &resp.Headers[i]
		if !http1.EqualFold(h.Name, "etag") {
			continue
		}
		v := h.Value
		switch {
		case len(v) > 2 && v[0] == 'W' && v[1] == '/':
		case len(v) > 0 && v[0] == '"':
			x.weakETag = append(append(x.weakETag[:0], "W/"...), v...)
			h.Value = x.weakETag
		default:
			// Not a valid entity tag: nginx drops it.
			resp.Headers = append(resp.Headers[:i], resp.Headers[i+1:]...)
		}
		break
	}
}
