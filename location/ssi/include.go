package ssi

import "bytes"

// errTooBig ends a response whose include set= got more than
// subrequest_output_buffer_size. It is logged where it happens (a proxy
// that sees its write fail logs it only at debug level).
var errTooBig error = tooBigError{}

type tooBigError struct{}

func (tooBigError) Error() string    { return "too big subrequest response" }
func (tooBigError) LogLevel() string { return "debug" }

// include runs a subrequest (ngx_http_ssi_include): virtual= a URI, file=
// a URI too, its output where the command was; set= keeps the output in a
// variable instead; stub= outputs a block when the subrequest gives
// nothing or fails. The document goes on while the subrequest runs,
// unless it is waited for: wait="yes", file= and set= hold it until the
// subrequest ended and was output (nginx's ctx->wait). Called with
// f.shared locked; the subrequest runs with it unlocked.
func (f *Filter) include(a *args) (bool, error) {
	uri, hasURI := a.get(0)
	file, hasFile := a.get(1)
	wait, hasWait := a.get(2)
	setName, hasSet := a.get(3)
	stub, hasStub := a.get(4)
	if hasURI && hasFile {
		f.logf("inclusion may be either virtual=\"%s\" or file=\"%s\"", uri, file)
		return false, nil
	}
	if !hasURI && !hasFile {
		f.logf("no parameter in \"include\" SSI command")
		return false, nil
	}
	if hasSet && hasStub {
		f.logf("\"set\" and \"stub\" cannot be used together in \"include\" SSI command")
		return false, nil
	}
	if hasWait {
		if !hasURI {
			f.logf("\"wait\" cannot be used with file=\"%s\"", file)
			return false, nil
		}
		if !bytes.EqualFold(wait, []byte("no")) && !bytes.EqualFold(wait, []byte("yes")) {
			f.logf("invalid value \"%s\" in the \"wait\" parameter", wait)
			return false, nil
		}
	}
	if !hasURI {
		uri = file
	}
	target, ok := f.evaluate(f.uriBuf[:0], uri, true)
	f.uriBuf = target
	if !ok {
		return false, nil
	}
	path, args, ok := f.parseUnsafeURI(target)
	if !ok {
		return false, nil
	}
	var stubChunks [][]byte
	if hasStub {
		found := false
		for i := range f.shared.blocks {
			if b := &f.shared.blocks[i]; string(b.name) == string(stub) {
				// A copy (not nil, even for an empty block): running the
				// stub may define blocks.
				stubChunks, found = append(make([][]byte, 0, len(b.chunks)), b.chunks...), true
				break
			}
		}
		if !found {
			f.logf("\"stub\"=\"%s\" for \"include\" not found", stub)
			return false, nil
		}
	}
	switch {
	case hasSet:
		lowerInPlace(setName)
		if f.shared.lookup(setName) == nil {
			f.shared.set(setName, nil)
		}
		c := &f.capture
		c.reset(f.host)
		if err := f.unlockShared(); err != nil {
			f.lockShared()
			return false, err
		}
		status, ok := f.host.Include(path, args, len(args) > 0, c.writeFn, nil, true)
		f.lockShared()
		if !ok {
			return false, nil
		}
		if c.full {
			// nginx fails the subrequest and, with it, the request.
			f.host.Terminate()
			return false, errTooBig
		}
		if status < 300 && c.wrote {
			f.shared.set(setName, c.buf)
		}
	default:
		waited := !hasURI || hasWait && bytes.EqualFold(wait, []byte("yes"))
		if err := f.unlockShared(); err != nil {
			f.lockShared()
			return false, err
		}
		_, ok := f.host.Include(path, args, len(args) > 0, f.emitFn, stubChunks, waited)
		f.lockShared()
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// captureSink keeps the output of an include set= in memory, up to
// subrequest_output_buffer_size, as nginx's in-memory subrequests.
type captureSink struct {
	buf     []byte
	wrote   bool
	full    bool
	host    Host
	writeFn func([]byte) error
}

func (c *captureSink) reset(host Host) {
	c.buf, c.wrote, c.full, c.host = c.buf[:0], false, false, host
	if c.writeFn == nil {
		c.writeFn = c.write
	}
}

func (c *captureSink) write(p []byte) error {
	c.wrote = true
	if c.full {
		return nil
	}
	size, length := c.host.SubrequestBuffer()
	if len(c.buf) == 0 && length > int64(size) {
		// ngx_http_postpone_filter_in_memory: a known length is
		// checked before any byte.
		c.host.Errorf("too big subrequest response: %d", length)
		c.full = true
		return errTooBig
	}
	if len(c.buf)+len(p) > size {
		c.host.Errorf("too big subrequest response")
		c.full = true
		return errTooBig
	}
	c.buf = append(c.buf, p...)
	return nil
}

// parseUnsafeURI splits an include's URI at its first '?' and undoes
// %-escapes in the path, refusing what ngx_http_parse_unsafe_uri refuses:
// an empty path, a NUL, a "/../" or "/.." or leading "..". The results
// alias f's buffers.
func (f *Filter) parseUnsafeURI(uri []byte) (path, args []byte, ok bool) {
	path = uri
	if len(path) == 0 || path[0] == '?' || unsafeDots(path) {
		f.logf("unsafe URI \"%s\" was detected", uri)
		return nil, nil, false
	}
	quoted := false
	for i, c := range uri {
		if c == '%' {
			quoted = true
		}
		if c == '?' {
			path, args = uri[:i], uri[i+1:]
			break
		}
		if c == 0 {
			f.logf("unsafe URI \"%s\" was detected", uri)
			return nil, nil, false
		}
		if c == '/' && len(uri)-i > 2 && uri[i+1] == '.' && uri[i+2] == '.' && (len(uri)-i == 3 || uri[i+3] == '/') {
			f.logf("unsafe URI \"%s\" was detected", uri)
			return nil, nil, false
		}
	}
	if !quoted {
		return path, args, true
	}
	f.pathBuf = unescapeURI(f.pathBuf[:0], path)
	path = f.pathBuf
	if unsafeDots(path) {
		f.logf("unsafe URI \"%s\" was detected", path)
		return nil, nil, false
	}
	for i, c := range path {
		if c == 0 || c == '/' && len(path)-i > 2 && path[i+1] == '.' && path[i+2] == '.' && (len(path)-i == 3 || path[i+3] == '/') {
			f.logf("unsafe URI \"%s\" was detected", path)
			return nil, nil, false
		}
	}
	return path, args, true
}

// unsafeDots: the path starts with ".." alone or "../".
func unsafeDots(p []byte) bool {
	return len(p) > 1 && p[0] == '.' && p[1] == '.' && (len(p) == 2 || p[2] == '/')
}

// unescapeURI is ngx_unescape_uri with no flags: %XX becomes its byte;
// a '%' not followed by a hex digit is dropped, and so is a "%X" followed
// by anything but one.
func unescapeURI(dst, src []byte) []byte {
	const (
		usual = iota
		quoted
		second
	)
	state, decoded := usual, byte(0)
	for _, c := range src {
		switch state {
		case usual:
			if c == '%' {
				state = quoted
				continue
			}
			dst = append(dst, c)
		case quoted:
			if h, ok := unhex(c); ok {
				decoded, state = h, second
				continue
			}
			state = usual
			dst = append(dst, c)
		case second:
			state = usual
			if h, ok := unhex(c); ok {
				dst = append(dst, decoded<<4+h)
			}
		}
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}
