package location

import (
	"strconv"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The charset filter (ngx_http_charset_filter_module): the charset named
// in Content-Type, and recoding a body from source_charset to charset
// through a charset_map. Served: one-byte charsets both ways, for the
// bodies this package writes (static files, return text, built-in
// pages). A recode to or from utf-8, source_charset with a variable, or a
// recode in a location that proxies refuses to start.

// charsetSet is the http block's charsets, numbered in the order they
// were first named (nginx's mcf->charsets), and the one-byte tables of
// the charset_map blocks.
type charsetSet struct {
	names []string // as first written; Content-Type uses this spelling
	utf8  []bool
	// maps holds each charset_map both ways, keyed [src][dst].
	maps map[[2]int]*[256]byte
	// usable are the (source_charset, charset) pairs some location names
	// without variables: only those recode at run time, as nginx builds
	// charsets[].tables for them alone.
	usable map[[2]int]*[256]byte
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

// charsetMap reads a charset_map block as ngx_http_charset_map_block:
// bytes not listed above 0x7f become '?', the rest map to themselves.
func (c *compiler) charsetMap(d *nginxconf.Directive) error {
	if len(d.Args) != 2 {
		return nil
	}
	cs := &c.rt.charsets
	src, dst := cs.add(d.Args[0]), cs.add(d.Args[1])
	if cs.utf8[dst] || cs.utf8[src] {
		// Kept as a name only: recoding through it refuses to start.
		return nil
	}
	var fwd, back [256]byte
	for i := range fwd {
		fwd[i], back[i] = byte(i), byte(i)
		if i >= 0x80 {
			fwd[i], back[i] = '?', '?'
		}
	}
	for _, e := range d.Block {
		if e.Name == "#" || len(e.Args) != 1 {
			continue
		}
		a, err1 := strconv.ParseUint(e.Name, 16, 8)
		b, err2 := strconv.ParseUint(e.Args[0], 16, 8)
		if err1 != nil || err2 != nil {
			continue // -t reports it
		}
		fwd[a], back[b] = byte(b), byte(a)
	}
	if cs.maps == nil {
		cs.maps = map[[2]int]*[256]byte{}
		cs.usable = map[[2]int]*[256]byte{}
	}
	cs.maps[[2]int{src, dst}], cs.maps[[2]int{dst, src}] = &fwd, &back
	return nil
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
	if cs.utf8[conf.sourceIdx] || cs.utf8[conf.charsetIdx] {
		return refuse("to or from utf-8")
	}
	pair := [2]int{conf.sourceIdx, conf.charsetIdx}
	if t := cs.maps[pair]; t != nil {
		cs.usable[pair] = t
	}
	return nil
}

// setCharset is the charset filter's header part for a response this
// package writes: the charset named in Content-Type, and the table the
// body is recoded through (x.recode).
func (x *exchange) setCharset(r *http1.Response, conf *locConf) {
	x.recode = nil
	if conf.charset == "" || len(r.ContentType) == 0 || !conf.charsetAny && !conf.charsetTypes[string(r.ContentType)] {
		return
	}
	dst, dstIdx := conf.charsetBytes, conf.charsetIdx
	if conf.charsetVar != nil {
		x.charsetBuf = conf.charsetVar.Eval(&x.st, x.charsetBuf[:0])
		dst, dstIdx = x.charsetBuf, x.rt.charsets.indexBytes(x.charsetBuf)
	}
	if conf.sourceCharset != "" && dstIdx != conf.sourceIdx {
		var table *[256]byte
		if dstIdx >= 0 && conf.sourceIdx >= 0 {
			table = x.rt.charsets.usable[[2]int{conf.sourceIdx, dstIdx}]
		}
		if table == nil {
			src := conf.sourceCharset
			if conf.sourceIdx >= 0 {
				src = x.rt.charsets.names[conf.sourceIdx]
			}
			// nginx is in its header filter, "sending response to client".
			x.log.Errorf(x, "no \"charset_map\" between the charsets \"%s\" and \"%s\" while sending response to client", src, dst)
			return
		}
		x.recode = table
	}
	// ngx_http_set_charset: a 301 or 302 names no charset (its body is
	// still recoded).
	if r.Status == 301 || r.Status == 302 || len(dst) == 0 {
		return
	}
	r.Charset = dst
}

// writeBody writes body bytes through the recode table, if any; false once
// a write failed (the response is cut).
func (x *exchange) writeBody(b []byte) bool {
	if x.recode == nil {
		return x.write(b)
	}
	t := x.recode
	out := x.recodeBuf[:0]
	for _, c := range b {
		out = append(out, t[c])
	}
	x.recodeBuf = out
	return x.write(out)
}
