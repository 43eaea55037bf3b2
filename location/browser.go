package location

import (
	"bytes"
	"slices"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// The browser module (ngx_http_browser_module): $modern_browser and
// $ancient_browser from the User-Agent, by modern_browser and
// ancient_browser lists. Versions are X, X.X, X.X.X or X.X.X.X, read as
// X*10^6 + X*10^4 + X*10^2 + X, wrapping as nginx's unsigned integer does.

// browserMask is one browser modern_browser may name: where its version
// is looked for in a User-Agent (the mark, searched from skip bytes on;
// the version starts add bytes into the mark: "Opera/9.01", "Opera 7.5").
type browserMask struct {
	name string
	skip int
	add  int
	mark string
}

// browserMasks in nginx's order, which is also the order lists are
// sorted in: Opera first, as its User-Agent may say MSIE too.
var browserMasks = [...]browserMask{
	{"opera", 0, len("Opera "), "Opera"},
	{"msie", len("Mozilla/4.0 (compatible; "), len("MSIE "), "MSIE "},
	{"gecko", len("Mozilla/5.0 ("), len("rv:"), "rv:"},
	{"safari", len("Mozilla/5.0 ("), len("Safari/"), "Safari/"},
	{"konqueror", len("Mozilla/5.0 (compatible; "), len("Konqueror/"), "Konqueror/"},
}

// modernBrowser is one modern_browser line: the mask's index and the
// least modern version.
type modernBrowser struct {
	mask    int
	version uint64
}

// unreachableOpera is the version nginx gives Opera when a list does not
// name it, so an Opera saying MSIE is not taken for MSIE.
const unreachableOpera = 4001000000

// browserConf is a level's browser settings; lists belong to the level
// that wrote them (modernOwner, ancientOwner) and are inherited whole by
// levels with none, as ngx_http_browser_merge_conf.
type browserConf struct {
	modern       []modernBrowser
	unlisted     bool // modern_browser unlisted
	modernOwner  *locConf
	modernRaw    bool // the list was written at the http level (see browserOf)
	ancient      []string
	netscape4    bool
	ancientOwner *locConf
	modernValue  *string // modern_browser_value; nil is "1"
	ancientValue *string
}

// browserDirective applies one of the module's directives at conf's level.
func (c *compiler) browserDirective(conf *locConf, d *nginxconf.Directive, ctx string) error {
	b := &conf.browser
	switch d.Name {
	case "modern_browser":
		if b.modernOwner != conf {
			b.modern, b.unlisted, b.modernOwner = nil, false, conf
		}
		b.modernRaw = ctx == "http"
		if len(d.Args) == 1 {
			if d.Args[0] != "unlisted" {
				// nginx fails with no message of its own here.
				return &nginxconf.Error{Silent: true}
			}
			b.unlisted = true
			return nil
		}
		mask := slices.IndexFunc(browserMasks[:], func(m browserMask) bool { return strings.EqualFold(m.name, d.Args[0]) })
		if mask < 0 {
			return confErr(d, "unknown browser name \"%s\"", d.Args[0])
		}
		v, ok := browserVersion(d.Args[1])
		if !ok {
			return confErr(d, "invalid browser version \"%s\"", d.Args[1])
		}
		b.modern = append(b.modern, modernBrowser{mask, v})
	case "ancient_browser":
		if b.ancientOwner != conf {
			b.ancient, b.netscape4, b.ancientOwner = nil, false, conf
		}
		for _, a := range d.Args {
			if a == "netscape4" {
				b.netscape4 = true
				continue
			}
			b.ancient = append(b.ancient, a)
		}
	case "modern_browser_value":
		v := d.Args[0]
		b.modernValue = &v
	case "ancient_browser_value":
		v := d.Args[0]
		b.ancientValue = &v
	}
	return nil
}

// browserVersion reads a version as ngx_http_modern_browser does.
func browserVersion(s string) (uint64, bool) {
	var version, ver uint64
	scale := uint64(1000000)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			ver = ver*10 + uint64(c-'0')
		case c == '.':
			version += ver * scale
			ver, scale = 0, scale/100
		default:
			return 0, false
		}
	}
	return version + ver*scale, true
}

