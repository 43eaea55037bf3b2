package imagefilter

import (
	"strconv"

	"github.com/gonginx/gonginx/location/filter"
)

// Host is what the Filter asks of the response it filters: its head is
// held until the Filter knows its answer.
type Host interface {
	// Pass sends the head for a body of type t that goes out as it came
	// ("image_filter test").
	Pass(t Type) error
	// Answer sends the head for r, whose Body follows; for Fail it sends
	// nothing and the response is answered anew with 415.
	Answer(t Type, r *Result) error
	// Params are the request's values, evaluated when the body is whole.
	Params() *Params
	// Log writes an error line.
	Log(msg string)
}

// Filter is the image filter's body part (ngx_http_image_body_filter):
// it tells the type from the first bytes, then passes the body on
// ("test") or reads it whole, up to its buffer, and answers with its
// size, the image as it is, or a new image.
type Filter struct {
	next   filter.Link
	host   Host
	mode   Mode
	length int // nginx's ctx->length: Content-Length, else image_filter_buffer
	buf    []byte
	typ    Type
	phase  uint8
}

const (
	phaseRead uint8 = iota
	phasePass
	phaseDone
)

// SetNext is filter.Link's.
func (f *Filter) SetNext(next filter.Link) { f.next = next }

// Reset prepares f for a response: length is its Content-Length, or
// image_filter_buffer when it has none.
func (f *Filter) Reset(h Host, mode Mode, length int64) {
	f.host, f.mode, f.length = h, mode, int(min(length, 1<<40))
	if cap(f.buf) > 64<<10 {
		f.buf = nil // a pooled exchange keeps no big image
	}
	f.buf, f.typ, f.phase = f.buf[:0], None, phaseRead
}

// Body is filter.Link's.
func (f *Filter) Body(p []byte, flush, last bool) error {
	switch f.phase {
	case phasePass:
		return f.next.Body(p, flush, last)
	case phaseDone:
		return nil // answered: the rest of the body is dropped
	}
	if f.typ != None && len(f.buf)+len(p) > f.length {
		return f.tooBig()
	}
	f.buf = append(f.buf, p...)
	if f.typ == None {
		// nginx tests its first buffer; bodies come in other pieces
		// here, so the test waits for its 16 bytes.
		if len(f.buf) < 16 && !last {
			return nil
		}
		f.typ = Detect(f.buf)
		if f.typ == None {
			f.phase = phaseDone
			if f.mode == SizeOnly {
				return f.answer(&Result{Outcome: JSON, Body: []byte(EmptyJSON), Close: true})
			}
			return f.host.Answer(None, &Result{})
		}
		if f.mode == Test {
			f.phase = phasePass
			if err := f.host.Pass(f.typ); err != nil {
				return err
			}
			return f.next.Body(f.buf, flush, last)
		}
		if len(f.buf) > f.length {
			return f.tooBig()
		}
	}
	if !last {
		return nil
	}
	r := Process(f.buf, f.typ, f.length, f.host.Params())
	if r.Outcome == Fail {
		f.phase = phaseDone
		if r.Err != "" {
			f.host.Log(r.Err)
		}
		return f.host.Answer(f.typ, &r)
	}
	f.phase = phasePass
	return f.answer(&r)
}

func (f *Filter) tooBig() error {
	f.phase = phaseDone
	f.host.Log("image filter: too big response")
	return f.host.Answer(f.typ, &Result{})
}

func (f *Filter) answer(r *Result) error {
	if err := f.host.Answer(f.typ, r); err != nil {
		return err
	}
	return f.next.Body(r.Body, false, true)
}

// TooBig is the header filter's line for a Content-Length over the buffer.
func TooBig(n int64) string {
	return "image filter: too big response: " + strconv.FormatInt(n, 10)
}
