package location

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
)

// The WebDAV module (ngx_http_dav_module): PUT, DELETE, MKCOL, COPY and
// MOVE on the files under root or alias, for the methods dav_methods
// names. It runs in the content phase before index and static (nginx
// registers it later, so its handler comes first); other methods fall
// through to them.

// davConf is a level's dav_methods, dav_access, create_full_put_path and
// min_delete_depth.
type davConf struct {
	methods        uint32 // 1 << http1.Method*
	access         os.FileMode
	createFullPath bool
	minDeleteDepth int
	body           *upstream.ClientBody // client_body_temp_path, with PUT
}

var defaultDAV = davConf{access: 0o600}

var davMethodCodes = map[string]int{"put": http1.MethodPUT, "delete": http1.MethodDELETE,
	"mkcol": http1.MethodMKCOL, "copy": http1.MethodCOPY, "move": http1.MethodMOVE}

func davDirective(conf *locConf, d *nginxconf.Directive) error {
	switch d.Name {
	case "dav_methods":
		conf.dav.methods = 0
		for _, a := range d.Args {
			if strings.EqualFold(a, "off") {
				conf.dav.methods = 0
				continue
			}
			code, ok := davMethodCodes[strings.ToLower(a)]
			if !ok {
				return confErr(d, "invalid value \"%s\"", a)
			}
			conf.dav.methods |= 1 << code
		}
	case "dav_access":
		a, err := upstream.ParseAccess(d.Args)
		if err != nil {
			return confErr(d, "%v", err)
		}
		conf.dav.access = a
	case "create_full_put_path":
		conf.dav.createFullPath = onOff(d)
	case "min_delete_depth":
		n, err := strconv.Atoi(d.Args[0])
		if err != nil || n < 0 {
			return confErr(d, "invalid number \"%s\"", d.Args[0])
		}
		conf.dav.minDeleteDepth = n
	}
	return nil
}

func (c *davConf) handles(method int) bool { return c.methods&(1<<method) != 0 }

func (x *exchange) dav(loc *Location, conf *locConf) int {
	switch x.req.MethodCode {
	case http1.MethodPUT:
		return x.davPut(loc, conf)
	case http1.MethodDELETE:
		return x.davDelete(loc, conf)
	case http1.MethodMKCOL:
		return x.davMkcol(loc, conf)
	}
	return x.davCopyMove(loc, conf)
}

func (x *exchange) davHasBody() bool { return x.req.ContentLength > 0 || x.req.Chunked }

func lastByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[len(b)-1]
}

// davError is ngx_http_dav_error: the status an errno gives (notFound for
// a missing path), logged at error or crit.
func (x *exchange) davError(err error, notFound int, failed string, path []byte) int {
	var e syscall.Errno
	errors.As(err, &e)
	rc, level := 500, "crit"
	switch e {
	case syscall.ENOENT, syscall.ENOTDIR, syscall.ENAMETOOLONG:
		rc, level = notFound, "error"
	case syscall.EACCES, syscall.EPERM:
		rc, level = 403, "error"
	case syscall.EEXIST:
		rc, level = 405, "error"
	case syscall.ENOSPC:
		rc = 507
	}
	x.log.Logf(x, level, "%s \"%s\" failed (%s)", failed, path, nginxconf.ErrnoText(err))
	return rc
}

// davLocation sets the Location of a 201: the URI, escaped.
func (x *exchange) davLocation() {
	x.locBuf = appendEscapeURI(x.locBuf[:0], x.req.URI)
	x.redirLoc = x.locBuf
}

var davBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (x *exchange) davPut(loc *Location, conf *locConf) int {
	if lastByte(x.req.URI) == '/' {
		x.log.Errorf(x, "cannot PUT to a collection")
		return 409
	}
	if x.req.HeaderValue("Content-Range") != nil {
		x.log.Errorf(x, "PUT with range is unsupported")
		return 501
	}
	x.expectContinue()
	if x.req.ContentLength < 0 && !x.req.Chunked {
		// No body at all, not even an empty one: nginx makes no file.
		x.log.Errorf(x, "PUT request body must be in a file")
		return 500
	}
	x.c.SetReadTimeout(conf.bodyTimeout)
	tmp, rc := x.davReadBody(conf)
	if rc != 0 {
		return rc
	}
	defer os.Remove(tmp) // gone already once renamed
	path := string(x.mapPath(loc, conf, x.req.URI, false))
	status := 201
	if fi, err := os.Stat(path); err == nil {
		status = 204
		if fi.IsDir() {
			x.log.Errorf(x, "\"%s\" could not be created (%s)", path, nginxconf.ErrnoText(syscall.EISDIR))
			return 409
		}
	}
	o := upstream.RenameOptions{Access: conf.dav.access, PathAccess: conf.dav.access, MTime: -1,
		CreatePath: conf.dav.createFullPath}
	if d := x.req.HeaderValue("Date"); d != nil {
		if t, ok := http1.ParseHTTPTime(d); ok {
			o.MTime = t
		}
	}
	if err := upstream.ExtRename(tmp, path, o); err != nil {
		x.log.Logf(x, "crit", "%s", err)
		return 500
	}
	if status == 201 {
		x.davLocation()
	}
	r := x.newResp(status, conf)
	if status == 201 {
		r.ContentLength = 0
	}
	x.writeHeader(r)
	return 0
}

// davReadBody reads the request body into a temporary file, as nginx's
// request_body_in_file_only does, and returns its name.
func (x *exchange) davReadBody(conf *locConf) (string, int) {
	f, err := conf.dav.body.CreateTemp()
	if err != nil {
		x.log.Logf(x, "crit", "%v", err)
		return "", 500
	}
	defer f.Close()
	bp := davBufs.Get().(*[]byte)
	defer davBufs.Put(bp)
	body, total := x.c.Body(), int64(0)
	for {
		n, rerr := body.Read(*bp)
		total += int64(n)
		if conf.maxBody > 0 && total > conf.maxBody {
			x.log.Errorf(x, "client intended to send too large chunked body: %d bytes", total)
			os.Remove(f.Name())
			return "", 413
		}
		if n > 0 {
			if _, err := f.Write((*bp)[:n]); err != nil {
				x.log.Logf(x, "crit", "write() \"%s\" failed (%s)", f.Name(), nginxconf.ErrnoText(err))
				os.Remove(f.Name())
				return "", 500
			}
		}
		if rerr == io.EOF {
			return f.Name(), 0
		}
		if rerr != nil {
			os.Remove(f.Name())
			var he *http1.Error
			switch {
			case errors.As(rerr, &he):
				return "", he.Status
			case errors.Is(rerr, http1.ErrRequestTimeout):
				x.timedOutBody = true
				return "", 408
			}
			return "", 400
		}
	}
}

func (x *exchange) davDelete(loc *Location, conf *locConf) int {
	if x.davHasBody() {
		x.log.Errorf(x, "DELETE with body is unsupported")
		return 415
	}
	if min := conf.dav.minDeleteDepth; min > 0 {
		uri, d, ok := x.req.URI, 0, false
		for i := 0; i < len(uri); i++ {
			if uri[i] == '/' {
				d++
				if d >= min && i+1 < len(uri) {
					ok = true
					break
				}
			}
		}
		if !ok {
			x.log.Errorf(x, "insufficient URI depth:%d to DELETE", d)
			return 409
		}
	}
	path := x.mapPath(loc, conf, x.req.URI, false)
	fi, err := os.Lstat(string(path))
	if err != nil {
		rc := 404
		if errors.Is(err, syscall.ENOTDIR) {
			rc = 409
		}
		return x.davError(err, rc, "lstat()", path)
	}
	dir := fi.IsDir()
	if dir {
		if lastByte(x.req.URI) != '/' {
			x.log.Errorf(x, "DELETE \"%s\" failed (%s)", path, nginxconf.ErrnoText(syscall.EISDIR))
			return 409
		}
		if depth, ok := x.davDepth(-1); !ok || depth != -1 {
			x.log.Errorf(x, "\"Depth\" header must be infinity")
			return 400
		}
		path = path[:len(path)-1]
	} else if depth, ok := x.davDepth(0); !ok || depth != 0 && depth != -1 {
		x.log.Errorf(x, "\"Depth\" header must be 0 or infinity")
		return 400
	}
	if rc := x.davDeletePath(string(path), dir); rc != 0 {
		return rc
	}
	return 204
}

// davDepth reads the Depth header: 0, 1 or -1 (infinity); dflt when
// absent; ok false (logged) when invalid.
func (x *exchange) davDepth(dflt int) (int, bool) {
	v := x.req.HeaderValue("Depth")
	switch {
	case v == nil:
		return dflt, true
	case string(v) == "0":
		return 0, true
	case string(v) == "1":
		return 1, true
	case string(v) == "infinity":
		return -1, true
	}
	x.log.Errorf(x, "client sent invalid \"Depth\" header: \"%s\"", v)
	return 0, false
}

