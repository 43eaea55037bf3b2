package upstream

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// This file is memcached as a protocol on the upstream machinery, as
// ngx_http_memcached_module: "get $memcached_key" is sent, and the
// answer is "VALUE <key> <flags> <length>", the value and "END" (a 200
// whose body is the value, its type the location's) or "END" alone (a
// 404 the location answers, as nginx's intercept_404). Groups, tries,
// timeouts and keepalive are the machinery's.

// memcached is the protocol part of a memcached_pass location.
type memcached struct {
	key      *rewrite.Complex // $memcached_key
	gzipFlag uint64           // memcached_gzip_flag: flags that mean a gzip value
	bufSize  int              // memcached_buffer_size: the longest VALUE line
}

// memcachedEnd ends a value.
const memcachedEnd = "\r\nEND\r\n"

// memcachedNextNames are memcached_next_upstream's values.
var memcachedNextNames = map[string]ftMask{
	"error": ftError, "timeout": ftTimeout, "invalid_response": ftInvalidHeader, "not_found": ftHTTP404,
}

// CompileMemcachedPass compiles a location's memcached_pass (which may
// come from the location an "if" block is in) with the memcached_*
// settings of blocks, outermost first.
func CompileMemcachedPass(pass *nginxconf.Directive, blocks [][]*nginxconf.Directive, groups *Groups, c *rewrite.Compiler) (*Proxy, error) {
	if pass == nil || len(pass.Args) != 1 || len(blocks) == 0 {
		return nil, nil
	}
	if groups == nil {
		groups = NewGroups()
	}
	m := &memcached{bufSize: os.Getpagesize()}
	// nginx's hard-coded upstream settings of the module: no request
	// headers or body, not buffered, 404 always intercepted.
	p := &Proxy{groups: groups, Tunnels: groups.Tunnels,
		ConnectTimeout: 60 * time.Second, ReadTimeout: 60 * time.Second, SendTimeout: 60 * time.Second,
		maxBody: 1 << 20, proto: m, scheme: "memcached", nextNames: memcachedNextNames,
		getHeadOnly: true, intercept404: true, typed: true}
	// memcached_pass takes no variables: the address or upstream name is
	// compiled as written (as ngx_http_upstream_add).
	p.passURL = pass.Args[0]
	g := groups.Lookup(pass.Args[0])
	if g == nil {
		var err error
		if g, err = groups.implicitGroup(pass.Args[0], ""); err != nil {
			return nil, confErr(pass, `%s in upstream "%s"`, err.Error(), pass.Args[0])
		}
	}
	p.group, p.proxyHost = g, pass.Args[0]
	if err := p.compileUpstreamConf(blocks, c); err != nil {
		return nil, err
	}
	p.passHeaders, p.passBody, p.requestBuffering, p.buffering, p.ignoreClientAbort = false, false, false, false, false
	p.tunnelBufs = tunnelPool(os.Getpagesize())
	if d := last(blocks, "memcached_buffer_size"); d != nil {
		if n, ok := nginxconf.ParseSize(d.Args[0]); ok && n > 0 && n <= 1<<30 {
			m.bufSize = int(n)
		}
	}
	if d := last(blocks, "memcached_gzip_flag"); d != nil {
		n, err := strconv.ParseUint(d.Args[0], 10, 64)
		if err != nil {
			return nil, confErr(d, `invalid number "%s"`, d.Args[0])
		}
		m.gzipFlag = n
	}
	cv, err := c.Complex("$memcached_key")
	if err != nil {
		return nil, rewrite.At(err, pass)
	}
	m.key = cv
	return p, nil
}

func (*memcached) prefix() string     { return "memcached" }
func (*memcached) finalize(*exchange) {}

func (*memcached) cgiHead() bool { return true }

func (*memcached) resolve(p *Proxy, s *rewrite.State, x *exchange, t *target) (int, error) {
	return p.resolveAddress(s, x, t)
}

var errMemcachedKey = errors.New(`the "$memcached_key" variable is not set`)

// createRequest writes "get <key>\r\n", the key escaped as nginx's
// NGX_ESCAPE_MEMCACHED (controls, space and '%' as %XX).
func (m *memcached) createRequest(p *Proxy, r *http1.Request, s *rewrite.State, t *target, x *exchange, l bodyLens) error {
	x.fval = m.key.Eval(s, x.fval[:0])
	if len(x.fval) == 0 {
		return errMemcachedKey
	}
	b := append(x.req[:0], "get "...)
	for _, c := range x.fval {
		if c <= ' ' || c == '%' {
			const hex = "0123456789ABCDEF"
			b = append(b, '%', hex[c>>4], hex[c&0xf])
		} else {
			b = append(b, c)
		}
	}
	x.req = append(b, '\r', '\n')
	return nil
}

