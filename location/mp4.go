package location

import (
	"syscall"

	"github.com/gonginx/gonginx/location/mp4"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The mp4 module (ngx_http_mp4_module): a location with "mp4" serves its
// files as static does, GET and HEAD only, and "?start=S&end=E" (seconds)
// sends the movie cut to that time (package mp4): the new ftyp, moov and
// mdat header, then the file's samples. ETag and Content-Length are of
// that body, and a Range gets one range of it at most (nginx's
// single_range).

// fileModuleHandler is ngx_http_mp4_handler and ngx_http_flv_handler up
// to the file: 405 for a method other than GET and HEAD, the directory
// handlers for a URI ending in '/', else the body discarded (Expect
// answered), as both do before they open the file, and the file (static,
// which cuts it or starts it at ?start).
func (x *exchange) fileModuleHandler(loc *Location, conf *locConf) int {
	if m := x.req.MethodCode; m != http1.MethodGET && m != http1.MethodHEAD {
		return 405
	}
	if uri := x.req.URI; len(uri) > 0 && uri[len(uri)-1] == '/' {
		return x.directory(loc, conf)
	}
	if rc := x.discardBody(); rc != 0 {
		return rc
	}
	return x.static(loc, conf)
}

// mp4Times reads start and end as the handler does: start -1 when the
// movie is not cut; an end only (above 0) starts at 0; the length is 0
// (to the end) unless the end is past the start.
func (x *exchange) mp4Times() (start, length int64) {
	start = -1
	if len(x.req.Args) == 0 {
		return start, 0
	}
	if v, ok := rewrite.FindArg(x.req.Args, "start"); ok {
		start = mp4.ParseTime(v)
	}
	if v, ok := rewrite.FindArg(x.req.Args, "end"); ok {
		if end := mp4.ParseTime(v); end > 0 {
			start = max(start, 0)
			if end > start {
				length = end - start
			}
		}
	}
	return start, length
}

// mp4Cut cuts the file when start and end ask for it: the body becomes
// the new head and the file from its data's start (bodyPrefix and
// fileBase), size its length. rc is 500 for a file nginx refuses;
// singleRange is whether the range filter may take one range only.
func (x *exchange) mp4Cut(conf *locConf, fd int, path []byte, size *int64) (rc int, singleRange bool) {
	start, length := x.mp4Times()
	if start < 0 {
		return 0, false
	}
	mv, err := mp4.Cut(fdReader(fd), *size, string(path), uint64(start), uint64(length), conf.mp4Conf)
	switch e := err.(type) {
	case nil:
		// A movie whose tables nginx sizes otherwise than it writes them
		// (stsc entries counted, not sent) gets the bytes nginx sends,
		// under the length nginx announces.
		x.bodyPrefix, x.fileBase, x.fileEnd = mv.Head, mv.DataStart, mv.DataEnd
		*size = mv.ContentLength
		x.mp4Empty = mv.Empty
	case *mp4.Error:
		x.log.Logf(x, e.Level, "%s", e.Msg)
		return 500, true
	}
	// (mp4.ErrDeclined: the file as it is)
	return 0, true
}

// fdReader reads a file by pread(2), as nginx reads the movie's atoms.
type fdReader int

func (fd fdReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		m, err := syscall.Pread(int(fd), p[n:], off+int64(n))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// mp4EmptyAlerts logs nginx's alert for each empty buffer of a cut movie
// the output chain meets (a table cut to nothing: nginx sends it with no
// bytes and says so) between body offsets from and to, as its range
// filter lets through only those strictly inside the range sent.
func (x *exchange) mp4EmptyAlerts(from, to int64, whole bool) {
	for _, at := range x.mp4Empty {
		if whole || (from < at && at < to) {
			x.log.Logf(x, "alert", "zero size buf in output t:1 r:0 f:0 0000000000000000 %016X-%016X 0000000000000000 0-0 while sending mp4 to client", at, at)
		}
	}
}
