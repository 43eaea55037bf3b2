package upstream

import (
	"os"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// ClientBody reads a request's whole body for a module that needs it
// before the content handler runs (mirror with mirror_request_body on),
// as ngx_http_read_client_request_body: in memory within
// client_body_buffer_size, else in a temporary file, kept in the State so
// a proxy pass afterwards (and the mirror's subrequests) send it again.
type ClientBody struct{ p Proxy }

// CompileClientBody reads the client body settings of a location; blocks
// are as CompileProxy's; groups (nil: none) resolves and registers its
// client_body_temp_path.
func CompileClientBody(blocks [][]*nginxconf.Directive, groups *Groups) *ClientBody {
	b := &ClientBody{p: Proxy{maxBody: 1 << 20, groups: groups}}
	b.p.compileClientBody(blocks)
	return b
}

// Read reads the body unless it was read already or there is none. It
// returns the status to answer with when reading failed (400, 408, 413),
// with the error to log.
func (b *ClientBody) Read(c http1.Stream, s *rewrite.State) (int, error) {
	r := c.Request()
	if s.RequestBodyWhole || s.BodyFile() != nil || c.BodyDone() || r.ContentLength <= 0 && !r.Chunked {
		return 0, nil
	}
	x := takeExchange()
	defer exchangePool.Put(x)
	if x.rbuf == nil {
		x.takeRbuf()
	}
	n, err := b.p.readBody(c, s, x)
	if err != nil {
		x.dropBodyFile()
		return bodyStatus(err), err
	}
	if r.Chunked {
		s.ChunkedLength, s.ChunkedRead = n, true
	}
	if x.bodyFile != nil {
		s.RequestBodyFile = x.bodyFile.Name()
		s.KeepBodyFile(x.bodyFile, x.keepBodyFile)
		x.bodyFile, x.bodyFileShared = nil, false
	} else {
		s.SetRequestBody(x.body)
		s.RequestBodyWhole = true
	}
	return 0, nil
}

// CreateTemp makes a temporary file under client_body_temp_path, as
// ngx_create_temp_file (a failure is worded as nginx's crit line).
func (b *ClientBody) CreateTemp() (*os.File, error) {
	if b == nil { // not compiled: nginx's default path
		b = CompileClientBody(nil, nil)
	}
	f, err := b.p.bodyTemp.createTemp()
	return f, requestErr(err)
}
