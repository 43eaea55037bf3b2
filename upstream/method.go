package upstream

import (
	"strconv"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// compileRequestBody reads proxy_method, proxy_set_body and
// proxy_intercept_errors (with the error_page codes it hands over).
func (p *Proxy) compileRequestBody(blocks [][]*nginxconf.Directive, c *rewrite.Compiler) error {
	if d := last(blocks, p.name("_method")); d != nil {
		cv, err := c.Complex(d.Args[0])
		if err != nil {
			return rewrite.At(err, d)
		}
		p.method = cv
	}
	if d := last(blocks, p.name("_set_body")); d != nil {
		cv, err := c.Complex(d.Args[0])
		if err != nil {
			return rewrite.At(err, d)
		}
		p.setBody = cv
	}
	if flag(blocks, p.name("_intercept_errors"), false) {
		// error_page is an array directive: the innermost level that
		// has any replaces what outer levels set.
		for _, d := range innermost(blocks, "error_page") {
			for _, a := range d.Args[:len(d.Args)-1] {
				if n, err := strconv.Atoi(a); err == nil {
					if p.intercept == nil {
						p.intercept = map[int]bool{}
					}
					p.intercept[n] = true
				}
			}
		}
	}
	return nil
}

// intercepts reports whether proxy_intercept_errors answers a backend's
// status with the location's error_page instead of the backend's
// response (ngx_http_upstream_intercept_errors: statuses from 300 up
// that have an error_page).
func (p *Proxy) intercepts(status int) bool {
	return status >= 300 && p.intercept[status] || status == 404 && p.intercept404
}
