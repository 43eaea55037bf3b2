package location

import (
	"bytes"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// The charset filter for subrequests (ngx_http_main_request_charset): a
// subrequest's body (an ssi include, addition's) is recoded to the
// charset the main response names, from its own source charset; its head
// is not sent, so nothing in it is named.

// noteCharset keeps the charset the main response's Content-Type names
// (nginx's r->main->headers_out.charset) for its subrequests: the one the
// charset filter set, or a backend's own.
func (x *exchange) noteCharset(resp *http1.Response) {
	if x.isSub() {
		return
	}
	name := resp.Charset
	if x.proxied {
		_, name = splitCharset(resp.ContentType)
	}
	x.mainCharset = append(x.mainCharset[:0], name...)
}

// subrequestCharset decides x.recode for a subrequest's body; src is the
// charset its own Content-Type names (a proxied one's), nil without.
func (x *exchange) subrequestCharset(resp *http1.Response, conf *locConf, src []byte) {
	top := x
	for top.parent != nil {
		top = top.parent
	}
	dst := top.mainCharset
	if len(dst) == 0 {
		return
	}
	cs := &x.rt.charsets
	dstIdx, srcIdx := cs.indexBytes(dst), -1
	switch {
	case src != nil:
		srcIdx = cs.indexBytes(src)
	case conf.sourceCharset == "":
		return
	default:
		srcIdx, src = conf.sourceIdx, []byte(cs.names[conf.sourceIdx])
	}
	if dstIdx < 0 || srcIdx < 0 {
		if dstIdx != srcIdx || !bytes.EqualFold(dst, src) {
			x.noCharsetMap(src, dst)
		}
		return
	}
	if srcIdx == dstIdx || lastHeader(resp.Headers, "content-encoding") >= 0 {
		return
	}
	rc := cs.maps[[2]int{srcIdx, dstIdx}]
	if rc == nil {
		x.noCharsetMap(src, dst)
		return
	}
	x.recode = rc
}

func (x *exchange) noCharsetMap(src, dst []byte) {
	action := " while sending response to client"
	if x.proxied {
		action = " while reading response header from upstream"
	}
	x.log.Errorf(x, "no \"charset_map\" between the charsets \"%s\" and \"%s\"%s", src, dst, action)
}
