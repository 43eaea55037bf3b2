package location

import (
	"os"
	"strings"

	"github.com/gonginx/gonginx/location/referer"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// validReferers adds a valid_referers line to its level's list (a level
// with the directive starts its own, ngx_http_valid_referers).
func (c *compiler) validReferers(conf *locConf, d *nginxconf.Directive) error {
	if conf.refOwner != conf {
		conf.refList, conf.refOwner = &referer.List{}, conf
	}
	l := conf.refList
	for _, a := range d.Args {
		switch {
		case a == "":
			return confErr(d, "invalid referer \"%s\"", a)
		case a == "none":
			l.None = true
		case a == "blocked":
			l.Blocked = true
		case a == "server_names":
			l.ServerNames = true
		case a[0] == '~':
			if len(a) == 1 {
				return confErr(d, "empty regex in \"%s\"", a)
			}
			// ngx_http_add_regex_referer: caseless.
			re, err := c.rc.Regex(a[1:], true)
			if err != nil {
				return rewrite.At(err, d)
			}
			l.Regexes = append(l.Regexes, re)
		default:
			host, uri := a, ""
			if i := strings.IndexByte(a, '/'); i >= 0 {
				host, uri = a[:i], a[i:]
			}
			if err := c.addReferer(l, d, host, uri); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *compiler) addReferer(l *referer.List, d *nginxconf.Directive, host, uri string) error {
	switch l.AddHost(host, uri) {
	case referer.ErrInvalid:
		return confErr(d, "invalid hostname or wildcard \"%s\"", host)
	case referer.ErrConflict:
		// ngx_hash_add_key lowercased the name in place first.
		return confErr(d, "conflicting parameter \"%s\"", strings.ToLower(host))
	}
	return nil
}

// finishReferers compiles a level's valid_referers once its block is
// read, as ngx_http_referer_merge_conf: server_names adds the server's
// names, regexes a level lacks come from its parent (the directive is
// not allowed at the http level).
func (c *compiler) finishReferers(conf *locConf) error {
	if conf.refOwner != conf || conf.refList == nil || conf.referer != nil && conf.refDone == conf {
		return nil
	}
	conf.refDone = conf
	l := conf.refList
	var nameRegexes []referer.Regex
	if l.ServerNames && c.server != nil {
		// A server without server_name has nginx's default name, ""
		// (ngx_http_core_merge_srv_conf, which runs first).
		named := false
		for _, x := range c.server.Block {
			named = named || x.Name == "server_name"
		}
		if !named {
			if err := c.addReferer(l, c.server, "", ""); err != nil {
				return err
			}
		}
		for _, x := range c.server.Block {
			if x.Name != "server_name" {
				continue
			}
			for _, n := range x.Args {
				switch {
				case strings.HasPrefix(n, "~"):
					re, err := c.rc.Regex(n[1:], serverNameCaseless(n))
					if err != nil {
						return rewrite.At(err, x)
					}
					nameRegexes = append(nameRegexes, re)
					continue
				case strings.EqualFold(n, "$hostname"):
					n, _ = os.Hostname()
				}
				if err := c.addReferer(l, x, n, ""); err != nil {
					return err
				}
			}
		}
	}
	if (l.None || l.Blocked) && !l.HasHosts() {
		return &nginxconf.Error{Msg: `the "none" or "blocked" referers are specified in the "valid_referers" directive without any valid referer`}
	}
	conf.referer = referer.Compile(l, nameRegexes, conf.referer)
	return nil
}

// addRefererVariables defines $invalid_referer: "1" when the Referer is
// not valid for the request's location, else found empty.
func addRefererVariables(rc *rewrite.Compiler) {
	rc.AddVariable("invalid_referer", func(s *rewrite.State, dst []byte) []byte {
		x, ok := s.Files.(*exchange)
		if !ok || s.Req == nil {
			return dst
		}
		// nginx caches the value for the request, internal redirects
		// included.
		return x.mods.refVar.get(s, dst, func(dst []byte) ([]byte, bool) {
			conf := x.curConf
			if conf == nil && x.srv != nil {
				conf = x.srv.root.conf
			}
			if conf == nil || conf.referer == nil {
				return dst, true
			}
			ref, present := refererHeader(s)
			if conf.referer.Invalid(ref, present, &x.rareMem().refBuf) {
				return append(dst, '1'), true
			}
			return dst, true
		})
	})
}

// refererHeader is the first Referer line (r->headers_in.referer).
func refererHeader(s *rewrite.State) ([]byte, bool) {
	for i := range s.Req.Headers {
		if len(s.Req.Headers[i].Name) == len("referer") && strings.EqualFold(string(s.Req.Headers[i].Name), "referer") {
			return s.Req.Headers[i].Value, true
		}
	}
	return nil, false
}
