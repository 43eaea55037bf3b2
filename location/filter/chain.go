// Package filter owns the body filters of a response: the stream
// transforms nginx runs between a content handler and the wire (gzip,
// gunzip, sub_filter, addition, charset recoding), each a Link with
// nothing to know of locations, requests or the wire protocol.
//
// Which links a response gets is decided in package location, by each
// filter's header part, in nginx's order (ngx_modules.c): gunzip,
// addition, sub, charset, ssi, gzip. The Chain built from them is handed
// to the wire as the response's http1.BodyFilter; the wire is its last
// link (for HTTP/2 it will be another one). A response no filter applies
// to gets no chain and pays nothing.
package filter

// A Link is one body filter. Body takes body bytes (p may be empty),
// flush asks it to pass on everything it holds, last ends the body (once).
// It passes its output to the next link with that link's Body.
type Link interface {
	Body(p []byte, flush, last bool) error
	SetNext(next Link)
}

// Wire is what the chain's output goes to: the http1.Stream's WriteOut
// and FlushOut, below every body filter.
type Wire interface {
	WriteOut(p []byte) (int, error)
	FlushOut() error
}

// Chain is one response's body filters, the first link first. A Chain is
// reused response after response (Reset); it allocates nothing itself.
type Chain struct {
	first Link
	last  Link
	out   wireLink
}

// Reset empties the chain and points its end at w.
func (c *Chain) Reset(w Wire) {
	c.first, c.last = nil, nil
	c.out.w = w
}

// SetWire points the chain's end at w.
func (c *Chain) SetWire(w Wire) { c.out.w = w }

// Push appends l below the links pushed before it: push in nginx's body
// filter order, top first.
func (c *Chain) Push(l Link) {
	l.SetNext(&c.out)
	if c.last != nil {
		c.last.SetNext(l)
	} else {
		c.first = l
	}
	c.last = l
}

// PushFront puts l above the links pushed so far (the slice filter's
// body part, which nginx runs before the others).
func (c *Chain) PushFront(l Link) {
	if c.first == nil {
		c.Push(l)
		return
	}
	l.SetNext(c.first)
	c.first = l
}

// Empty reports whether no link was pushed.
func (c *Chain) Empty() bool { return c.first == nil }

// FilterBody is http1.BodyFilter: the chain's top.
func (c *Chain) FilterBody(p []byte, flush, last bool) error {
	return c.first.Body(p, flush, last)
}

// wireLink ends every chain: bytes to the wire, a flush flushes it. The
// end of the body is the wire's own business (Conn.Finish).
type wireLink struct{ w Wire }

func (l *wireLink) Body(p []byte, flush, last bool) error {
	if len(p) > 0 {
		if _, err := l.w.WriteOut(p); err != nil {
			return err
		}
	}
	if flush {
		return l.w.FlushOut()
	}
	return nil
}

func (l *wireLink) SetNext(Link) {}
