package upstream

import (
	"os"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// proxy_store (fastcgi_store, scgi_store, uwsgi_store) and *_store_access,
// as ngx_http_upstream_store: a buffered 200 response's body is written
// to a temporary file as it is relayed; when the backend's body ended
// where its framing said (or with the connection) and is as long as its
// Content-Length, the file gets the store_access mode and the
// Last-Modified time and is renamed to the request's file name ("on") or
// the evaluated path, creating the directories on the way. A client that
// goes away does not stop it: the backend is read to the end.

// storeConf is a compiled proxy_store.
type storeConf struct {
	path   *rewrite.Complex // nil: the request's file name (root or alias and $uri)
	access os.FileMode
}

func (p *Proxy) compileStore(blocks [][]*nginxconf.Directive, c *rewrite.Compiler) error {
	d := last(blocks, p.name("_store"))
	if d == nil || d.Args[0] == "off" {
		return nil
	}
	sc := &storeConf{access: 0o600}
	if d.Args[0] != "on" {
		v, err := c.Complex(d.Args[0])
		if err != nil {
			return rewrite.At(err, d)
		}
		sc.path = v
	}
	if ad := last(blocks, p.name("_store_access")); ad != nil {
		access, err := ParseAccess(ad.Args)
		if err != nil {
			return confErr(ad, "%v", err)
		}
		sc.access = access
	}
	p.store = sc
	return nil
}

// storeStream is the client's stream with the body also going to the
// store's temporary file; once the client is gone, only the file.
type storeStream struct {
	http1.Stream
	f         *os.File
	n         int64 // bytes in the file
	fileErr   error
	clientErr error
}

func (t *storeStream) Write(b []byte) (int, error) {
	if t.fileErr == nil {
		m, err := t.f.Write(b)
		t.n += int64(m)
		t.fileErr = err
	}
	if t.clientErr == nil {
		if _, err := t.Stream.Write(b); err != nil {
			t.clientErr = err
		}
	}
	return len(b), nil
}

func (t *storeStream) Flush() error {
	if t.clientErr == nil {
		t.clientErr = t.Stream.Flush()
	}
	return nil
}

func (t *storeStream) FlushOut() error {
	if t.clientErr == nil {
		t.clientErr = t.Stream.FlushOut()
	}
	return nil
}

// beginStore starts storing a response when proxy_store applies to it:
// it returns the stream the body is relayed to.
func (p *Proxy) beginStore(c http1.Stream, x *exchange) http1.Stream {
	x.store = storeStream{}
	if p.store == nil || !x.buffering || x.head.Status != 200 || x.cr != nil && x.cr.w.Active() {
		return c
	}
	f, err := os.CreateTemp("", "gonginx-store-")
	if err != nil {
		return c
	}
	x.store = storeStream{Stream: c, f: f}
	return &x.store
}

// endStore finishes storing: whole says the body came as its framing
// said; length is the backend's Content-Length (-1: none). It returns
// the client's error, if the client went away meanwhile.
func (p *Proxy) endStore(s *rewrite.State, x *exchange, whole bool, length int64, lastModified []byte) error {
	t := &x.store
	if t.f == nil {
		return t.clientErr
	}
	tmp := t.f.Name()
	defer func() {
		t.f.Close()
		os.Remove(tmp) // gone already when it was renamed
		// The stream stays the response's: only the file is done.
		t.f, t.fileErr = nil, os.ErrClosed
	}()
	if !whole || t.fileErr != nil || length >= 0 && length != t.n {
		return t.clientErr
	}
	var dst []byte
	if p.store.path != nil {
		dst = p.store.path.Eval(s, x.storeBuf[:0])
	} else if s.Files != nil {
		dst = s.Files.AppendRequestFilename(x.storeBuf[:0])
	}
	x.storeBuf = dst
	if len(dst) == 0 {
		return t.clientErr
	}
	mtime := int64(-1)
	if lastModified != nil {
		if v, ok := http1.ParseHTTPTime(lastModified); ok {
			mtime = v
		}
	}
	err := ExtRename(tmp, string(dst), RenameOptions{Access: p.store.access, PathAccess: p.store.access, MTime: mtime, CreatePath: true})
	if err != nil && s.TryLog != nil {
		s.TryLog.LogTryError(err)
	}
	return t.clientErr
}

// lastModified is the backend's Last-Modified (the last one, as nginx
// keeps it), or nil.
func (x *exchange) lastModified() []byte {
	var v []byte
	for _, h := range x.head.Headers {
		if http1.EqualFold(h.Name, "last-modified") {
			v = h.Value
		}
	}
	return v
}
