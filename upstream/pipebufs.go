package upstream

// pipeBufs follows which of nginx's event pipe buffers a buffered body's
// bytes are read into (ngx_event_pipe_read_upstream), for when a buffer
// is full and goes on. The first is the head's buffer (*_buffer_size),
// its body part after the head; then nginx reads into its list of free
// buffers (free_raw_bufs) before it allocates one of *_buffers, and a
// buffer sent to the client goes back to that list whole
// (ngx_event_pipe_add_free_buf): after a partly filled first one, in the
// order the buffers were sent in one write (the write filter passes at
// most *_busy_buffers_size of buffers at once; a later write's go before
// an earlier one's). A buffer written to a cache's temporary file goes to
// the list's end instead. The client is taken to be ready: a buffer sent
// is free at once, and with all of *_buffers read into, what is full is
// sent and nginx reads on (upstream_blocked).
type pipeBufs struct {
	free      []pipeBuf // free_raw_bufs in order: the first may be partly filled
	full      []pipeBuf // filled (or parsed) and not yet sent (p->in)
	allocated int       // of *_buffers
	num, unit int       // *_buffers
	busy      int       // *_busy_buffers_size
	atEnd     bool      // cacheable: freed buffers go to the list's end
	done      int64     // data bytes of the buffers that went to full, all told
}

// pipeBuf is one buffer: size bytes, data from start to last.
type pipeBuf struct{ size, start, last int }

// init starts the pipe with the head's buffer of bufSize bytes, its body
// from start on (none when the head filled it), and buffers of num by
// unit bytes.
func (p *pipeBufs) init(bufSize, start, num, unit, busy int, atEnd bool) {
	*p = pipeBufs{free: p.free[:0], full: p.full[:0], num: max(num, 1), unit: unit, busy: busy, atEnd: atEnd}
	if start < bufSize {
		p.free = append(p.free, pipeBuf{size: bufSize, start: start, last: start})
	}
}

// room is what the buffer read into next still takes: the first free
// one, or a new one, or, with none left, the first freed by sending what
// is full.
func (p *pipeBufs) room() int {
	if len(p.free) == 0 {
		if p.allocated < p.num {
			p.allocated++
			p.free = append(p.free, pipeBuf{size: p.unit})
		} else {
			p.send()
		}
	}
	if len(p.free) == 0 {
		return 0 // no buffers at all: nothing to model
	}
	return p.free[0].size - p.free[0].last
}

// fill records k bytes read into the first free buffer (k <= room()) and
// reports whether that filled it (then the caller takes it).
func (p *pipeBufs) fill(k int) bool {
	b := &p.free[0]
	b.last += k
	return b.last >= b.size
}

// take moves the first free buffer to full (withData), or frees it at
// once, as an input filter does with a buffer that made no data.
func (p *pipeBufs) take(withData bool) {
	b := p.free[0]
	p.free = p.free[:copy(p.free, p.free[1:])]
	if !withData {
		p.addFree(b)
		return
	}
	p.full = append(p.full, b)
	p.done += int64(b.last - b.start)
}

// partial reports how many bytes the first free buffer holds.
func (p *pipeBufs) partial() int {
	if len(p.free) == 0 {
		return 0
	}
	return p.free[0].last - p.free[0].start
}

// send sends what is full and frees it, one write of busy's worth at a
// time (ngx_event_pipe_write_to_downstream).
func (p *pipeBufs) send() {
	for len(p.full) > 0 {
		n, size := 0, 0
		for n < len(p.full) && (n == 0 || size+p.full[n].size <= p.busy) {
			size += p.full[n].size
			n++
		}
		// The write's buffers are freed last sent first, each going
		// where ngx_event_pipe_add_free_buf puts it; to a temporary
		// file, in the order written.
		for i := range n {
			if p.atEnd {
				p.addFree(p.full[i])
			} else {
				p.addFree(p.full[n-1-i])
			}
		}
		p.full = p.full[:copy(p.full, p.full[n:])]
	}
}

func (p *pipeBufs) addFree(b pipeBuf) {
	b.start, b.last = 0, 0
	switch {
	case p.atEnd || len(p.free) == 0:
		p.free = append(p.free, b)
	case p.free[0].last == p.free[0].start: // an empty first: before it
		p.free = append(p.free, pipeBuf{})
		copy(p.free[1:], p.free)
		p.free[0] = b
	default: // after the partly filled first
		p.free = append(p.free, pipeBuf{})
		copy(p.free[2:], p.free[1:])
		p.free[1] = b
	}
}
