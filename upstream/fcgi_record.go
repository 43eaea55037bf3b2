package upstream

import (
	"errors"
	"fmt"
)

// This file holds FastCGI's records (the FastCGI 1.0 specification, as
// ngx_http_fastcgi_module writes and reads them): one request per
// connection, id 1, the responder role.

const (
	fcgiBeginRequest = 1
	fcgiEndRequest   = 3
	fcgiParams       = 4
	fcgiStdin        = 5
	fcgiStdout       = 6
	fcgiStderr       = 7

	fcgiKeepConn  = 1     // FCGI_KEEP_CONN in FCGI_BEGIN_REQUEST's flags
	fcgiMaxRecord = 65535 // a record's content length is 16 bits
	// fcgiBodyRecord is how much of the client body one FCGI_STDIN
	// record carries, as nginx splits its buffers.
	fcgiBodyRecord = 32 << 10
)

// appendRecordHeader appends the 8-byte header of a record of request 1
// with n bytes of content and the padding that aligns it to 8 bytes.
func appendRecordHeader(b []byte, typ byte, n int) []byte {
	return append(b, 1, typ, 0, 1, byte(n>>8), byte(n), byte(fcgiPadding(n)), 0)
}

func fcgiPadding(n int) int { return (8 - n%8) % 8 }

var fcgiZeros [8]byte

// appendBeginRequest appends FCGI_BEGIN_REQUEST (responder role).
func appendBeginRequest(b []byte, keepConn bool) []byte {
	var flags byte
	if keepConn {
		flags = fcgiKeepConn
	}
	b = appendRecordHeader(b, fcgiBeginRequest, 8)
	return append(b, 0, 1, flags, 0, 0, 0, 0, 0)
}

// appendStdin appends data as FCGI_STDIN records of at most 32 KiB each.
func appendStdin(b, data []byte) []byte {
	for len(data) > 0 {
		n := min(len(data), fcgiBodyRecord)
		b = appendRecordHeader(b, fcgiStdin, n)
		b = append(b, data[:n]...)
		b = append(b, fcgiZeros[:fcgiPadding(n)]...)
		data = data[n:]
	}
	return b
}

