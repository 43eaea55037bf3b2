package http1

// ChunkedParser decodes a chunked body held in successive buffers (the
// proxy uses it on backend responses), with the grammar of
// ngx_http_parse_chunked: hex size, optional extension, CRLF or LF, data,
// CRLF, a zero-size chunk, trailers (ignored), an empty line.
type ChunkedParser struct {
	chunkFraming
	Done bool
}

// Decode consumes framing from b until chunk data begins and returns the
// data bytes available in b (a sub-slice) and the total bytes consumed
// (framing plus data). With nothing decodable it returns consumed ==
// len(b); the caller feeds more bytes. Done is set at the body's end.
func (p *ChunkedParser) Decode(b []byte) (data []byte, consumed int, err error) {
	i := 0
	for i < len(b) && !p.Done {
		if p.state == chData {
			n := int64(len(b) - i)
			if n > p.remaining {
				n = p.remaining
			}
			data = b[i : i+int(n)]
			p.remaining -= n
			if p.remaining == 0 {
				p.state = chAfterData
			}
			return data, i + int(n), nil
		}
		ch := b[i]
		i++
		end, err := p.step(ch)
		if err != nil {
			return nil, i, err
		}
		p.Done = end
	}
	return nil, i, nil
}

// chunkFraming is ngx_http_parse_chunked's state machine over the framing
// bytes, shared by request bodies (bodyReader) and backend responses
// (ChunkedParser); each hands out the chunk data itself.
type chunkFraming struct {
	state     int
	remaining int64 // bytes left of the current chunk (bodyReader: or of a Content-Length body)
}

// step consumes one framing byte; end reports the body's last byte.
func (f *chunkFraming) step(ch byte) (end bool, err error) {
	switch f.state {
	case chStart:
		d, ok := hexDigit(ch)
		if !ok {
			return false, errInvalidChunked
		}
		f.remaining = int64(d)
		f.state = chSize
	case chSize:
		if f.remaining > (1<<63-1)/16 {
			return false, errInvalidChunked
		}
		if d, ok := hexDigit(ch); ok {
			f.remaining = f.remaining*16 + int64(d)
			return false, nil
		}
		switch ch {
		case '\r':
			f.state = chSizeAlmostDone
		case '\n':
			f.afterSize()
		case ';', ' ', '\t':
			f.state = chExtension
		default:
			return false, errInvalidChunked
		}
	case chExtension:
		switch ch {
		case '\r':
			f.state = chSizeAlmostDone
		case '\n':
			f.afterSize()
		}
	case chSizeAlmostDone:
		if ch != '\n' {
			return false, errInvalidChunked
		}
		f.afterSize()
	case chAfterData:
		switch ch {
		case '\r':
			f.state = chAfterDataAlmostDone
		case '\n':
			f.state = chStart
		default:
			return false, errInvalidChunked
		}
	case chAfterDataAlmostDone:
		if ch != '\n' {
			return false, errInvalidChunked
		}
		f.state = chStart
	case chTrailer:
		switch ch {
		case '\r':
			f.state = chTrailerAlmostDone
		case '\n':
			return true, nil
		default:
			f.state = chTrailerHeader
		}
	case chTrailerAlmostDone:
		if ch != '\n' {
			return false, errInvalidChunked
		}
		return true, nil
	case chTrailerHeader:
		switch ch {
		case '\r':
			f.state = chTrailerHeaderAlmostDone
		case '\n':
			f.state = chTrailer
		}
	case chTrailerHeaderAlmostDone:
		if ch != '\n' {
			return false, errInvalidChunked
		}
		f.state = chTrailer
	}
	return false, nil
}

// afterSize enters the chunk's data, or the trailers after the last chunk.
func (f *chunkFraming) afterSize() {
	if f.remaining == 0 {
		f.state = chTrailer
		return
	}
	f.state = chData
}

// Need is how many more bytes the parser wants before it can get on, as
// ngx_http_parse_chunked's length (a chunk's rest and a last chunk's
// "0" CRLF CRLF at the least): nginx's event pipe parses a partly filled
// buffer of a chunked response only once it holds that many bytes.
func (p *ChunkedParser) Need() int64 {
	switch p.state {
	case chSize, chExtension, chSizeAlmostDone:
		if p.remaining == 0 {
			return 2
		}
		return 1 + p.remaining + 4
	case chData:
		return p.remaining + 4
	case chAfterData, chAfterDataAlmostDone:
		return 4
	case chTrailer, chTrailerAlmostDone:
		return 1
	case chTrailerHeader, chTrailerHeaderAlmostDone:
		return 2
	}
	return 3 // chStart
}
