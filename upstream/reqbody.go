package upstream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// This file holds the client's request body on its way to the backend:
// read and buffered (in memory or a temporary file) or streamed.

// sendBody streams a Content-Length body from the client to nc.
func (p *Proxy) sendBody(c http1.Stream, nc net.Conn, x *exchange) error {
	readErr, err := p.copyToBackend(nc, x, c.Body())
	if readErr {
		return clientBodyError{err}
	}
	return err
}

// clientBodyError is a client's body that failed to arrive while it was
// relayed (a timeout, a hang-up, bad framing), not the backend's write.
type clientBodyError struct{ error }

func (e clientBodyError) Unwrap() error { return e.error }

// clientBodyFailure is the status and log line of a relayed body the
// client failed to send: nginx ends the request without a response
// (408, or the client gone) and logs it at info
// (ngx_http_upstream_read_request_handler, ngx_http_read_unbuffered_request_body).
func clientBodyFailure(err error, x *exchange) (int, error, ftMask) {
	var he *http1.Error
	if errors.As(err, &he) {
		return he.Status, err, 0
	}
	msg := err.Error()
	if errors.Is(err, http1.ErrRequestTimeout) {
		msg = "client timed out (110: Connection timed out)"
	}
	return bodyStatus(err), &leveledError{&tryError{msg: msg, cause: err, action: actionSend,
		upstream: logName(x.scheme, x, x.tryAddr)}, "info"}, 0
}

