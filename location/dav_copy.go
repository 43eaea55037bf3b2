package location

import (
	"bytes"
	"errors"
	"os"
	"syscall"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
)

// COPY and MOVE (ngx_http_dav_copy_move_handler).

// davDestination reads the Destination header as nginx does: a path, or
// an absolute URI on this server's host (http:// or https:// as the
// connection is). It returns the unescaped path and the header's last
// byte (the collection test reads the header as sent), or a status.
func (x *exchange) davDestination() (duri []byte, last byte, rc int) {
	dest := x.req.HeaderValue("Destination")
	if dest == nil {
		x.log.Errorf(x, "client sent no \"Destination\" header")
		return nil, 0, 400
	}
	p := -1
	if len(dest) > 0 && dest[0] == '/' {
		p = 0
	} else {
		server := x.req.Host
		if len(server) == 0 {
			x.log.Errorf(x, "client sent no \"Host\" header")
			return nil, 0, 400
		}
		scheme := []byte("http://")
		if info := x.c.ConnInfo(); info != nil && info.TLS {
			scheme = []byte("https://")
		}
		if bytes.HasPrefix(dest, scheme) {
			host := dest[len(scheme):]
			if !bytes.HasPrefix(host, server) {
				x.log.Errorf(x, "\"Destination\" URI \"%s\" is handled by different repository than the source URI", dest)
				return nil, 0, 400
			}
			if i := bytes.IndexByte(host[len(server):], '/'); i >= 0 {
				p = len(scheme) + len(server) + i
			}
		}
	}
	if p >= 0 {
		var ok bool
		duri, _, _, ok, x.rareMem().davScratch = http1.ParseUnsafeURI(dest[p:], x.rareMem().davScratch)
		if ok {
			return duri, lastByte(dest), 0
		}
		x.log.Errorf(x, "unsafe URI \"%s\" was detected", duri)
	}
	x.log.Errorf(x, "client sent invalid \"Destination\" header: \"%s\"", dest)
	return nil, 0, 400
}

func (x *exchange) davCopyMove(loc *Location, conf *locConf) int {
	move := x.req.MethodCode == http1.MethodMOVE
	if x.davHasBody() {
		x.log.Errorf(x, "COPY and MOVE with body are unsupported")
		return 415
	}
	duri, last, rc := x.davDestination()
	if rc != 0 {
		return rc
	}
	if (lastByte(x.req.URI) == '/') != (last == '/') {
		x.log.Errorf(x, "both URI \"%s\" and \"Destination\" URI \"%s\" should be either collections or non-collections",
			x.req.URI, x.req.HeaderValue("Destination"))
		return 409
	}
	depth, ok := x.davDepth(-1)
	if !ok || depth != -1 && (move || depth != 0) {
		if move {
			x.log.Errorf(x, "\"Depth\" header must be infinity")
		} else {
			x.log.Errorf(x, "\"Depth\" header must be 0 or infinity")
		}
		return 400
	}
	overwrite := true
	if v := x.req.HeaderValue("Overwrite"); v != nil {
		switch string(v) {
		case "T", "t":
		case "F", "f":
			overwrite = false
		default:
			x.log.Errorf(x, "client sent invalid \"Overwrite\" header: \"%s\"", v)
			return 400
		}
	}
	path := string(x.mapPath(loc, conf, x.req.URI, false))
	to := string(x.appendPath(nil, conf, duri))
	slash := len(to) > 0 && to[len(to)-1] == '/'
	if slash {
		to = to[:len(to)-1]
	}
	dir := false
	if fi, err := os.Lstat(to); err != nil {
		if !errors.Is(err, syscall.ENOENT) {
			return x.davError(err, 404, "lstat()", []byte(to))
		}
		overwrite = false // nothing there to replace
	} else {
		if fi.IsDir() && !slash {
			x.log.Errorf(x, "\"%s\" could not be %sed to collection \"%s\"", x.req.URI, x.req.Method,
				x.req.HeaderValue("Destination"))
			return 409
		}
		if !overwrite {
			x.log.Errorf(x, "\"%s\" could not be created (17: File exists)", to)
			return 412
		}
		dir = fi.IsDir()
	}
	src, err := os.Lstat(path)
	if err != nil {
		return x.davError(err, 404, "lstat()", []byte(path))
	}
	if !src.IsDir() {
		return x.davCopyMoveFile(path, to, src, move, conf)
	}
	if lastByte(x.req.URI) != '/' {
		x.log.Errorf(x, "\"%s\" is collection", x.req.URI)
		return 400
	}
	if overwrite {
		if rc := x.davDeletePath(to, dir); rc != 0 {
			return rc
		}
	}
	path = path[:len(path)-1]
	if move && syscall.Rename(path, to) == nil {
		return 201
	}
	if err := syscall.Mkdir(to, uint32(src.Mode().Perm())); err != nil {
		return x.davError(err, 404, "mkdir()", []byte(to))
	}
	under := func(p string) string { return to + p[len(path):] }
	if !x.davWalk(path, davWalker{
		file: func(p string, fi os.FileInfo) { x.davCopyFile(p, under(p), fi.Mode(), fi.ModTime()) },
		preDir: func(p string, fi os.FileInfo) {
			if err := syscall.Mkdir(under(p), uint32(upstream.DirAccess(fi.Mode().Perm()))); err != nil {
				x.davError(err, 0, "mkdir()", []byte(under(p)))
			}
		},
		postDir: func(p string, fi os.FileInfo) {
			if err := os.Chtimes(under(p), fi.ModTime(), fi.ModTime()); err != nil {
				x.log.Logf(x, "alert", "utimes() \"%s\" failed (%s)", under(p), err)
			}
		},
	}) {
		return 500
	}
	if move {
		if rc := x.davDeletePath(path, true); rc != 0 {
			return rc
		}
	}
	return 201
}

func (x *exchange) davCopyMoveFile(path, to string, src os.FileInfo, move bool, conf *locConf) int {
	if move {
		o := upstream.RenameOptions{PathAccess: conf.dav.access, MTime: -1, CreatePath: true}
		if err := upstream.ExtRename(path, to, o); err != nil {
			x.log.Logf(x, "crit", "%s", err)
			return 500
		}
		return 204
	}
	if x.davCopyFile(path, to, src.Mode(), src.ModTime()) {
		return 204
	}
	return 500
}
