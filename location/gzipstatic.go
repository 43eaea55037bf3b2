package location

import (
	"syscall"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// gzipStatic is ngx_http_gzip_static_handler, run in the content phase
// before the static module for a URI that does not end in '/': with
// gzip_static on, a client that takes gzip gets FILE.gz as it is, with
// Content-Encoding: gzip and the .gz file's length, Last-Modified and
// ETag (so its own not-modified answers); "always" sends it to every
// client (gunzip may inflate it). handled is false when the static
// module is to serve the request instead.
func (x *exchange) gzipStatic(loc *Location, conf *locConf) (rc int, handled bool) {
	m := x.req.MethodCode
	g := &conf.gz
	if m != http1.MethodGET && m != http1.MethodHEAD || g.static == staticOff {
		return 0, false
	}
	ok := g.static == staticAlways || x.gzipOK(conf, nil)
	if !g.vary && !ok {
		return 0, false
	}
	path := x.mapPath(loc, conf, x.req.URI, false)
	path = append(path, ".gz"...)
	x.path = path
	fd, e, failed := openFile(&x.cpath, path, x.openRule(conf, path), oRead)
	if e != 0 {
		switch e {
		case syscall.ENOENT, syscall.ENOTDIR, syscall.ENAMETOOLONG:
		case syscall.EACCES, syscall.EMLINK, syscall.ELOOP:
			x.log.Logf(x, "error", "%s \"%s\" failed (%s)", failed, path, nginxconf.ErrnoText(e))
		default:
			x.log.Logf(x, "crit", "%s \"%s\" failed (%s)", failed, path, nginxconf.ErrnoText(e))
		}
		return 0, false
	}
	defer syscall.Close(fd)
	if g.static == staticOn {
		x.gzip.vary = true
		if !ok {
			return 0, false
		}
	}
	var fi fileStat
	if e := fstat(fd, &fi); e != 0 {
		return 500, true
	}
	if fi.isDir {
		return 0, false
	}
	if !fi.regular {
		x.log.Logf(x, "crit", "\"%s\" is not a regular file", path)
		return 404, true
	}
	if rc := x.discardBody(); rc != 0 {
		return rc, true
	}
	size, mtime := fi.size, fi.mtime
	r := x.newResp(200, conf)
	r.ContentType = x.contentType(conf)
	r.ContentLength = size
	r.LastModified = mtime
	if conf.etag {
		x.etag = appendETag(x.etag[:0], mtime, size)
		r.Headers = append(r.Headers, http1.Header{Name: hdrETag, Value: x.etag})
	}
	r.Headers = append(r.Headers, http1.Header{Name: hdrContentEncoding, Value: valGzip})
	if x.errStatus == 0 {
		if x.preconditionFailed(conf, mtime) {
			return 412, true
		}
		if x.notModified(conf, mtime) {
			r.Status, r.ContentType, r.Charset, r.ContentLength = 304, nil, nil, -1
			x.writeHeader(r)
			return 0, true
		}
	}
	x.writeHeader(r)
	if m == http1.MethodHEAD {
		return 0, true
	}
	x.endWithFile()
	x.copyFile(fd, 0, size)
	return 0, true
}