// finishBrowser prepares the modern list of the level that wrote it:
// sorted by browser (stably: glibc's qsort here is a merge sort), Opera
// added unreachable if unnamed. nginx prepares a list when it merges the
// level into its parent, which the http level never is, so a list
// written there stays as read (browserOf).
func finishBrowser(conf *locConf) {
	b := &conf.browser
	if b.modernOwner != conf || b.modern == nil || b.modernRaw {
		return
	}
	if !slices.ContainsFunc(b.modern, func(m modernBrowser) bool { return m.mask == 0 }) {
		b.modern = append(b.modern, modernBrowser{0, unreachableOpera})
	}
	slices.SortStableFunc(b.modern, func(x, y modernBrowser) int { return x.mask - y.mask })
}

// browserOf is ngx_http_browser: whether ua (present or not) is modern.
func (b *browserConf) browserOf(ua []byte, present bool) bool {
	if !present {
		return b.unlisted
	}
	if b.modern != nil {
		for _, m := range b.modern {
			var at int
			if b.modernRaw {
				// An http-level list is never prepared: its entries keep
				// the browser's index where the skip goes and an empty
				// mark, so the version is read right there.
				at = m.mask
				if at >= len(ua) {
					continue
				}
			} else {
				mask := browserMasks[m.mask]
				if mask.skip >= len(ua) {
					continue
				}
				i := bytes.Index(ua[mask.skip:], []byte(mask.mark))
				if i < 0 {
					continue
				}
				at = mask.skip + i + mask.add
				if at >= len(ua) {
					continue
				}
			}
			return versionModern(ua[at:], m.version)
		}
		if !b.unlisted {
			return false
		}
	}
	if b.netscape4 && len(ua) > len("Mozilla/4.72 ") && bytes.HasPrefix(ua, []byte("Mozilla/")) &&
		ua[8] > '0' && ua[8] < '5' {
		return false
	}
	for _, a := range b.ancient {
		if bytes.Contains(ua, []byte(a)) {
			return false
		}
	}
	return b.unlisted
}

// versionModern reads the version at the start of v against least: a
// greater leading part is modern at once.
func versionModern(v []byte, least uint64) bool {
	var version, ver uint64
	scale := uint64(1000000)
	for _, c := range v {
		if c >= '0' && c <= '9' {
			ver = ver*10 + uint64(c-'0')
			continue
		}
		if c != '.' {
			break
		}
		version += ver * scale
		if version > least {
			return true
		}
		ver, scale = 0, scale/100
	}
	return version+ver*scale >= least
}

// addBrowserVariables defines $modern_browser and $ancient_browser: the
// level's value when the client is (not) modern, else found empty.
// nginx keeps the value the request first got, internal redirects too.
func addBrowserVariables(rc *rewrite.Compiler) {
	get := func(s *rewrite.State, dst []byte, modern bool) []byte {
		x, ok := s.Files.(*exchange)
		if !ok || s.Req == nil {
			return dst
		}
		v := &x.mods.ancientVar
		if modern {
			v = &x.mods.modernVar
		}
		return v.get(s, dst, func(dst []byte) ([]byte, bool) {
			conf := x.curConf
			if conf == nil && x.srv != nil {
				conf = x.srv.root.conf
			}
			if conf == nil {
				return dst, true
			}
			b := &conf.browser
			ua, present := userAgentHeader(s)
			if b.browserOf(ua, present) != modern {
				return dst, true
			}
			val := b.ancientValue
			if modern {
				val = b.modernValue
			}
			if val == nil {
				return append(dst, '1'), true
			}
			return append(dst, *val...), true
		})
	}
	rc.AddVariable("modern_browser", func(s *rewrite.State, dst []byte) []byte { return get(s, dst, true) })
	rc.AddVariable("ancient_browser", func(s *rewrite.State, dst []byte) []byte { return get(s, dst, false) })
}

// userAgentHeader is the first User-Agent line (r->headers_in.user_agent).
func userAgentHeader(s *rewrite.State) ([]byte, bool) {
	for i := range s.Req.Headers {
		if len(s.Req.Headers[i].Name) == len("user-agent") && strings.EqualFold(string(s.Req.Headers[i].Name), "user-agent") {
			return s.Req.Headers[i].Value, true
		}
	}
	return nil, false
}
