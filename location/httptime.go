package location

import "github.com/gonginx/gonginx/rewrite/http1"

// parseHTTPTime is http1.ParseHTTPTime (ngx_http_parse_time), which the
// proxy cache reads Expires with too.
func parseHTTPTime(b []byte) (int64, bool) { return http1.ParseHTTPTime(b) }
