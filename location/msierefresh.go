package location

import "github.com/gonginx/gonginx/rewrite/http1"

// msie_refresh: a redirect answered to MSIE as a 200 page whose meta
// Refresh names the Location, as ngx_http_send_refresh does.

var (
	msieRefreshHead = []byte(`<html><head><meta http-equiv="Refresh" content="0; URL=`)
	msieRefreshTail = []byte("\"></head><body></body></html>\r\n")
)

// refreshEscape is ngx_escape_uri's NGX_ESCAPE_REFRESH table: controls,
// space, '"', '\”, '%', '<', '>', '\\', '`' and bytes from 0x7f.
var refreshEscape = [8]uint32{0xffffffff, 0x50000085, 0x50000000, 0xd8000001,
	0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}

// wantsRefresh says whether a special response with this code goes out
// as the refresh page.
func (x *exchange) wantsRefresh(code int, conf *locConf) bool {
	return conf.msieRefresh && (code == 301 || code == 302) && x.req != nil &&
		browser(x.req.HeaderValue("User-Agent")).msie
}

func (x *exchange) sendRefresh(conf *locConf) {
	loc := x.redirLoc
	body := make([]byte, 0, len(msieRefreshHead)+3*len(loc)+len(msieRefreshTail))
	body = append(body, msieRefreshHead...)
	body = appendEscaped(body, loc, &refreshEscape)
	body = append(body, msieRefreshTail...)
	x.redirLoc, x.emptyLocation = nil, false
	x.errStatus = 0
	x.st.ErrStatus = 0
	r := x.newResp(200, conf)
	r.ContentType = textHTML
	r.ContentLength = int64(len(body))
	x.kept.dropRanges = true
	x.writeHeader(r)
	if x.req.MethodCode != http1.MethodHEAD {
		x.write(body)
	}
}
