package location

import (
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The header parts of the body filters (package filter holds the stream
// transforms). nginx runs them below its headers filter in the order of
// ngx_modules.c, each seeing what the ones above changed: gunzip,
// addition, sub, charset, ssi, gzip, then range and chunked. Each that
// applies edits the head (a body that changes length loses its
// Content-Length and ranges) and pushes its link onto x.chain; a response
// none applies to goes to the wire as it is.

// bodyFilters runs the filters' header parts for resp and hands the wire
// the chain, if any link was pushed.
func (x *exchange) bodyFilters(resp *http1.Response, conf *locConf) {
	if x.headerOnly(resp) {
		return
	}
	x.chain.Reset(x.c)
	// Each filter's header part goes here, in nginx's order.
	if !x.chain.Empty() {
		resp.Body = &x.chain
	}
}

// transformsBody reports whether a body filter will change the length of
// resp's body, so that the static module sends the whole file rather than
// ranges of it (nginx's range filter sits below them and finds no length).
func (x *exchange) transformsBody(resp *http1.Response, conf *locConf) bool {
	if x.headerOnly(resp) {
		return false
	}
	return false
}

// headerOnly reports whether resp goes without a body (nginx's
// r->header_only), which no body filter touches.
func (x *exchange) headerOnly(resp *http1.Response) bool {
	switch resp.Status {
	case 101, 204, 304:
		return true
	}
	return x.req.MethodCode == http1.MethodHEAD || x.req.HTTP09()
}
