package location

import (
	"strconv"
	"syscall"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The file side of the content phase: try_files, index, mapping a URI to
// a path with root or alias, disable_symlinks, and the rewrite.Files view
// "if" file tests and $document_root/$request_filename read.

// tryFiles is ngx_http_try_files_handler: the first argument naming an
// existing file (or directory, for an argument written with a trailing
// "/") sets the URI and content goes on in this location; otherwise the
// last argument is an internal redirect, a named location or "=code".
func (x *exchange) tryFiles(loc *Location, conf *locConf) (rc int, redirected bool) {
	n := len(conf.tryFiles)
	for i := 0; i < n-1; i++ {
		x.tmp = conf.tryFiles[i].Eval(&x.st, x.tmp[:0])
		name := x.tmp
		// nginx decides "directory wanted" from the written argument
		// ("$uri/", its slash dropped at load), not from its value.
		testDir := conf.tryFilesDir[i]
		path, rel := x.tryPath(conf, name)
		var fi fileStat
		if x.st.Trace != nil {
			x.traceTry(path, testDir)
		}
		if e, failed := testFile(&x.cpath, path, x.openRule(conf, path), &fi); e != 0 {
			if !notFoundErrno(e) {
				x.log.Logf(x, "crit", "%s \"%s\" failed (%s)", failed, path, nginxconf.ErrnoText(e))
			}
			continue
		}
		if fi.isDir != testDir {
			continue
		}
		switch {
		case conf.aliasValue == nil:
			x.uriBuf = append(x.uriBuf[:0], rel...)
		case conf.aliasRegex:
			if testDir {
				return 0, false
			}
			x.uriBuf = append(x.uriBuf[:0], rel...)
			x.addURIToAlias = true
		default:
			// The location's prefix of the URI, then what follows the
			// alias in the path.
			u := append(x.rareMem().aliasURI[:0], x.req.URI[:min(len(conf.aliasLoc), len(x.req.URI))]...)
			x.rareMem().aliasURI = append(u, rel...)
			x.uriBuf = append(x.uriBuf[:0], x.rareMem().aliasURI...)
		}
		x.req.URI = x.uriBuf
		return 0, false
	}
	x.tmp = conf.tryFiles[n-1].Eval(&x.st, x.tmp[:0])
	last := x.tmp
	if x.st.Trace != nil {
		x.st.Trace("try_files", "none found: the last argument, \""+string(last)+"\"")
	}
	switch {
	case len(last) > 1 && last[0] == '=':
		code, err := strconv.Atoi(string(last[1:]))
		if err != nil {
			return 500, true
		}
		return code, true
	case len(last) > 0 && last[0] == '@':
		x.uriBuf = append(x.uriBuf[:0], last...)
		return x.namedRedirect(x.uriBuf), true
	}
	return x.internalRedirect(last, true), true
}

// tryPath builds the path a try_files argument names, as the try_files
// handler does over ngx_http_map_uri_to_path: root + name; for alias in a
// prefix location, the alias + name without the location's prefix when
// name starts with it; for alias in a regex location, the alias + name.
// rel is the part of path after the root or alias.
func (x *exchange) tryPath(conf *locConf, name []byte) (path, rel []byte) {
	p := x.appendRoot(x.path[:0], conf)
	if conf.aliasValue != nil && !conf.aliasRegex {
		if k := len(conf.aliasLoc); len(name) >= k && len(x.req.URI) >= k && string(name[:k]) == string(x.req.URI[:k]) {
			name = name[k:]
		}
	}
	root := len(p)
	p = append(p, name...)
	x.path = p
	return p, p[root:]
}

// mapPath is ngx_http_map_uri_to_path into x.path.
func (x *exchange) mapPath(loc *Location, conf *locConf, uri []byte, dirTest bool) []byte {
	x.path = x.appendPath(x.path[:0], conf, uri)
	return x.path
}

// appendPath is ngx_http_map_uri_to_path: root + uri, or alias + the part
// of uri after the location prefix (a regex location's alias is the whole
// path, unless try_files found a file under it).
func (x *exchange) appendPath(p []byte, conf *locConf, uri []byte) []byte {
	p = x.appendRoot(p, conf)
	if conf.aliasValue != nil {
		if conf.aliasRegex {
			if x.addURIToAlias {
				p = append(p, uri...)
			}
			return p
		}
		if len(uri) >= len(conf.aliasLoc) {
			uri = uri[len(conf.aliasLoc):]
		}
	}
	return append(p, uri...)
}

// appendRoot appends the root or alias of conf (nginx's clcf->root).
func (x *exchange) appendRoot(p []byte, conf *locConf) []byte {
	switch {
	case conf.aliasValue != nil:
		return conf.aliasValue.Eval(&x.st, p)
	case conf.rootValue != nil:
		return conf.rootValue.Eval(&x.st, p)
	}
	return append(p, conf.rootStatic...)
}

func (x *exchange) conf() *locConf {
	if x.curConf != nil {
		return x.curConf
	}
	return x.srv.root.conf
}

// AppendDocumentRoot is $document_root (rewrite.Files).
func (x *exchange) AppendDocumentRoot(dst []byte) []byte {
	if x.srv == nil {
		return dst
	}
	return x.appendRoot(dst, x.conf())
}

// AppendRequestFilename is $request_filename (rewrite.Files).
func (x *exchange) AppendRequestFilename(dst []byte) []byte {
	if x.srv == nil || x.req == nil {
		return dst
	}
	return x.appendPath(dst, x.conf(), x.req.URI)
}

// openRule is ngx_http_set_disable_symlinks: the location's mode, and
// with "from=" the leading part of path that is opened as is (when path
// is that part exactly, symlinks are not checked at all).
func (x *exchange) openRule(conf *locConf, path []byte) openRule {
	r := openRule{mode: conf.symlinks}
	if conf.symlinksFrom == nil {
		return r
	}
	x.rareMem().fromBuf = conf.symlinksFrom.Eval(&x.st, x.rareMem().fromBuf[:0])
	from := x.rareMem().fromBuf
	if len(from) == 0 || len(from) > len(path) || string(path[:len(from)]) != string(from) {
		return r
	}
	switch {
	case len(from) == len(path):
		r.mode = symlinksOff
	case path[len(from)] == '/':
		r.from = len(from)
	case from[len(from)-1] == '/':
		r.from = len(from) - 1
	}
	return r
}

// TestFile answers an "if" file test (rewrite.Files) as
// ngx_http_script_file_code: under the running location's
// disable_symlinks, logging unexpected failures at "crit".
func (x *exchange) TestFile(path []byte) (rewrite.FileInfo, bool) {
	conf := x.conf()
	var fi fileStat
	e, failed := testFile(&x.cpath, path, x.openRule(conf, path), &fi)
	if e != 0 {
		if !notFoundErrno(e) {
			x.log.Logf(x, "crit", "%s \"%s\" failed (%s)", failed, path, nginxconf.ErrnoText(e))
		}
		return rewrite.FileInfo{}, false
	}
	return rewrite.FileInfo{Regular: fi.regular, Dir: fi.isDir, Exec: fi.exec}, true
}

// index is ngx_http_index_handler: it declines when no index file is
// found in an existing directory.
func (x *exchange) index(loc *Location, conf *locConf) int {
	m := x.req.MethodCode
	if m != http1.MethodGET && m != http1.MethodHEAD && m != http1.MethodPOST {
		return declined
	}
	dirTested := false
	for _, ix := range conf.index {
		x.tmp = ix.Eval(&x.st, x.tmp[:0])
		name := x.tmp
		if len(name) > 0 && name[0] == '/' {
			// The name is the URI as is, '?' included; the args stay.
			x.uriBuf = append(x.uriBuf[:0], name...)
			return x.internalRedirectTo(x.uriBuf)
		}
		buf := append(x.uriBuf[:0], x.req.URI...)
		buf = append(buf, name...)
		x.uriBuf = buf
		// The directory's path, then the name: under a regex location's
		// alias the URI is not part of the path.
		path := append(x.mapPath(loc, conf, x.req.URI, false), name...)
		x.path = path
		var fi fileStat
		e, failed := testFile(&x.cpath, path, x.openRule(conf, path), &fi)
		if e == 0 {
			return x.internalRedirectTo(x.uriBuf)
		}
		switch e {
		case syscall.EMLINK, syscall.ELOOP:
			return 403
		case syscall.ENOTDIR, syscall.ENAMETOOLONG, syscall.EACCES:
			return x.indexError(conf, path, e)
		}
		if !dirTested {
			if rc := x.indexTestDir(conf, path[:len(path)-len(name)], path); rc != 0 {
				return rc
			}
			dirTested = true
		}
		if e == syscall.ENOENT {
			continue
		}
		x.log.Logf(x, "crit", "%s \"%s\" failed (%s)", failed, path, nginxconf.ErrnoText(e))
		return 500
	}
	return declined
}

// declined is a content handler's NGX_DECLINED: the next one is tried.
const declined = -1

// directory runs the content handlers nginx tries for a URI ending in
// "/", in its order (the reverse of their registration): random_index,
// index, autoindex; the static module declines such a URI (405 for a
// method it does not serve), and then the core answers 403.
func (x *exchange) directory(loc *Location, conf *locConf) int {
	if conf.randomIndex {
		if rc := x.randomIndex(loc, conf); rc != declined {
			return rc
		}
	}
	if rc := x.index(loc, conf); rc != declined {
		return rc
	}
	if conf.autoindex {
		if rc := x.autoindex(loc, conf); rc != declined {
			return rc
		}
	}
	if m := x.req.MethodCode; m != http1.MethodGET && m != http1.MethodHEAD && m != http1.MethodPOST {
		return 405
	}
	dir := x.mapPath(loc, conf, x.req.URI, true)
	x.log.Errorf(x, "directory index of \"%s\" is forbidden", dir)
	return 403
}

// indexTestDir is ngx_http_index_test_dir: after an index file was not
// found, the directory itself must exist (404 when it does not). dir ends
// with the "/" before the index name; full is the index file's path,
// which nginx names in the "not found" line.
func (x *exchange) indexTestDir(conf *locConf, dir, full []byte) int {
	if len(dir) > 1 && dir[len(dir)-1] == '/' {
		dir = dir[:len(dir)-1]
	}
	var fi fileStat
	e, failed := testFile(&x.cpath, dir, x.openRule(conf, dir), &fi)
	switch {
	case e == syscall.EMLINK || e == syscall.ELOOP:
		return 403
	case e == syscall.ENOENT:
		return x.indexError(conf, full, e)
	case e == syscall.EACCES:
		return 0
	case e != 0:
		x.log.Logf(x, "crit", "%s \"%s\" failed (%s)", failed, dir, nginxconf.ErrnoText(e))
		return 500
	case !fi.isDir:
		x.log.Logf(x, "alert", "\"%s\" is not a directory", dir)
		return 500
	}
	return 0
}

// indexError is ngx_http_index_error.
func (x *exchange) indexError(conf *locConf, path []byte, e syscall.Errno) int {
	if e == syscall.EACCES {
		x.log.Errorf(x, "\"%s\" is forbidden (%s)", path, nginxconf.ErrnoText(e))
		return 403
	}
	if conf.logNotFound {
		x.log.Errorf(x, "\"%s\" is not found (%s)", path, nginxconf.ErrnoText(e))
	}
	return 404
}
