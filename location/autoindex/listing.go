// Package autoindex owns the directory listings of nginx's autoindex
// module (ngx_http_autoindex_module): the order of the entries and their
// html, json, jsonp and xml renderings, byte for byte as nginx 1.22 writes
// them (names cut at 50 characters, escaping, sizes such as "23M",
// dates).
//
// It is a package of its own because the listing is pure data in, bytes
// out: it knows nothing of requests, configurations or the file system, so
// it is tested and fuzzed alone. Reading the directory and answering the
// request (index first, errors, headers, HEAD) is the content handler's
// work, in package location (autoindex.go).
//
// Entry points: Sort, then AppendHTML, AppendJSON or AppendXML into a
// buffer the caller reuses.
package autoindex

import (
	"bytes"
	"slices"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// Entry is one name of a listed directory, as stat(2) (lstat(2) for a
// dangling link) told of it.
type Entry struct {
	Name  []byte
	Dir   bool // a directory, or a link to one
	File  bool // a regular file, or a link to one
	Mtime int64
	Size  int64
}

// Sort puts directories first, then compares names byte by byte (strcmp),
// as ngx_http_autoindex_cmp_entries.
func Sort(entries []Entry) {
	slices.SortFunc(entries, compareEntries)
}

func compareEntries(a, b Entry) int {
	switch {
	case a.Dir && !b.Dir:
		return -1
	case !a.Dir && b.Dir:
		return 1
	}
	return bytes.Compare(a.Name, b.Name)
}

// HTMLOptions are what the html listing reads of the request.
type HTMLOptions struct {
	// UTF8: the response names the charset utf-8, so names are cut and
	// padded by characters rather than bytes.
	UTF8 bool
	// ExactSize is autoindex_exact_size: bytes, or rounded to K, M, G.
	ExactSize bool
	// Offset is added to every mtime before it is printed: the server's
	// UTC offset in seconds with autoindex_localtime on (nginx takes the
	// offset of the current time for all entries), else 0.
	Offset int64
}

// nameLen is NGX_HTTP_AUTOINDEX_NAME_LEN: the column names are cut and
// padded to.
const nameLen = 50

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// AppendHTML appends nginx's html listing of uri (the request's decoded
// URI, ending in "/") with entries, sorted.
func AppendHTML(dst, uri []byte, entries []Entry, o HTMLOptions) []byte {
	dst = append(dst, "<html>\r\n<head><title>Index of "...)
	dst = rewrite.AppendEscapeHTML(dst, uri)
	dst = append(dst, "</title></head>\r\n<body>\r\n<h1>Index of "...)
	dst = rewrite.AppendEscapeHTML(dst, uri)
	dst = append(dst, "</h1><hr><pre><a href=\"../\">../</a>\r\n"...)
	for i := range entries {
		dst = appendHTMLEntry(dst, &entries[i], o)
	}
	return append(dst, "</pre><hr></body>\r\n</html>\r\n"...)
}

// appendHTMLEntry writes one line of the listing: the link, the name cut
// to 50 characters (47 and "..>" when longer) and padded with spaces, the
// date and the size.
func appendHTMLEntry(dst []byte, e *Entry, o HTMLOptions) []byte {
	name := e.Name
	dst = append(dst, "<a href=\""...)
	dst = appendEscapeComponent(dst, name)
	if e.Dir {
		dst = append(dst, '/')
	}
	dst = append(dst, '"', '>')
	n := len(name) // the name's length in characters
	if o.UTF8 {
		n = utf8Length(name)
	}
	switch {
	case n != len(name):
		// Some characters take more than one byte: cut by characters.
		keep := nameLen
		if n > nameLen {
			keep = nameLen - 3
		}
		dst = rewrite.AppendEscapeHTML(dst, name[:utf8Prefix(name, keep)])
	case n > nameLen:
		dst = rewrite.AppendEscapeHTML(dst, name[:nameLen-3])
	default:
		dst = rewrite.AppendEscapeHTML(dst, name)
	}
	if n > nameLen {
		dst = append(dst, "..&gt;</a>"...)
	} else {
		if e.Dir && n < nameLen {
			dst = append(dst, '/')
			n++
		}
		dst = append(dst, "</a>"...)
		for ; n < nameLen; n++ {
			dst = append(dst, ' ')
		}
	}
	dst = append(dst, ' ')
	t := time.Unix(e.Mtime+o.Offset, 0).UTC()
	y, mon, d := t.Date()
	dst = append2(dst, d)
	dst = append(dst, '-')
	dst = append(dst, months[mon-1]...)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, int64(y), 10)
	dst = append(dst, ' ')
	dst = append2(dst, t.Hour())
	dst = append(dst, ':')
	dst = append2(dst, t.Minute())
	dst = append(dst, ' ')
	switch {
	case o.ExactSize && e.Dir:
		dst = append(dst, "                  -"...)
	case o.ExactSize:
		dst = appendPadded(dst, e.Size, 19)
	case e.Dir:
		dst = append(dst, "      -"...)
	default:
		dst = appendScaledSize(dst, e.Size)
	}
	return append(dst, '\r', '\n')
}

