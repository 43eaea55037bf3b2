package location

import (
	"strconv"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The charset filter (ngx_http_charset_filter_module): the charset named
// in Content-Type, and recoding a body from source_charset to charset
// through a charset_map, one-byte to one-byte or to and from utf-8, for
// the bodies this package writes (static files, return text, built-in
// pages). source_charset with a variable, or a recode in a location that
// proxies, refuses to start.

// charsetSet is the http block's charsets, numbered in the order they
// were first named (nginx's mcf->charsets), and the one-byte tables of
// the charset_map blocks.
type charsetSet struct {
	names []string // as first written; Content-Type uses this spelling
	utf8  []bool
	// maps holds each charset_map both ways, keyed [src][dst].
	maps map[[2]int]*recoder
	// usable are the (source_charset, charset) pairs some location names
	// without variables: only those recode at run time, as nginx builds
	// charsets[].tables for them alone.
	usable map[[2]int]*recoder
}

// recoder is one direction of a charset_map; one of its tables is set.
type recoder struct {
	bytes    *[256]byte       // one-byte charset to one-byte charset
	toUTF8   *[256][]byte     // one-byte charset to utf-8
	fromUTF8 *[256]*[256]byte // utf-8 (code points below 0x10000) to one-byte; 0: none
}

// grows: the body changes length, so it goes without Content-Length and
// without ranges (nginx clears the length for a utf-8 recode).
func (r *recoder) grows() bool { return r.bytes == nil }

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
			n, _ = utf8Decode(seq)
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
		fwd.toUTF8, back.fromUTF8 = to, from
	} else {
		fwd.bytes, back.bytes = &f, &b
	}
	if cs.maps == nil {
		cs.maps = map[[2]int]*recoder{}
		cs.usable = map[[2]int]*recoder{}
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
func (c *compiler) compileCharsets(conf *locConf, proxies bool) error {
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
	if conf.charset == "" || conf.charsetIdx == conf.sourceIdx {
		return nil
	}
	if conf.charsetVar != nil {
		// Resolved per request among the usable pairs, as nginx does.
		return nil
	}
	if proxies {
		return refuse("in a location that proxies")
	}
	pair := [2]int{conf.sourceIdx, conf.charsetIdx}
	if t := cs.maps[pair]; t != nil {
		cs.usable[pair] = t
	}
	return nil
}

// setCharset is the charset filter's header part for a response this
// package writes: the charset named in Content-Type, and the recoder the
// body goes through (x.recode). The caller clears the length when the
// recode grows the body.
func (x *exchange) setCharset(r *http1.Response, conf *locConf) {
	x.recode, x.utf8Saved = nil, x.utf8Saved[:0]
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
			rc = x.rt.charsets.usable[[2]int{conf.sourceIdx, dstIdx}]
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

// proxiedCharset is the charset filter for a proxied response: one whose
// Content-Type has parameters (a charset of its own) is left as the proxy
// wrote it (override_charset off); otherwise the location's charset,
// charset_types and charset $name decide, as for any response. A recode
// of a proxied body is refused at load, so none is set here.
func (x *exchange) proxiedCharset(resp *http1.Response, conf *locConf) {
	if x.overrideCharset(resp, conf) {
		x.recode = nil
		return
	}
	for _, c := range resp.ContentType {
		if c == ';' {
			return
		}
	}
	resp.Charset = nil
	x.setCharset(resp, conf)
	x.recode = nil
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
func (x *exchange) recodeGrows() bool { return x.recode != nil && x.recode.grows() }

// writeBody writes body bytes through the recoder, if any; false once a
// write failed (the response is cut).
func (x *exchange) writeBody(b []byte) bool {
	rc := x.recode
	if rc == nil {
		return x.write(b)
	}
	out := x.recodeBuf[:0]
	switch {
	case rc.bytes != nil:
		for _, c := range b {
			out = append(out, rc.bytes[c])
		}
	case rc.toUTF8 != nil:
		for _, c := range b {
			out = append(out, rc.toUTF8[c]...)
		}
	default:
		out = x.fromUTF8(out, b)
	}
	x.recodeBuf = out
	return x.write(out)
}

// fromUTF8 recodes b as ngx_http_charset_recode_from_utf8, carrying an
// incomplete sequence at its end over to the next call (one left at the
// end of the body is dropped, as nginx drops it).
func (x *exchange) fromUTF8(out, b []byte) []byte {
	if len(x.utf8Saved) > 0 {
		x.utf8Joined = append(append(x.utf8Joined[:0], x.utf8Saved...), b...)
		b = x.utf8Joined
		x.utf8Saved = x.utf8Saved[:0]
	}
	table := x.recode.fromUTF8
	for i := 0; i < len(b); {
		if b[i] < 0x80 {
			out = append(out, b[i])
			i++
			continue
		}
		n, used := utf8Decode(b[i:])
		switch {
		case n == 0xfffffffe:
			x.utf8Saved = append(x.utf8Saved[:0], b[i:]...)
			return out
		case n < 0x10000:
			if p := table[n>>8]; p != nil && p[n&0xff] != 0 {
				out = append(out, p[n&0xff])
			} else {
				out = appendEntity(out, n)
			}
		case n > 0x10ffff:
			out = append(out, '?')
		default:
			out = appendEntity(out, n)
		}
		i += used
	}
	return out
}

func appendEntity(b []byte, n uint32) []byte {
	b = append(b, "&#"...)
	b = strconv.AppendUint(b, uint64(n), 10)
	return append(b, ';')
}

// utf8Decode is ngx_utf8_decode: the code point at the start of b and the
// bytes it takes; 0xfffffffe when b ends inside the sequence, 0xffffffff
// for an invalid one (a continuation byte below 0x80 is taken with it).
func utf8Decode(b []byte) (n uint32, used int) {
	u := uint32(b[0])
	var valid uint32
	var k int
	switch {
	case u >= 0xf0:
		u, valid, k = u&0x07, 0xffff, 3
	case u >= 0xe0:
		u, valid, k = u&0x0f, 0x7ff, 2
	case u >= 0xc2:
		u, valid, k = u&0x1f, 0x7f, 1
	default:
		return 0xffffffff, 1
	}
	if len(b)-1 < k {
		return 0xfffffffe, 0
	}
	i := 1
	for ; k > 0; k-- {
		c := uint32(b[i])
		i++
		if c < 0x80 {
			return 0xffffffff, i
		}
		u = u<<6 | c&0x3f
	}
	if u > valid {
		return u, i
	}
	return 0xffffffff, i
}
