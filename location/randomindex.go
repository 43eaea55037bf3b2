package location

import (
	"math/rand/v2"
	"syscall"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The random_index content handler (ngx_http_random_index_handler): a URI
// ending in "/" goes to one of the directory's regular files, picked at
// random, before the index module looks for an index file.

// randomIndex redirects internally to a random regular file (or a link
// to one) of the directory whose name does not start with '.', keeping
// the args; it declines when there is none.
func (x *exchange) randomIndex(loc *Location, conf *locConf) int {
	m := x.req.MethodCode
	if m != http1.MethodGET && m != http1.MethodHEAD && m != http1.MethodPOST {
		return declined
	}
	path := x.mapPath(loc, conf, x.req.URI, false)
	// nginx drops the last byte, the URI's "/".
	path = path[:max(len(path)-1, 0)]
	if rc := x.openListedDir(path); rc != 0 {
		return rc
	}
	d := &x.rareMem().dir
	n, rc := x.pickRandomFile(path)
	// Closed before the redirect, which may list a directory again.
	d.close()
	if rc != 0 {
		return rc
	}
	if n == 0 {
		return declined
	}
	u := append(x.uriBuf[:0], x.req.URI...)
	x.uriBuf = append(u, x.rareMem().dirNames...)
	return x.internalRedirectTo(x.uriBuf)
}

// pickRandomFile reads the open directory at path and leaves one of its n
// regular files' names in x.rareMem().dirNames; rc is 500 when reading failed.
func (x *exchange) pickRandomFile(path []byte) (n, rc int) {
	d := &x.rareMem().dir
	// One pass, keeping each file with probability 1/n (reservoir
	// sampling): a uniform pick, as nginx's, without a list of names.
	picked := x.rareMem().dirNames[:0]
	defer func() { x.rareMem().dirNames = picked }()
	for {
		name, typ, e := d.next()
		if e != 0 {
			x.log.Logf(x, "crit", "readdir() \"%s\" failed (%s)", path, nginxconf.ErrnoText(e))
			return n, 500
		}
		if name == nil {
			break
		}
		if name[0] == '.' {
			continue
		}
		if typ == dtUnknown || typ == dtLnk {
			var st syscall.Stat_t
			if e := d.statAt(name, true, &st); e != 0 {
				if e != syscall.ENOENT {
					x.log.Logf(x, "crit", "stat() \"%s/%s\" failed (%s)", path, name, nginxconf.ErrnoText(e))
					return n, 500
				}
				if e := d.statAt(name, false, &st); e != 0 {
					x.log.Logf(x, "crit", "lstat() \"%s/%s\" failed (%s)", path, name, nginxconf.ErrnoText(e))
					return n, 500
				}
			}
			if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
				continue
			}
		} else if typ != dtReg {
			continue
		}
		n++
		if rand.IntN(n) == 0 {
			picked = append(picked[:0], name...)
		}
	}
	return n, 0
}