// appendScaledSize is the size column without autoindex_exact_size: bytes
// up to 9999, else K, M or G rounded half up, right-aligned in 7.
func appendScaledSize(dst []byte, size int64) []byte {
	const k, m, g = 1024, 1024 * 1024, 1024 * 1024 * 1024
	var unit int64
	var scale byte
	switch {
	case size > g-1:
		unit, scale = g, 'G'
	case size > m-1:
		unit, scale = m, 'M'
	case size > 9999:
		unit, scale = k, 'K'
	default:
		dst = append(dst, ' ')
		return appendPadded(dst, size, 6)
	}
	n := size / unit
	if size%unit > unit/2-1 {
		n++
	}
	dst = appendPadded(dst, n, 6)
	return append(dst, scale)
}

// appendPadded writes n right-aligned in width columns (printf's "%*d").
func appendPadded(dst []byte, n int64, width int) []byte {
	var num [20]byte
	digits := strconv.AppendInt(num[:0], n, 10)
	for i := len(digits); i < width; i++ {
		dst = append(dst, ' ')
	}
	return append(dst, digits...)
}

// append2 writes n with at least two digits ("%02d").
func append2(dst []byte, n int) []byte {
	if n < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(n), 10)
}

// AppendJSON appends nginx's json listing of entries, sorted; with a
// callback (jsonp), wrapped in a call to it.
func AppendJSON(dst []byte, entries []Entry, callback []byte) []byte {
	if callback != nil {
		dst = append(dst, "/* callback */\r\n"...)
		dst = append(dst, callback...)
		dst = append(dst, '(')
	}
	dst = append(dst, '[')
	for i := range entries {
		e := &entries[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, "\r\n{ \"name\":\""...)
		dst = appendEscapeJSON(dst, e.Name)
		dst = append(dst, "\", \"type\":\""...)
		dst = append(dst, entryType(e)...)
		dst = append(dst, "\", \"mtime\":\""...)
		dst = http1.AppendHTTPTime(dst, e.Mtime)
		if e.File {
			dst = append(dst, "\", \"size\":"...)
			dst = strconv.AppendInt(dst, e.Size, 10)
		} else {
			dst = append(dst, '"')
		}
		dst = append(dst, " }"...)
	}
	dst = append(dst, "\r\n]"...)
	if callback != nil {
		dst = append(dst, ')', ';')
	}
	return dst
}

// AppendXML appends nginx's xml listing of entries, sorted.
func AppendXML(dst []byte, entries []Entry) []byte {
	dst = append(dst, "<?xml version=\"1.0\"?>\r\n<list>\r\n"...)
	for i := range entries {
		e := &entries[i]
		typ := entryType(e)
		dst = append(dst, '<')
		dst = append(dst, typ...)
		dst = append(dst, " mtime=\""...)
		t := time.Unix(e.Mtime, 0).UTC()
		y, mon, d := t.Date()
		dst = appendPadded4(dst, y)
		dst = append(dst, '-')
		dst = append2(dst, int(mon))
		dst = append(dst, '-')
		dst = append2(dst, d)
		dst = append(dst, 'T')
		dst = append2(dst, t.Hour())
		dst = append(dst, ':')
		dst = append2(dst, t.Minute())
		dst = append(dst, ':')
		dst = append2(dst, t.Second())
		dst = append(dst, 'Z')
		if e.File {
			dst = append(dst, "\" size=\""...)
			dst = strconv.AppendInt(dst, e.Size, 10)
		}
		dst = append(dst, '"', '>')
		dst = rewrite.AppendEscapeHTML(dst, e.Name)
		dst = append(dst, '<', '/')
		dst = append(dst, typ...)
		dst = append(dst, '>', '\r', '\n')
	}
	return append(dst, "</list>\r\n"...)
}

