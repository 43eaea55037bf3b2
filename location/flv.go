package location

import "github.com/gonginx/gonginx/rewrite"

// The flv module (ngx_http_flv_module): a location with "flv" serves its
// files as static does, GET and HEAD only, and "?start=N" sends the FLV
// header followed by the file from byte N; ranges, ETag and the length
// are of that body.

// flvHeader is ngx_flv_header: "FLV", version 1, audio and video, a
// 9-byte header, then a zero previous-tag size.
var flvHeader = []byte("FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00")

// flvStart reads the start argument as ngx_atoof does: digits only, and
// 0 (the whole file) when it is not a number or not below size.
func (x *exchange) flvStart(size int64) int64 {
	v, ok := rewrite.FindArg(x.req.Args, "start")
	if !ok || len(v) == 0 {
		return 0
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' || n > (1<<62)/10 {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	if n >= size {
		return 0
	}
	return n
}
