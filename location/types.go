package location

import (
	"bytes"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// typeSet is a list of MIME types as ngx_http_types_slot reads it
// (addition_types, gzip_types, sub_filter_types, ssi_types): lowercased,
// the module's default type always in it, "*" for any response (even one
// without a Content-Type). A level's lines add up; a level with none
// inherits its parent's list whole.
type typeSet struct {
	types map[string]bool
	any   bool
	owner *locConf // the level whose lines built it
}

// addTypes adds one directive's arguments to the list of conf's level,
// starting from def alone at the level's first line.
func (ts *typeSet) addTypes(conf *locConf, def string, args []string) {
	if ts.owner != conf {
		*ts = typeSet{types: map[string]bool{}, owner: conf}
		if def != "" {
			ts.types[def] = true
		}
	}
	for _, a := range args {
		if a == "*" {
			ts.any = true
			return
		}
		ts.types[string(bytes.ToLower([]byte(a)))] = true
	}
}

// matches is ngx_http_test_content_type: the response's type as nginx
// keeps it (typeForMatch), lowercased, looked up in the list.
func (ts *typeSet) matches(x *exchange, resp *http1.Response) bool {
	if ts.any {
		return true
	}
	ct, _ := x.splitContentType(resp)
	if len(ct) == 0 {
		return false
	}
	if ts.types[string(ct)] {
		return true
	}
	x.ctLower = appendLower(x.ctLower[:0], ct)
	return ts.types[string(x.ctLower)]
}

// splitContentType is nginx's view of a Content-Type: the type the
// filters test (content_type_len) and the charset it names. One this
// package made is all type (nginx parses no charset out of a type from
// the config); a backend's is cut before a "; charset=" parameter, whose
// value, unquoted, is the charset (ngx_http_upstream_copy_content_type).
func (x *exchange) splitContentType(resp *http1.Response) (ct, charset []byte) {
	ct = resp.ContentType
	if !x.proxied {
		return ct, nil
	}
	if base, cs, ok := charsetParam(ct); ok {
		return base, cs
	}
	return ct, nil
}

// appendLower appends b to dst with ASCII letters lowercased (a lookup
// key built in a per-request scratch buffer).
func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// equalLowerASCII reports whether lower is s with its ASCII letters
// lowercased (lowerASCII(s), made with no copy).
func equalLowerASCII(lower []byte, s string) bool {
	if len(lower) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if lower[i] != c {
			return false
		}
	}
	return true
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