// appendPadded4 is "%4d": the year padded with spaces (nginx's
// ngx_sprintf pads with spaces unless the width has a leading 0).
func appendPadded4(dst []byte, n int) []byte {
	return appendPadded(dst, int64(n), 4)
}

func entryType(e *Entry) string {
	switch {
	case e.Dir:
		return "directory"
	case e.File:
		return "file"
	}
	return "other"
}

// ValidCallback reports whether a jsonp callback name is one nginx
// accepts: at most 128 bytes of letters, digits, '_' and '.'.
func ValidCallback(cb []byte) bool {
	if len(cb) > 128 {
		return false
	}
	for _, c := range cb {
		l := c | 0x20
		if l >= 'a' && l <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' {
			continue
		}
		return false
	}
	return true
}

// uriComponent is ngx_escape_uri's NGX_ESCAPE_URI_COMPONENT table:
// everything but letters, digits, '-', '.', '_' and '~'.
var uriComponent = [8]uint32{0xffffffff, 0xfc009fff, 0x78000001, 0xb8000001,
	0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}

func appendEscapeComponent(dst, s []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range s {
		if uriComponent[c>>5]&(1<<(c&0x1f)) != 0 {
			dst = append(dst, '%', hex[c>>4], hex[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// appendEscapeJSON is ngx_escape_json: '"' and '\\' escaped, control
// characters as \n, \r, \t, \b, \f or \u00XX.
func appendEscapeJSON(dst, s []byte) []byte {
	for _, c := range s {
		if c > 0x1f {
			if c == '\\' || c == '"' {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '\\')
		switch c {
		case '\n':
			dst = append(dst, 'n')
		case '\r':
			dst = append(dst, 'r')
		case '\t':
			dst = append(dst, 't')
		case '\b':
			dst = append(dst, 'b')
		case '\f':
			dst = append(dst, 'f')
		default:
			lo := c & 0xf
			d := '0' + lo
			if lo >= 10 {
				d = 'A' + lo - 10
			}
			dst = append(dst, 'u', '0', '0', '0'+c>>4, d)
		}
	}
	return dst
}

// utf8Length is ngx_utf8_length: the number of characters of s, or its
// length in bytes when it is not valid UTF-8 as nginx decodes it.
func utf8Length(s []byte) int {
	n := 0
	for i := 0; i < len(s); n++ {
		if s[i] < 0x80 {
			i++
			continue
		}
		u, used := decodeUTF8(s[i:])
		if u > 0x10ffff {
			return len(s)
		}
		i += used
	}
	return n
}

// utf8Prefix is the length in bytes of the first n characters of s, which
// utf8Length found valid (ngx_utf8_cpystrn copying n characters).
func utf8Prefix(s []byte, n int) int {
	i := 0
	for ; n > 0 && i < len(s); n-- {
		if s[i] < 0x80 {
			i++
			continue
		}
		_, used := decodeUTF8(s[i:])
		i += used
	}
	return i
}

// decodeUTF8 is ngx_utf8_decode: the code point at the start of s and the
// bytes it takes; above 0x10ffff when s is not valid there (overlong
// forms and continuation bytes below 0x80 are invalid, while continuation
// bytes are not checked further, as nginx does).
func decodeUTF8(s []byte) (u uint32, used int) {
	u = uint32(s[0])
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
	if len(s)-1 < k {
		return 0xfffffffe, len(s)
	}
	i := 1
	for ; k > 0; k-- {
		c := uint32(s[i])
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