// copyToBackend copies r to nc through x.rbuf, each write under
// proxy_send_timeout; readErr says err came from r.
func (p *Proxy) copyToBackend(nc net.Conn, x *exchange, r io.Reader) (readErr bool, err error) {
	for {
		n, err := r.Read(x.rbuf)
		if n > 0 {
			x.life.setWrite(nc, time.Now(), p.SendTimeout)
			m, werr := nc.Write(x.rbuf[:n])
			x.sent += int64(m)
			if werr != nil {
				return false, werr
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return true, err
		}
	}
}

// sendChunked passes a chunked client body on as it arrives, each batch
// of what is at hand as one chunk and the last one with the terminating
// "0" chunk, as nginx's body chunked filter sends the buffers it read.
func (p *Proxy) sendChunked(c http1.Stream, nc net.Conn, x *exchange) error {
	body := c.Body()
	buf := x.rbuf
	const room = 18 // a size line before the data ("%x\r\n" of an int64)
	const tail = len("\r\n0\r\n\r\n")
	for {
		// Wait for some, then take what else is at hand.
		n, rerr := body.Read(buf[room : len(buf)-tail])
		k := n
		if rerr == nil {
			m, err := readAtHand(c, buf[room+k:len(buf)-tail])
			k, rerr = k+m, err
			if rerr == nil && c.BodyDone() {
				// The last chunk was at hand too: it goes out with the
				// data, in one write, as nginx's request chain sends it.
				rerr = io.EOF
			}
		}
		if rerr != nil && rerr != io.EOF {
			return clientBodyError{rerr}
		}
		start, end := room, room+k
		if k > 0 {
			var line [room]byte
			l := strconv.AppendInt(line[:0], int64(k), 16)
			l = append(l, '\r', '\n')
			start = room - len(l)
			copy(buf[start:], l)
			end += copy(buf[end:], "\r\n")
		}
		if rerr == io.EOF {
			end += copy(buf[end:], "0\r\n\r\n")
		}
		if end > start {
			x.life.setWrite(nc, time.Now(), p.SendTimeout)
			m, werr := nc.Write(buf[start:end])
			x.sent += int64(m)
			if werr != nil {
				return werr
			}
		}
		if rerr == io.EOF {
			return nil
		}
	}
}

// readAtHand reads the body bytes already received into p, without
// waiting for more; io.EOF is not an error (c.BodyDone tells).
func readAtHand(c http1.Stream, p []byte) (int, error) {
	k := 0
	for k < len(p) {
		n, err := c.ReadBodyAtHand(p[k:])
		k += n
		if err == io.EOF {
			return k, nil
		}
		if err != nil {
			return k, err
		}
		if n == 0 {
			break
		}
	}
	return k, nil
}

// appendChunk frames data as one chunk.
func appendChunk(b, data []byte) []byte {
	b = strconv.AppendInt(b, int64(len(data)), 16)
	b = append(b, '\r', '\n')
	b = append(b, data...)
	return append(b, '\r', '\n')
}

// bodyStatus is the status for a client body that could not be read.
func bodyStatus(err error) int {
	var he *http1.Error
	switch {
	case errors.As(err, &he):
		return he.Status
	case errors.Is(err, http1.ErrRequestTimeout):
		// ngx_http_read_client_request_body_handler: 408, and nothing
		// is sent.
		return 408
	case errors.Is(err, errBodyTooLarge):
		return 413
	case isLevelError(err):
		// The temporary file failed (ngx_http_write_request_body).
		return 500
	}
	return 400
}

var errBodyTooLarge = errors.New("client intended to send too large body")

// readBody reads the whole client body as nginx's
// ngx_http_read_client_request_body keeps it: in memory (x.body) when
// what did not come with the head fits client_body_buffer_size, else all
// of it in a temporary file (x.bodyFile), and always in a file with
// client_body_in_file_only. It returns the body's length.
func (p *Proxy) readBody(c http1.Stream, s *rewrite.State, x *exchange) (int64, error) {
	limit := p.bodyBufferSize
	if !c.Request().Chunked {
		limit += c.Preread()
	}
	if p.bodyInFileOnly != 0 {
		limit = 0
	}
	if int64(cap(x.body)) < limit {
		x.body = make([]byte, 0, limit) // grows once per pooled exchange
	}
	x.body = x.body[:0]
	x.keepBodyFile = p.bodyInFileOnly == 1
	body := c.Body()
	var total int64
	for {
		inMemory := x.bodyFile == nil && int64(len(x.body)) < limit
		dst := x.rbuf // scratch: no response has been read yet
		if inMemory {
			dst = x.body[len(x.body):limit]
		}
		n, err := body.Read(dst)
		if n > 0 {
			total += int64(n)
			if p.maxBody > 0 && total > p.maxBody {
				return total, errBodyTooLarge
			}
			if inMemory {
				x.body = x.body[:len(x.body)+n]
			} else {
				// Past the buffer: what was in memory goes first.
				if x.bodyFile == nil && len(x.body) > 0 {
					if werr := p.writeBodyFile(s, x, x.body); werr != nil {
						return total, werr
					}
					x.body = x.body[:0]
				}
				if werr := p.writeBodyFile(s, x, dst[:n]); werr != nil {
					return total, werr
				}
			}
		}
		if err == io.EOF {
			if x.bodyFile == nil && p.bodyInFileOnly != 0 {
				// An empty body still gets its file, as nginx's
				// ngx_http_write_request_body creates it.
				if werr := p.writeBodyFile(s, x, nil); werr != nil {
					return total, werr
				}
			}
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// writeBodyFile appends b to the body's temporary file, made under
// client_body_temp_path on the first call as ngx_write_request_body makes
// it, with nginx's line naming it (notice with client_body_in_file_only,
// else warn; none for the empty file of an empty body). A file that
// cannot be made or written is nginx's crit line, and 500.
func (p *Proxy) writeBodyFile(s *rewrite.State, x *exchange, b []byte) error {
	if x.bodyFile == nil {
		f, err := p.bodyTemp.createTemp()
		if err != nil {
			return requestErr(err)
		}
		// Removed when the request is done, as nginx removes its
		// client_body_temp files: $request_body_file names it meanwhile.
		x.bodyFile = f
		if b != nil && s != nil && s.TryLog != nil {
			level := "warn"
			if p.bodyInFileOnly != 0 {
				level = "notice"
			}
			s.TryLog.LogTryError(&levelError{level: level, error: &tryError{
				msg: "a client request body is buffered to a temporary file " + f.Name()}})
		}
	}
	if _, err := x.bodyFile.Write(b); err != nil {
		return requestErr(critf(`pwrite() "%s" failed`, x.bodyFile.Name(), err))
	}
	return nil
}

// requestErr drops the upstream's action from a temporary file's crit
// line: the body is read before any upstream is, and nginx's line has
// none.
func requestErr(err error) error {
	var le *levelError
	if errors.As(err, &le) {
		if te, ok := le.error.(*tryError); ok {
			te.action = ""
		}
	}
	return err
}

func (x *exchange) dropBodyFile() {
	if x.bodyFile != nil && !x.bodyFileShared {
		x.bodyFile.Close()
		if !x.keepBodyFile {
			os.Remove(x.bodyFile.Name())
		}
	}
	x.bodyFile, x.bodyFileShared = nil, false
}

// sendBodyFile sends the part of a body readBody put in a file (again,
// on a retry).
func (p *Proxy) sendBodyFile(nc net.Conn, x *exchange) error {
	if x.bodyFile == nil {
		return nil
	}
	if _, err := x.bodyFile.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("client body temp file: %w", err)
	}
	readErr, err := p.copyToBackend(nc, x, x.bodyFile)
	if readErr {
		return fmt.Errorf("client body temp file: %w", err)
	}
	return err
}