// memcachedKey is the key sent, in x.req.
func memcachedKey(x *exchange) []byte { return x.req[4 : len(x.req)-2] }

func (*memcached) sendRequest(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, bodyLen int64) (int, error, ftMask) {
	return p.sendPlain(c, nc, x, -1, false)
}

// readHead reads the first line, as ngx_http_memcached_process_header:
// "VALUE <key> <flags> <length>" (a 200 of that length; with
// memcached_gzip_flag, flags that have its bits add Content-Encoding:
// gzip) or "END" (a 404). Anything else is an invalid response, logged
// as nginx words it.
func (m *memcached) readHead(p *Proxy, nc net.Conn, x *exchange, s *rewrite.State) headRead {
	size := min(m.bufSize, len(x.rbuf))
	x.head = http1.ResponseHead{Major: 1, Minor: 1, Headers: x.head.Headers[:0]}
	x.mcLength, x.mcGzip, x.mcMiss = 0, false, false
	n := 0
	for {
		if p.ReadTimeout > 0 {
			nc.SetReadDeadline(time.Now().Add(p.ReadTimeout))
		}
		k, rerr := nc.Read(x.rbuf[n:size])
		n += k
		x.recvd += int64(k)
		if i := bytes.IndexByte(x.rbuf[:n], '\n'); i >= 0 {
			return m.parseLine(p, x, s, n, i)
		}
		if n == size && size < m.bufSize {
			// memcached_buffer_size past the pool's buffer: the line
			// may take all of it, as nginx reads it into a buffer of
			// that size (for this exchange only, as growHead's).
			size = m.bufSize
			x.growRbuf(n, size)
		} else if n == size {
			return headRead{n: n, status: 502, err: ErrTooBigHeader, ft: ftInvalidHeader}
		}
		if rerr != nil {
			if isTimeout(rerr) {
				return headRead{n: n, status: 504, err: errTimedOut, ft: ftTimeout}
			}
			return headRead{n: n, status: 502, err: ErrPrematureClose, ft: ftError}
		}
	}
}

// parseLine reads the line that ends at lf in x.rbuf.
func (m *memcached) parseLine(p *Proxy, x *exchange, s *rewrite.State, n, lf int) headRead {
	line := x.rbuf[:lf]
	invalid := func(msg string) headRead {
		m.logError(p, x, s, msg, actionHeader)
		return headRead{n: n, status: 502, ft: ftInvalidHeader}
	}
	if len(line) == 0 || line[len(line)-1] != '\r' {
		return invalid(`memcached sent invalid response: "` + string(line) + `"`)
	}
	line = line[:len(line)-1]
	key := memcachedKey(x)
	if rest, ok := bytes.CutPrefix(line, []byte("VALUE ")); ok {
		if !bytes.HasPrefix(rest, key) {
			return invalid(`memcached sent invalid key in response "` + string(line) + `" for key "` + string(key) + `"`)
		}
		rest = rest[len(key):]
		if len(rest) == 0 || rest[0] != ' ' {
			return invalid(`memcached sent invalid response: "` + string(line) + `"`)
		}
		rest = rest[1:]
		sp := bytes.IndexByte(rest, ' ')
		if sp < 0 {
			return invalid(`memcached sent invalid response: "` + string(line) + `"`)
		}
		if m.gzipFlag != 0 {
			flags, ok := atoi(rest[:sp])
			if !ok {
				return invalid(`memcached sent invalid flags in response "` + string(line) + `" for key "` + string(key) + `"`)
			}
			x.mcGzip = uint64(flags)&m.gzipFlag != 0
		}
		length, ok := atoi(rest[sp+1:])
		if !ok {
			return invalid(`memcached sent invalid length in response "` + string(line) + `" for key "` + string(key) + `"`)
		}
		x.mcLength = length
		x.head.Status, x.head.StatusLine = 200, nil
		return headRead{n: n, headLen: lf + 1, counted: lf + 1}
	}
	if string(line) == "END" {
		m.logError(p, x, s, `key: "`+string(key)+`" was not found by memcached`, actionHeader, "info")
		x.mcMiss = true
		x.head.Status, x.head.StatusLine = 404, nil
		return headRead{n: n, headLen: lf + 1, counted: lf + 1}
	}
	return invalid(`memcached sent invalid response: "` + string(line) + `"`)
}

