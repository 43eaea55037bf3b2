package location

import "bytes"

// userAgent is what ngx_http_process_user_agent tells of the first
// User-Agent header: keepalive_disable and msie_padding read it.
type userAgent struct {
	msie, msie6, chrome, safari bool
}

// browser classifies ua as ngx_http_process_user_agent does: MSIE (4-6
// without SV1 are msie6), Opera (then not MSIE), and for the others Gecko,
// Chrome, or Safari on Mac OS X, in that order.
func browser(ua []byte) userAgent {
	var b userAgent
	if len(ua) == 0 {
		return b
	}
	if i := bytes.Index(ua, []byte("MSIE ")); i >= 0 && i+7 < len(ua) {
		b.msie = true
		if ua[i+6] == '.' {
			switch ua[i+5] {
			case '4', '5':
				b.msie6 = true
			case '6':
				b.msie6 = !bytes.Contains(ua[i+8:], []byte("SV1"))
			}
		}
	}
	if bytes.Contains(ua, []byte("Opera")) {
		return userAgent{}
	}
	if !b.msie {
		switch {
		case bytes.Contains(ua, []byte("Gecko/")):
		case bytes.Contains(ua, []byte("Chrome/")):
			b.chrome = true
		default:
			b.safari = bytes.Contains(ua, []byte("Safari/")) && bytes.Contains(ua, []byte("Mac OS X"))
		}
	}
	return b
}