// appendParamLen appends a name or value length as FastCGI encodes it:
// one byte up to 127, else four with the high bit set.
func appendParamLen(b []byte, n int) []byte {
	if n > 127 {
		return append(b, byte(n>>24)|0x80, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, byte(n))
}

// fcgiPiece is what the decoder found next in the backend's bytes.
type fcgiPiece uint8

const (
	pieceNone      fcgiPiece = iota // more bytes are needed
	pieceStdout                     // FCGI_STDOUT data (part of a record)
	pieceStdoutEnd                  // an empty FCGI_STDOUT record
	pieceStderr                     // FCGI_STDERR data (part of a record)
	pieceEnd                        // FCGI_END_REQUEST's content was read
)

// fcgiDecoder splits the backend's bytes into records as
// ngx_http_fastcgi_process_record does: it keeps its place across reads,
// so records may be cut anywhere.
type fcgiDecoder struct {
	hdrLen  int // header bytes read of the record under way (8: in its content)
	hdr     [8]byte
	typ     byte
	length  int // content bytes left
	padding int // padding bytes left
	inPad   bool
}

func (d *fcgiDecoder) reset() { *d = fcgiDecoder{} }

// Errors of records nginx rejects.
var errFCGIPrematureStdout = errors.New("upstream prematurely closed FastCGI stdout")

// next decodes from b and returns the piece found, its data (aliasing b)
// and how many bytes of b it used.
func (d *fcgiDecoder) next(b []byte) (fcgiPiece, []byte, int, error) {
	i := 0
	for {
		if d.inPad {
			k := min(d.padding, len(b)-i)
			d.padding -= k
			i += k
			if d.padding > 0 {
				return pieceNone, nil, i, nil
			}
			d.inPad, d.hdrLen = false, 0
		}
		if d.hdrLen < 8 {
			if d.hdrLen == 0 && len(b)-i >= 8 && fcgiHeaderOK(b[i:i+8]) {
				// A whole header at hand (the usual case): taken at
				// once, not byte by byte.
				d.hdr = [8]byte(b[i : i+8])
				d.hdrLen = 8
				i += 8
			}
			for d.hdrLen < 8 && i < len(b) {
				c := b[i]
				switch d.hdrLen {
				case 0:
					if c != 1 {
						return pieceNone, nil, i, fmt.Errorf("upstream sent unsupported FastCGI protocol version: %d", c)
					}
				case 1:
					if c != fcgiStdout && c != fcgiStderr && c != fcgiEndRequest {
						return pieceNone, nil, i, fmt.Errorf("upstream sent invalid FastCGI record type: %d", c)
					}
				case 2:
					if c != 0 {
						return pieceNone, nil, i, fmt.Errorf("upstream sent unexpected FastCGI request id high byte: %d", c)
					}
				case 3:
					if c != 1 {
						return pieceNone, nil, i, fmt.Errorf("upstream sent unexpected FastCGI request id low byte: %d", c)
					}
				}
				d.hdr[d.hdrLen] = c
				d.hdrLen++
				i++
			}
			if d.hdrLen < 8 {
				return pieceNone, nil, i, nil
			}
			d.typ = d.hdr[1]
			d.length = int(d.hdr[4])<<8 | int(d.hdr[5])
			d.padding = int(d.hdr[6])
			if d.length == 0 {
				d.inPad = true
				switch d.typ {
				case fcgiStdout:
					return pieceStdoutEnd, nil, i, nil
				case fcgiEndRequest:
					return pieceEnd, nil, i, nil
				}
				continue
			}
		}
		k := min(d.length, len(b)-i)
		if k == 0 {
			return pieceNone, nil, i, nil
		}
		data := b[i : i+k]
		d.length -= k
		i += k
		if d.length == 0 {
			d.inPad = true
		}
		switch d.typ {
		case fcgiStdout:
			return pieceStdout, data, i, nil
		case fcgiStderr:
			return pieceStderr, data, i, nil
		}
		if d.length == 0 {
			return pieceEnd, nil, i, nil
		}
	}
}

// fcgiHeaderOK reports whether h, a record's 8-byte header, is one the
// byte-by-byte checks of fcgiDecoder.next pass: version 1, a type the
// response may carry, request id 1.
func fcgiHeaderOK(h []byte) bool {
	t := h[1]
	return h[0] == 1 && h[2] == 0 && h[3] == 1 && (t == fcgiStdout || t == fcgiStderr || t == fcgiEndRequest)
}

// endsWith reports whether b is, from the decoder's place, only the end
// of a response on a kept connection: the padding left of the record
// read, an empty FCGI_STDOUT (optional), then FCGI_END_REQUEST with its
// 8 bytes and its padding, whole, and nothing after.
func (d *fcgiDecoder) endsWith(b []byte) bool {
	i := 0
	switch {
	case d.inPad:
		i = d.padding
	case d.hdrLen != 0:
		return false // in a header or a record's data
	}
	if len(b) >= i+8 && fcgiHeaderIs(b[i:i+8], fcgiStdout, 0) {
		i += 8 + int(b[i+6])
	}
	return len(b) >= i+16 && fcgiHeaderIs(b[i:i+8], fcgiEndRequest, 8) && len(b) == i+16+int(b[i+6])
}

// fcgiHeaderIs reports whether h is the header of a record of request
// 1 of type typ with n bytes of content.
func fcgiHeaderIs(h []byte, typ byte, n int) bool {
	return h[0] == 1 && h[1] == typ && h[2] == 0 && h[3] == 1 && int(h[4])<<8|int(h[5]) == n
}

// need is what nginx's FastCGI input filter says it needs to get on
// with fastcgi_keep_conn (p->length): the rest of a record's padding or
// data, 1 in a header or between records.
func (d *fcgiDecoder) need() int64 {
	switch {
	case d.inPad && d.padding > 0:
		return int64(d.padding)
	case !d.inPad && d.hdrLen == 8 && d.length > 0:
		return int64(d.length)
	}
	return 1
}

// paddingLeft reports the padding of the record just decoded that is
// still to come.
func (d *fcgiDecoder) paddingLeft() int {
	if d.inPad {
		return d.padding
	}
	return 0
}

// trimStderr cuts the trailing newlines, dots and spaces nginx leaves out
// of a "FastCGI sent in stderr" line.
func trimStderr(msg []byte) []byte {
	n := len(msg)
	for n > 1 {
		c := msg[n-1]
		if c != '\n' && c != '\r' && c != '.' && c != ' ' {
			break
		}
		n--
	}
	return msg[:n]
}