// logError logs msg for the try under way, as the module's own
// ngx_log_error lines (at "error" unless a level is given).
func (m *memcached) logError(p *Proxy, x *exchange, s *rewrite.State, msg, action string, level ...string) {
	if s == nil || s.TryLog == nil {
		return
	}
	var err error = &tryError{msg: msg, action: action, upstream: logName("memcached", x, x.tryAddr)}
	if len(level) > 0 {
		err = &leveledError{err, level[0]}
	}
	s.TryLog.LogTryError(err)
}

// leveledError is logged at its level.
type leveledError struct {
	error
	level string
}

func (e *leveledError) LogLevel() string { return e.level }
func (e *leveledError) Unwrap() error    { return e.error }

// buildResponse is the client's head: the status, the location's type,
// the value's length and Content-Encoding for a gzip flag; nothing of the
// backend's.
func (m *memcached) buildResponse(p *Proxy, c http1.Stream, s *rewrite.State, x *exchange) (*http1.Response, framing, error) {
	resp := &x.resp
	*resp = http1.Response{Status: x.head.Status, ContentLength: -1, LastModified: -1,
		ServerTokensOff: p.serverTokensOff, RelativeLocation: p.relativeRedir, NoPortInRedirect: p.noPortInRedir}
	x.hdrs = x.hdrs[:0]
	f := framing{length: x.mcLength}
	if x.mcMiss {
		f.length = 0
	}
	resp.ContentLength = f.length
	resp.ContentType = s.ContentType
	if x.mcGzip {
		x.hdrs = append(x.hdrs, http1.Header{Name: hdrContentEncoding, Value: hdrGzip})
	}
	if s.ErrStatus != 0 {
		resp.Status, resp.StatusLine = s.ErrStatus, nil
	}
	resp.Headers = x.hdrs
	return resp, f, nil
}

var (
	hdrContentEncoding = []byte("Content-Encoding")
	hdrGzip            = []byte("gzip")
)

// relayBody passes the value on as it comes, each read flushed (the
// module is unbuffered), then checks "\r\nEND\r\n" after it, as
// ngx_http_memcached_filter: a wrong trailer, or bytes after it, is
// logged and ends the response where the value ends.
func (m *memcached) relayBody(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, s *rewrite.State, buffered []byte, f framing) (bool, error) {
	if f.noBody {
		// A HEAD: nginx does not read the value, and the connection
		// is not kept.
		x.headLen = int(x.recvd)
		return false, nil
	}
	// The bytes that came with the head are filtered under the head's
	// action; the next read, when its bytes are there already, under
	// "sending to client" (nginx reads what is at hand as it sends);
	// every read that waits under "reading upstream".
	action := actionHeader
	rest := f.length         // value bytes still to come
	end := len(memcachedEnd) // trailer bytes still to come
	deliver := func(b []byte) (done bool, err error) {
		if rest > 0 {
			k := min(int64(len(b)), rest)
			if _, err := c.Write(b[:k]); err != nil {
				return false, err
			}
			rest -= k
			b = b[k:]
		}
		if rest > 0 {
			return false, nil
		}
		at := len(memcachedEnd) - end
		if len(b) > end || string(b) != memcachedEnd[at:at+len(b)] {
			m.logError(p, x, s, "memcached sent invalid trailer", action)
			x.overrun = true
			return true, nil
		}
		end -= len(b)
		return end == 0, nil
	}
	x.overrun = false
	if len(buffered) > 0 {
		done, err := deliver(buffered)
		if err != nil || done {
			return done && !x.overrun, err
		}
	}
	for {
		if err := c.Flush(); err != nil {
			return false, err
		}
		if action == actionHeader && atHand(nc) {
			action = actionToClient
		} else {
			action = actionBody
		}
		x.action = action
		if p.ReadTimeout > 0 {
			nc.SetReadDeadline(time.Now().Add(p.ReadTimeout))
		}
		n, rerr := nc.Read(x.rbuf)
		x.recvd += int64(n)
		if n > 0 {
			done, err := deliver(x.rbuf[:n])
			if err != nil || done {
				return done && !x.overrun, err
			}
		}
		if rerr != nil {
			switch {
			case rerr == io.EOF:
				return false, ErrPrematureClose
			case isTimeout(rerr):
				return false, errTimedOut
			}
			return false, &recvError{rerr}
		}
	}
}

// keepConn: the connection is kept after a whole value and its trailer,
// or after "END" (a miss), as the module sets u->keepalive.
func (*memcached) keepConn(x *exchange, f framing, complete, dropped bool) bool {
	if dropped {
		return x.mcMiss
	}
	return complete && !x.overrun
}