// davDeletePath removes a file, or a directory with all under it (what
// cannot be removed inside is logged and passed over): 0 or a status.
func (x *exchange) davDeletePath(path string, dir bool) int {
	if dir {
		if !x.davWalk(path, davWalker{
			file: func(p string, _ os.FileInfo) {
				if err := syscall.Unlink(p); err != nil {
					x.davError(err, 0, "unlink()", []byte(p))
				}
			},
			postDir: func(p string, _ os.FileInfo) {
				if err := syscall.Rmdir(p); err != nil {
					x.davError(err, 0, "rmdir()", []byte(p))
				}
			},
			special: func(p string) {
				if err := syscall.Unlink(p); err != nil {
					x.davError(err, 0, "unlink()", []byte(p))
				}
			},
		}) {
			return 500
		}
		if err := syscall.Rmdir(path); err != nil {
			return x.davError(err, 404, "rmdir()", []byte(path))
		}
		return 0
	}
	if err := syscall.Unlink(path); err != nil {
		return x.davError(err, 404, "unlink()", []byte(path))
	}
	return 0
}

// davWalker is ngx_tree_ctx_t's handlers: files, directories before and
// after their contents, and anything else (symbolic links included: the
// type comes from readdir, as nginx's d_type).
type davWalker struct {
	file    func(path string, fi os.FileInfo)
	preDir  func(path string, fi os.FileInfo)
	postDir func(path string, fi os.FileInfo)
	special func(path string)
}

// davWalk is ngx_walk_tree: false when a directory could not be read.
func (x *exchange) davWalk(dir string, w davWalker) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return true
		}
		x.log.Logf(x, "crit", "opendir() \"%s\" failed (%s)", dir, nginxconf.ErrnoText(err))
		return false
	}
	for _, e := range ents {
		p := dir + "/" + e.Name()
		t := e.Type()
		if t&os.ModeType != 0 && !t.IsDir() {
			if w.special != nil {
				w.special(p)
			}
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil {
			x.log.Logf(x, "crit", "stat() \"%s\" failed (%s)", p, nginxconf.ErrnoText(err))
			return false
		}
		if !fi.IsDir() {
			if w.file != nil {
				w.file(p, fi)
			}
			continue
		}
		if w.preDir != nil {
			w.preDir(p, fi)
		}
		if !x.davWalk(p, w) {
			return false
		}
		if w.postDir != nil {
			w.postDir(p, fi)
		}
	}
	return true
}

func (x *exchange) davMkcol(loc *Location, conf *locConf) int {
	if x.davHasBody() {
		x.log.Errorf(x, "MKCOL with body is unsupported")
		return 415
	}
	if lastByte(x.req.URI) != '/' {
		x.log.Errorf(x, "MKCOL can create a collection only")
		return 409
	}
	path := x.mapPath(loc, conf, x.req.URI, false)
	path = path[:len(path)-1]
	if err := syscall.Mkdir(string(path), uint32(upstream.DirAccess(conf.dav.access))); err != nil {
		return x.davError(err, 409, "mkdir()", path)
	}
	x.davLocation()
	return 201
}

// davCopyFile is ngx_copy_file: dst truncated or made with the mode, the
// bytes copied, the time set; failures logged at crit.
func (x *exchange) davCopyFile(src, dst string, mode os.FileMode, mtime time.Time) bool {
	in, err := os.Open(src)
	if err != nil {
		x.log.Logf(x, "crit", "open() \"%s\" failed (%s)", src, nginxconf.ErrnoText(err))
		return false
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode.Perm())
	if err != nil {
		x.log.Logf(x, "crit", "open() \"%s\" failed (%s)", dst, nginxconf.ErrnoText(err))
		return false
	}
	bp := davBufs.Get().(*[]byte)
	_, err = io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{in}, *bp)
	davBufs.Put(bp)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		x.log.Logf(x, "crit", "%s", fmt.Sprint(err))
		return false
	}
	if err := os.Chtimes(dst, mtime, mtime); err != nil {
		x.log.Logf(x, "alert", "utimes() \"%s\" failed (%s)", dst, nginxconf.ErrnoText(err))
	}
	return true
}
