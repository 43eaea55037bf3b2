package location

import (
	"strings"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The charset filter's header part (ngx_http_charset_filter_module): the
// charset named in Content-Type, and whether the body is recoded from its
// source charset (source_charset, or a proxied response's own charset
// under override_charset) to charset through a charset_map, one-byte to
// one-byte or to and from utf-8. The recoding itself is filter.Recode, a
// link of the response's chain below sub_filter. source_charset with a
// variable refuses to start.

// charsetSet is the http block's charsets, numbered in the order they
// were first named (nginx's mcf->charsets), and the one-byte tables of
// the charset_map blocks.
type charsetSet struct {
	names []string // as first written; Content-Type uses this spelling
	utf8  []bool
	// maps holds each charset_map both ways, keyed [src][dst]: nginx
	// has the tables of every map at run time (ngx_http_charset_
	// postconfiguration), whatever pairs the locations name.
	maps map[[2]int]*recoder
}

// recoder is one direction of a charset_map (the tables the charset
// link recodes through).
type recoder = filter.Recoder

// register numbers the charsets the http block names in the order nginx
// reads them (ngx_http_add_charset as each directive is parsed), so a name
// written again in other letter cases keeps its first spelling.
func (cs *charsetSet) register(block []*nginxconf.Directive) {
	for _, d := range block {
		switch {
		case d.Name == "charset_map" && len(d.Args) == 2:
			cs.add(d.Args[0])
			cs.add(d.Args[1])
		case (d.Name == "charset" || d.Name == "source_charset") && len(d.Args) == 1:
			if a := d.Args[0]; !strings.HasPrefix(a, "$") && !(d.Name == "charset" && a == "off") {
				cs.add(a)
			}
		}
		if d.Name != "charset_map" && d.Name != "types" && d.Name != "map" {
			cs.register(d.Block)
		}
	}
}

// add returns the number of name, registering it (caselessly) if new.
func (cs *charsetSet) add(name string) int {
	if i := cs.index(name); i >= 0 {
		return i
	}
	cs.names = append(cs.names, name)
	cs.utf8 = append(cs.utf8, strings.EqualFold(name, "utf-8"))
	return len(cs.names) - 1
}

func (cs *charsetSet) index(name string) int {
	for i, n := range cs.names {
		if strings.EqualFold(n, name) {
			return i
		}
	}
	return -1
}

// indexBytes is index without a conversion, for a charset named by a
// variable.
func (cs *charsetSet) indexBytes(name []byte) int {
	for i, n := range cs.names {
		if equalFold(name, strings.ToLower(n)) {
			return i
		}
	}
	return -1
}

// charsetMap reads a charset_map block as ngx_http_charset_map_block,
// with its errors: with a one-byte target, bytes not listed above 0x7f
// become '?' both ways; with utf-8, each listed byte's value is its UTF-8
// form in hex (a code point below 0x10000), unlisted bytes above 0x7f
// become '?', and code points with no byte are written as "&#N;".
func (c *compiler) charsetMap(d *nginxconf.Directive) error {
	if len(d.Args) != 2 {
		return nil
	}
	cs := &c.rt.charsets
	src, dst := cs.add(d.Args[0]), cs.add(d.Args[1])
	if src == dst {
		return confErr(d, "\"charset_map\" between the same charsets \"%s\" and \"%s\"", d.Args[0], d.Args[1])
	}
	if cs.maps[[2]int{src, dst}] != nil {
		return confErr(d, "duplicate \"charset_map\" between \"%s\" and \"%s\"", d.Args[0], d.Args[1])
	}
	fwd, back := &recoder{}, &recoder{}
	var f, b [256]byte
	to, from := new([256][]byte), new([256]*[256]byte)
	from[0] = new([256]byte)
	for i := range f {
		f[i], b[i], to[i] = byte(i), byte(i), []byte{byte(i)}
		from[0][i] = byte(i)
		if i >= 0x80 {
			f[i], b[i], to[i], from[0][i] = '?', '?', []byte{'?'}, 0
		}
	}
	for _, e := range d.Block {
		if e.Name == "#" {
			continue
		}
		if len(e.Args) != 1 {
			return confErr(e, "invalid parameters number")
		}
		a, ok := hexToI(e.Name)
		if !ok || a > 255 {
			return confErr(e, "invalid value %q", e.Name)
		}
		v := e.Args[0]
		if !cs.utf8[dst] {
			n, ok := hexToI(v)
			if !ok || n > 255 {
				return confErr(e, "invalid value %q", v)
			}
			f[a], b[n] = byte(n), byte(a)
			continue
		}
		seq := make([]byte, 0, (len(v)+1)/2)
		for k := 0; k < len(v); k += 2 {
			n, ok := hexToI(v[k:min(k+2, len(v))])
			if !ok || k+2 > len(v) {
				return confErr(e, "invalid value %q", v)
			}
			seq = append(seq, byte(n))
		}
		n := uint32(0xffffffff)
		if len(seq) > 0 {
			n, _ = filter.UTF8Decode(seq)
		}
		if n > 0xffff {
			return confErr(e, "invalid value %q", v)
		}
		to[a] = seq
		if from[n>>8] == nil {
			from[n>>8] = new([256]byte)
		}
		from[n>>8][n&0xff] = byte(a)
	}
	if cs.utf8[dst] {
		fwd.ToUTF8, back.FromUTF8 = to, from
	} else {
		fwd.Bytes, back.Bytes = &f, &b
	}
	if cs.maps == nil {
		cs.maps = map[[2]int]*recoder{}
	}
	cs.maps[[2]int{src, dst}], cs.maps[[2]int{dst, src}] = fwd, back
	return nil
}

// hexToI is ngx_hextoi: hex digits only, at least one.
func hexToI(s string) (int, bool) {
	if s == "" || len(s) > 8 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		switch {
		case s[i] >= '0' && s[i] <= '9':
			n = n*16 + int(s[i]-'0')
		case c >= 'a' && c <= 'f':
			n = n*16 + int(c-'a'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// compileCharsets resolves conf's charset and source_charset against the
// http block's charsets, refusing what is not served.
func (c *compiler) compileCharsets(conf *locConf) error {
	cs := &c.rt.charsets
	conf.charsetIdx, conf.sourceIdx = -1, -1
	if conf.charset != "" && conf.charsetVar == nil {
		conf.charsetIdx = cs.add(conf.charset)
		conf.charsetBytes = []byte(cs.names[conf.charsetIdx])
	}
	if conf.sourceCharset == "" {
		return nil
	}
	d := conf.sourceCharsetDir
	refuse := func(why string) error {
		if !c.opts.Serving {
			return nil
		}
		return confErr(d, "\"source_charset\" %s is not supported by gonginx", why)
	}
	if strings.HasPrefix(conf.sourceCharset, "$") {
		return refuse("with a variable")
	}
	conf.sourceIdx = cs.add(conf.sourceCharset)
	return nil
}

// setCharset is the charset filter's header part for a response this
// package writes: the charset named in Content-Type, and the recoder the
// body goes through (x.recode). The caller clears the length when the
// recode grows the body.
func (x *exchange) setCharset(r *http1.Response, conf *locConf) {
	x.recode = nil
	if x.isSub() {
		x.subrequestCharset(r, conf, nil)
		return
	}
	if x.overrideCharset(r, conf) {
		return
	}
	if conf.charset == "" || len(r.ContentType) == 0 || !conf.charsetAny && !x.charsetType(conf, r.ContentType) {
		return
	}
	dst, dstIdx := conf.charsetBytes, conf.charsetIdx
	if conf.charsetVar != nil {
		x.charsetBuf = conf.charsetVar.Eval(&x.st, x.charsetBuf[:0])
		dst, dstIdx = x.charsetBuf, x.rt.charsets.indexBytes(x.charsetBuf)
	}
	if conf.sourceCharset != "" && dstIdx != conf.sourceIdx {
		var rc *recoder
		if dstIdx >= 0 && conf.sourceIdx >= 0 {
			rc = x.rt.charsets.maps[[2]int{conf.sourceIdx, dstIdx}]
		}
		if rc == nil {
			src := conf.sourceCharset
			if conf.sourceIdx >= 0 {
				src = x.rt.charsets.names[conf.sourceIdx]
			}
			// nginx is in its header filter, "sending response to client".
			x.log.Errorf(x, "no \"charset_map\" between the charsets \"%s\" and \"%s\" while sending response to client", src, dst)
			return
		}
		x.recode = rc
	}
	// ngx_http_set_charset: a 301 or 302 names no charset (its body is
	// still recoded).
	if r.Status == 301 || r.Status == 302 || len(dst) == 0 {
		return
	}
	r.Charset = dst
}

// proxiedCharset is the charset filter's header part for a proxied
// response (ngx_http_charset_header_filter on the backend's
// Content-Type): a charset the backend names is the source and is left
// alone unless override_charset is on; without one, charset_types decide
// and source_charset is the source. The Content-Type is then written
// here whole, the backend's charset replaced, and x.recode set when the
// body is recoded. A subrequest's body is recoded to the main response's
// charset (charsetsub.go).
func (x *exchange) proxiedCharset(resp *http1.Response, conf *locConf) {
	x.recode = nil
	if x.isSub() {
		_, src := splitCharset(resp.ContentType)
		x.subrequestCharset(resp, conf, src)
		return
	}
	if x.overrideCharset(resp, conf) {
		if x.recode != nil && x.recode.Grows() {
			resp.ContentLength = -1
		}
		return
	}
	resp.Charset = nil
	ct := resp.ContentType
	if len(ct) == 0 || conf.charset == "" {
		return
	}
	typ, src := splitCharset(ct)
	if src != nil {
		if !conf.overrideCharset {
			return
		}
	} else if !conf.charsetAny && !x.charsetType(conf, typ) {
		return
	}
	cs := &x.rt.charsets
	dst, dstIdx := conf.charsetBytes, conf.charsetIdx
	if conf.charsetVar != nil {
		x.charsetBuf = conf.charsetVar.Eval(&x.st, x.charsetBuf[:0])
		dst, dstIdx = x.charsetBuf, cs.indexBytes(x.charsetBuf)
	}
	srcIdx, srcName := -1, ""
	switch {
	case src != nil:
		srcIdx = cs.indexBytes(src)
	case conf.sourceCharset == "":
		x.nameProxiedCharset(resp, ct, dst)
		return
	default:
		srcIdx, srcName = conf.sourceIdx, cs.names[conf.sourceIdx]
	}
	noMap := func() {
		if src != nil {
			srcName = string(src)
		}
		// nginx is in the upstream's header handling.
		x.log.Errorf(x, "no \"charset_map\" between the charsets \"%s\" and \"%s\" while reading response header from upstream", srcName, dst)
	}
	if dstIdx < 0 || srcIdx < 0 {
		if dstIdx != srcIdx || !equalFold(dst, strings.ToLower(string(src))) {
			noMap()
			return
		}
		x.nameProxiedCharset(resp, typ, dst)
		return
	}
	if srcIdx == dstIdx {
		x.nameProxiedCharset(resp, typ, dst)
		return
	}
	if lastHeader(resp.Headers, "content-encoding") >= 0 {
		return
	}
	rc := cs.maps[[2]int{srcIdx, dstIdx}]
	if rc == nil {
		noMap()
		return
	}
	x.nameProxiedCharset(resp, typ, dst)
	x.recode = rc
	if rc.Grows() {
		resp.ContentLength = -1
	}
}

// nameProxiedCharset writes a proxied response's Content-Type as typ with
// "; charset=dst" (ngx_http_set_charset and the header filter's append):
// a 301 or 302 names no charset, nor does an empty name.
func (x *exchange) nameProxiedCharset(resp *http1.Response, typ, dst []byte) {
	resp.ContentType = typ
	if resp.Status == 301 || resp.Status == 302 || len(dst) == 0 {
		return
	}
	x.ctBuf = append(append(append(x.ctBuf[:0], typ...), "; charset="...), dst...)
	resp.ContentType = x.ctBuf
}

// splitCharset splits a backend's Content-Type as
// ngx_http_upstream_copy_content_type: the type is what precedes the ';'
// of a "charset=" parameter (else the whole value), the charset is the
// rest of the value after "charset=", its quotes dropped; nil without
// one.
func splitCharset(ct []byte) (typ, charset []byte) {
	for i := 0; i < len(ct); i++ {
		if ct[i] != ';' {
			continue
		}
		j := i + 1
		for j < len(ct) && ct[j] == ' ' {
			j++
		}
		if j == len(ct) {
			return ct, nil
		}
		if len(ct)-j < 8 || !http1.EqualFold(ct[j:j+8], "charset=") {
			continue
		}
		v := ct[j+8:]
		if len(v) > 0 && v[0] == '"' {
			v = v[1:]
		}
		if len(v) > 0 && v[len(v)-1] == '"' {
			v = v[:len(v)-1]
		}
		return ct[:i], v
	}
	return ct, nil
}

// charsetType tests a type against charset_types as nginx does, through
// its lowercase form.
func (x *exchange) charsetType(conf *locConf, ct []byte) bool {
	if conf.charsetTypes[string(ct)] {
		return true
	}
	lower := appendLower(x.ctLower[:0], ct)
	x.ctLower = lower
	return conf.charsetTypes[string(lower)]
}

// recodeGrows reports whether the body being sent changes length.
func (x *exchange) recodeGrows() bool { return x.recode != nil && x.recode.Grows() }
