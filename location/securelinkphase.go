package location

import (
	"time"

	"github.com/gonginx/gonginx/location/securelink"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// secureLinkConf is a level's secure_link settings.
type secureLinkConf struct {
	variable, md5 *rewrite.Complex // secure_link, secure_link_md5
	secret        string           // secure_link_secret
	hasSecret     bool
	// owner is the level whose own directives the own* flags describe.
	owner                     *locConf
	ownVar, ownMD5, ownSecret bool
	secretAt                  *nginxconf.Directive
}

// secureLinkDirective applies secure_link, secure_link_md5 or
// secure_link_secret at conf's level.
func (c *compiler) secureLinkDirective(conf *locConf, d *nginxconf.Directive) error {
	if len(d.Args) != 1 {
		return nil
	}
	sl := &conf.secureLink
	if sl.owner != conf {
		sl.owner, sl.ownVar, sl.ownMD5, sl.ownSecret = conf, false, false, false
	}
	if d.Name == "secure_link_secret" {
		sl.secret, sl.hasSecret, sl.ownSecret, sl.secretAt = d.Args[0], true, true, d
		return nil
	}
	v, err := c.rc.Complex(d.Args[0])
	if err != nil {
		return rewrite.At(err, d)
	}
	if d.Name == "secure_link" {
		sl.variable, sl.ownVar = v, true
	} else {
		sl.md5, sl.ownMD5 = v, true
	}
	return nil
}

// finishSecureLink merges a level with secure_link directives as
// ngx_http_secure_link_merge_conf: a secret excludes the other two at
// its level and drops what they inherited; secure_link or
// secure_link_md5 (own or inherited) drop an inherited secret.
func finishSecureLink(conf *locConf) error {
	sl := &conf.secureLink
	if sl.owner != conf {
		return nil
	}
	if sl.ownSecret {
		if sl.ownVar || sl.ownMD5 {
			return confErr(sl.secretAt, "\"secure_link_secret\" cannot be mixed with \"secure_link\" and \"secure_link_md5\"")
		}
		sl.variable, sl.md5 = nil, nil
		return nil
	}
	if sl.variable != nil || sl.md5 != nil {
		sl.secret, sl.hasSecret = "", false
	}
	return nil
}

// secureLinkState is $secure_link's memory for the request.
type secureLinkState struct {
	link, input []byte
	expires     []byte
	hasExpires  bool // nginx's module context: an expiry was read
	// linkVar and expiresVar are the variables as first evaluated:
	// nginx caches them for the request, internal redirects included.
	linkVar, expiresVar cachedVar
}

// addSecureLinkVariables defines $secure_link and $secure_link_expires.
func addSecureLinkVariables(rc *rewrite.Compiler) {
	rc.AddVariable("secure_link", func(s *rewrite.State, dst []byte) []byte {
		x, ok := s.Files.(*exchange)
		if !ok || s.Req == nil {
			return dst
		}
		return x.mods.secureLink.linkVar.get(s, dst, func(dst []byte) ([]byte, bool) {
			return x.secureLinkValue(s, dst)
		})
	})
	rc.AddVariable("secure_link_expires", func(s *rewrite.State, dst []byte) []byte {
		x, ok := s.Files.(*exchange)
		if !ok {
			return dst
		}
		st := &x.mods.secureLink
		return st.expiresVar.get(s, dst, func(dst []byte) ([]byte, bool) {
			if !st.hasExpires {
				return dst, false
			}
			return append(dst, st.expires...), true
		})
	})
}

// secureLinkValue is ngx_http_secure_link_variable: found is false for
// a wrong link.
func (x *exchange) secureLinkValue(s *rewrite.State, dst []byte) (_ []byte, found bool) {
	conf := x.curConf
	if conf == nil && x.srv != nil {
		conf = x.srv.root.conf
	}
	if conf == nil {
		return dst, false
	}
	sl, st := &conf.secureLink, &x.mods.secureLink
	if sl.hasSecret {
		link, ok := securelink.Old(s.Req.RawURI, sl.secret)
		return append(dst, link...), ok
	}
	if sl.variable == nil || sl.md5 == nil {
		return dst, false
	}
	st.link = sl.variable.Eval(s, st.link[:0])
	hash, expires, when, ok := securelink.Split(st.link)
	if !ok {
		return dst, false
	}
	if expires != nil {
		st.expires, st.hasExpires = append(st.expires[:0], expires...), true
	}
	st.input = sl.md5.Eval(s, st.input[:0])
	switch securelink.Check(hash, st.input, when, time.Now().Unix()) {
	case securelink.Valid:
		return append(dst, '1'), true
	case securelink.Expired:
		return append(dst, '0'), true
	}
	return dst, false
}
