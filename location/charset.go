package location

import (
	"fmt"
	"strings"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/nginxconf"
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
	// maps holds each charset_map both ways, keyed [src][dst]: nginx
	// makes every one usable at run time (ngx_http_charset_postconfiguration).
	maps map[[2]int]*filter.Recoder
}

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
	fwd, back := &filter.Recoder{}, &filter.Recoder{}
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
			return confErr(e, "invalid value \"%s\"", e.Name)
		}
		v := e.Args[0]
		if !cs.utf8[dst] {
			n, ok := hexToI(v)
			if !ok || n > 255 {
				return confErr(e, "invalid value \"%s\"", v)
			}
			f[a], b[n] = byte(n), byte(a)
			continue
		}
		seq := make([]byte, 0, (len(v)+1)/2)
		for k := 0; k < len(v); k += 2 {
			n, ok := hexToI(v[k:min(k+2, len(v))])
			if !ok || k+2 > len(v) {
				return confErr(e, "invalid value \"%s\"", v)
			}
			seq = append(seq, byte(n))
		}
		n := uint32(0xffffffff)
		if len(seq) > 0 {
			n, _ = filter.UTF8Decode(seq)
		}
		if n > 0xffff {
			return confErr(e, "invalid value \"%s\"", v)
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
		cs.maps = map[[2]int]*filter.Recoder{}
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
// http block's charsets; a (source_charset, charset) pair without a
// charset_map is nginx's emergency.
func (c *compiler) compileCharsets(conf *locConf) error {
	cs := &c.rt.charsets
	conf.charsetIdx, conf.sourceIdx = -1, -1
	conf.charsetIdle = conf.charset == "" && !conf.ssi.on && conf.addBefore == nil && conf.addAfter == nil &&
		len(conf.mirror.uris) == 0 && conf.sliceSize == 0 && conf.postAction == nil
	if conf.charset != "" && conf.charsetVar == nil {
		conf.charsetIdx = cs.add(conf.charset)
		conf.charsetBytes = []byte(cs.names[conf.charsetIdx])
	}
	if conf.sourceCharset == "" {
		return nil
	}
	if strings.HasPrefix(conf.sourceCharset, "$") {
		conf.sourceVar = c.rc.Variable(conf.sourceCharset[1:])
		return nil
	}
	conf.sourceIdx = cs.add(conf.sourceCharset)
	conf.sourceBytes = []byte(cs.names[conf.sourceIdx])
	if conf.charsetIdx >= 0 && conf.charsetIdx != conf.sourceIdx && cs.maps[[2]int{conf.sourceIdx, conf.charsetIdx}] == nil {
		return &nginxconf.Error{Msg: fmt.Sprintf("no \"charset_map\" between the charsets \"%s\" and \"%s\"",
			cs.names[conf.sourceIdx], cs.names[conf.charsetIdx])}
	}
	return nil
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
