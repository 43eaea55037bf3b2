package http1

// ChunkedParser decodes a chunked body held in successive buffers (the
// proxy uses it on backend responses), with the grammar of
// ngx_http_parse_chunked: hex size, optional extension, CRLF or LF, data,
// CRLF, a zero-size chunk, trailers (ignored), an empty line.
type ChunkedParser struct {
	state     int
	remaining int64
	Done      bool
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
		switch p.state {
		case chStart:
			d, ok := hexDigit(ch)
			if !ok {
				return nil, i, errInvalidChunked
			}
			p.remaining = int64(d)
			p.state = chSize
		case chSize:
			if p.remaining > (1<<63-1)/16 {
				return nil, i, errInvalidChunked
			}
			if d, ok := hexDigit(ch); ok {
				p.remaining = p.remaining*16 + int64(d)
				continue
			}
			switch ch {
			case '\r':
				p.state = chSizeAlmostDone
			case '\n':
				p.afterSize()
			case ';', ' ', '\t':
				p.state = chExtension
			default:
				return nil, i, errInvalidChunked
			}
		case chExtension:
			switch ch {
			case '\r':
				p.state = chSizeAlmostDone
			case '\n':
				p.afterSize()
			}
		case chSizeAlmostDone:
			if ch != '\n' {
				return nil, i, errInvalidChunked
			}
			p.afterSize()
		case chAfterData:
			switch ch {
			case '\r':
				p.state = chAfterDataAlmostDone
			case '\n':
				p.state = chStart
			default:
				return nil, i, errInvalidChunked
			}
		case chAfterDataAlmostDone:
			if ch != '\n' {
				return nil, i, errInvalidChunked
			}
			p.state = chStart
		case chTrailer:
			switch ch {
			case '\r':
				p.state = chTrailerAlmostDone
			case '\n':
				p.Done = true
			default:
				p.state = chTrailerHeader
			}
		case chTrailerAlmostDone:
			if ch != '\n' {
				return nil, i, errInvalidChunked
			}
			p.Done = true
		case chTrailerHeader:
			switch ch {
			case '\r':
				p.state = chTrailerHeaderAlmostDone
			case '\n':
				p.state = chTrailer
			}
		case chTrailerHeaderAlmostDone:
			if ch != '\n' {
				return nil, i, errInvalidChunked
			}
			p.state = chTrailer
		}
	}
	return nil, i, nil
}

func (p *ChunkedParser) afterSize() {
	if p.remaining == 0 {
		p.state = chTrailer
		return
	}
	p.state = chData
}
