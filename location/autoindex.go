package location

import (
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location/autoindex"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The autoindex content handler (ngx_http_autoindex_handler): a URI
// ending in "/" that no index file answered gets the directory's listing,
// rendered by package autoindex.

// autoindex_format values.
const (
	formatHTML uint8 = iota
	formatJSON
	formatJSONP
	formatXML
)

var (
	typeJSON       = []byte("application/json")
	typeJavaScript = []byte("application/javascript")
	typeXML        = []byte("text/xml")
	charsetUTF8    = []byte("utf-8")
)

// autoindex answers a GET or HEAD of a directory with its listing, or
// declines. The head goes out before the directory is read, as nginx
// sends it: a HEAD reads nothing, and an error while reading cuts the
// response.
func (x *exchange) autoindex(loc *Location, conf *locConf) int {
	m := x.req.MethodCode
	if m != http1.MethodGET && m != http1.MethodHEAD {
		return declined
	}
	if rc := x.discardBody(); rc != 0 {
		return rc
	}
	path := x.mapPath(loc, conf, x.req.URI, false)
	// nginx drops the last byte, the URI's "/" (or whatever a regex
	// location's alias ends with).
	if len(path) > 1 {
		path = path[:len(path)-1]
	}
	format := conf.autoindexFormat
	var callback []byte
	if format == formatJSONP {
		cb, _ := rewrite.FindArg(x.req.Args, "callback")
		if !autoindex.ValidCallback(cb) {
			what := "invalid"
			if len(cb) > 128 {
				what = "too long"
			}
			x.log.Logf(x, "info", "client sent %s callback name: \"%s\"", what, cb)
			return 400
		}
		if len(cb) == 0 {
			format = formatJSON
		}
		callback = cb
	}
	if rc := x.openListedDir(path); rc != 0 {
		return rc
	}
	d := &x.rareMem().dir
	r := x.newResp(200, conf)
	switch format {
	case formatJSON:
		r.ContentType = typeJSON
	case formatJSONP:
		r.ContentType = typeJavaScript
	case formatXML:
		r.ContentType = typeXML
	default:
		r.ContentType = textHTML
	}
	// The not-modified filter runs above the charset filter: without a
	// Last-Modified or an ETag, If-Unmodified-Since always fails and
	// "If-None-Match: *" alone matches.
	switch x.notModifiedFilter(conf, -1, nil) {
	case 412:
		d.close()
		return 412
	case 304:
		d.close()
		r.Status, r.ContentType = 304, nil
		x.writeHeader(r)
		return 0
	}
	if format == formatXML {
		// The handler names utf-8 itself, which the charset filter
		// leaves alone (override_charset off).
		r.Charset = charsetUTF8
	}
	x.writeHeader(r)
	// The listing escapes names for the charset the page went out with.
	utf8 := len(r.Charset) == 5 && equalFold(r.Charset, "utf-8")
	if m == http1.MethodHEAD {
		d.close()
		return 0
	}
	entries, ok := x.readListing(path)
	d.close()
	if !ok {
		// ngx_http_autoindex_error after the header: the request ends
		// in an error and the connection is closed.
		x.c.Discard()
		return 0
	}
	autoindex.Sort(entries)
	switch format {
	case formatJSON:
		x.rareMem().listing = autoindex.AppendJSON(x.rareMem().listing[:0], entries, nil)
	case formatJSONP:
		x.rareMem().listing = autoindex.AppendJSON(x.rareMem().listing[:0], entries, callback)
	case formatXML:
		x.rareMem().listing = autoindex.AppendXML(x.rareMem().listing[:0], entries)
	default:
		o := autoindex.HTMLOptions{UTF8: utf8, ExactSize: !conf.autoindexRound}
		if conf.autoindexLocal {
			_, off := time.Now().Zone()
			o.Offset = int64(off)
		}
		x.rareMem().listing = autoindex.AppendHTML(x.rareMem().listing[:0], x.req.URI, entries, o)
	}
	x.write(x.rareMem().listing)
	if cap(x.rareMem().listing) > maxKeptListing {
		// A huge directory's buffers are not kept by the pooled
		// exchange for every later request.
		x.rareMem().listing, x.rareMem().dirEntries, x.rareMem().dirNames = nil, nil, nil
	}
	return 0
}

// maxKeptListing is the largest listing whose buffers an exchange keeps.
const maxKeptListing = 256 << 10

// openListedDir opens path into x.rareMem().dir as ngx_open_dir, answering its
// failure as autoindex and random_index do.
func (x *exchange) openListedDir(path []byte) int {
	e := x.rareMem().dir.open(&x.cpath, path)
	if e == 0 {
		return 0
	}
	rc, level := 500, "crit"
	switch e {
	case syscall.ENOENT, syscall.ENOTDIR, syscall.ENAMETOOLONG:
		rc, level = 404, "error"
	case syscall.EACCES:
		rc, level = 403, "error"
	}
	x.log.Logf(x, level, "opendir() \"%s\" failed (%s)", path, nginxconf.ErrnoText(e))
	return rc
}

// readListing reads the open directory at path into x.rareMem().dirEntries: every
// name not starting with '.', stat'ed (lstat'ed when it is a dangling or
// looping link). A name that cannot be stat'ed for want of permission is
// left out; any other failure is logged and fails the listing.
func (x *exchange) readListing(path []byte) ([]autoindex.Entry, bool) {
	d := &x.rareMem().dir
	entries := x.rareMem().dirEntries[:0]
	names := x.rareMem().dirNames[:0]
	for {
		name, _, e := d.next()
		if e != 0 {
			x.log.Logf(x, "crit", "readdir() \"%s\" failed (%s)", path, nginxconf.ErrnoText(e))
			return nil, false
		}
		if name == nil {
			break
		}
		if name[0] == '.' {
			continue
		}
		var st syscall.Stat_t
		if e := d.statAt(name, true, &st); e != 0 {
			if e != syscall.ENOENT && e != syscall.ELOOP {
				x.log.Logf(x, "crit", "stat() \"%s/%s\" failed (%s)", path, name, nginxconf.ErrnoText(e))
				if e == syscall.EACCES {
					continue
				}
				return nil, false
			}
			if e := d.statAt(name, false, &st); e != 0 {
				x.log.Logf(x, "crit", "lstat() \"%s/%s\" failed (%s)", path, name, nginxconf.ErrnoText(e))
				return nil, false
			}
		}
		start := len(names)
		names = append(names, name...)
		mode := st.Mode & syscall.S_IFMT
		entries = append(entries, autoindex.Entry{
			Name: names[start:len(names):len(names)],
			Dir:  mode == syscall.S_IFDIR, File: mode == syscall.S_IFREG,
			Mtime: st.Mtim.Sec, Size: st.Size,
		})
	}
	x.rareMem().dirEntries, x.rareMem().dirNames = entries, names
	return entries, true
}
