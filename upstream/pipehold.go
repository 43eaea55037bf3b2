package upstream

import "github.com/gonginx/gonginx/rewrite/http1"

// heldBody is when nginx's event pipe passes a buffered body on
// (ngx_event_pipe_read_upstream): bytes are read into buffers, and a
// buffer goes to the client only once it is full, or when the response
// ends (its length reached, the backend's close or error). Which buffer
// bytes go into, and so where one ends, is pipeBufs': the rest of the one
// the head was read into, then the pipe's free or new ones. So a backend
// that sends part of a body and stalls has the client wait for it, and
// the head with it (postpone_output): nothing of a short body is sent
// until it is whole.
type heldBody struct {
	on     bool
	pipe   *pipeBufs
	fed    int64 // body bytes read into the pipe's buffers so far
	passed int64 // body bytes passed on so far
}

// holdConf is a buffered relay's buffers: the head's (bufSize, the head
// taking its first start bytes) and *_buffers.
type holdConf struct {
	bufSize, start int
	temp           *tempConf
	cacheable      bool      // a cache's or the store's: to a temporary file
	pipe           *pipeBufs // the exchange's
}

// busySize is *_busy_buffers_size, by default twice the larger of the
// head's buffer and one of *_buffers, as nginx merges it.
func (hc holdConf) busySize() int {
	if hc.temp.busy > 0 {
		return hc.temp.busy
	}
	return 2 * max(hc.bufSize, hc.temp.unit)
}

func (hc holdConf) initPipe() *pipeBufs {
	p := hc.pipe
	if p == nil {
		p = new(pipeBufs)
	}
	unit := hc.temp.unit
	num := 1
	if unit > 0 {
		num = hc.temp.buffers / unit
	}
	p.init(hc.bufSize, hc.start, num, unit, hc.busySize(), hc.cacheable)
	return p
}

// holdConf is x's buffers, its head taking start bytes of the first.
func (p *Proxy) holdConf(x *exchange, start int) holdConf {
	return holdConf{bufSize: p.bufSize, start: start, temp: &p.temp, pipe: &x.pipe,
		cacheable: x.cr != nil && x.cr.w.Active() || x.store.Stream != nil}
}

// holdFor sets h for a body read after a head as hc says.
func (h *heldBody) holdFor(hc holdConf) {
	*h = heldBody{on: hc.temp.unit > 0, pipe: hc.initPipe()}
}

// passable is how many of the held bytes (those after passed) are in
// buffers that are full, to be passed on now (pass).
func (h *heldBody) passable(held int) int {
	for n := h.passed + int64(held) - h.fed; n > 0; {
		k := int64(h.pipe.room())
		if k == 0 {
			break
		}
		k = min(k, n)
		if h.pipe.fill(int(k)) {
			h.pipe.take(true)
		}
		h.fed += k
		n -= k
	}
	return int(max(h.pipe.done-h.passed, 0))
}

// pass records k bytes passed on at a stop of the pipe: the buffers
// they fill are sent and free.
func (h *heldBody) pass(k int) {
	h.passed += int64(k)
	h.sent()
}

// sent frees the buffers passed on, at a stop of the pipe (its write).
func (h *heldBody) sent() {
	if h.on && h.passed >= h.pipe.done {
		h.pipe.send()
	}
}

// headPostponed reports whether the client's connection still holds a
// short head with nothing sent (http1.Conn.HeadPostponed), under the
// cache's or the store's tee too.
func headPostponed(c http1.Stream) bool {
	hp, ok := underTees(c).(interface{ HeadPostponed() bool })
	return ok && hp.HeadPostponed()
}

// heldParse is when nginx's event pipe passes on a body its input
// filter parses as it goes (a chunked one, or FastCGI records with
// fastcgi_keep_conn): a raw buffer's data goes on once the buffer is
// full, or, when the pipe stops reading, once the buffer holds as many
// bytes as the parser last said it needs to get on (p->length:
// ngx_http_parse_chunked's length, 3 at a chunk's start, the rest of a
// chunk's data and 4 more inside it; FastCGI's 8 at first, then the rest
// of a record's data or padding, 1 in a header). So data split across
// reads waits for the rest of its chunk or record, and the head with it
// while nothing was passed (postpone_output). After a partial buffer is
// parsed, reading goes on into the pipe's next (pipeBufs); a buffer that
// made no data is free at once.
type heldParse struct {
	on    bool
	pipe  *pipeBufs
	need  int64 // the parser's length after the last buffer parsed
	ready int   // gathered (decoded) bytes that may be passed on now
}

// holdFor sets h for a body read after a head as hc says; need is what
// the parser needs before its first parse.
func (h *heldParse) holdFor(hc holdConf, need int64) {
	*h = heldParse{on: hc.temp.unit > 0, pipe: hc.initPipe(), need: need}
}

// fits is how many of n raw bytes the current buffer takes.
func (h *heldParse) fits(n int) int { return min(n, h.pipe.room()) }

// raw is how many bytes the current raw buffer holds, not yet parsed.
func (h *heldParse) raw() int {
	if !h.on {
		return 0
	}
	return h.pipe.partial()
}

// filled records k raw bytes read into the current buffer, which make
// gathered bytes gathered so far; need is the parser's length after them.
func (h *heldParse) filled(k, gathered int, need int64) {
	if h.on && k > 0 && h.pipe.room() > 0 && h.pipe.fill(k) {
		h.parsed(gathered, need)
	}
}

// atRest is the pipe's stop: a partly filled buffer is parsed when it
// holds the bytes the parser needs.
func (h *heldParse) atRest(gathered int, need int64) {
	if raw := h.raw(); raw > 0 && int64(raw) >= h.need {
		h.parsed(gathered, need)
	}
}

func (h *heldParse) parsed(gathered int, need int64) {
	h.pipe.take(gathered > h.ready)
	h.ready, h.need = gathered, need
}

// passed records k gathered bytes passed on.
func (h *heldParse) passed(k int) { h.ready = max(h.ready-k, 0) }

// sent frees the buffers of what was passed on, at a stop of the pipe
// (its write).
func (h *heldParse) sent() {
	if h.on && h.ready == 0 {
		h.pipe.send()
	}
}

// cacheHeaderStart is what nginx keeps at the start of the buffer it
// reads a response's head into when the request goes through a cache
// (r->cache->header_start): the cache file's header (336 bytes in 1.22
// on 64-bit Linux), "\nKEY: ", the key and a line feed. The body's first
// buffer is that much shorter.
func cacheHeaderStart(x *exchange) int {
	if x.cr == nil || x.cr.zone == nil {
		return 0
	}
	return cacheHeaderStartFor(x.cr.keyText)
}

// cacheHeaderStartFor is header_start for a cache key.
func cacheHeaderStartFor(key []byte) int { return 336 + len("\nKEY: ") + len(key) + 1 }

// headRoom is how much of a response head nginx reads before "upstream
// sent too big header": *_buffer_size, less what a cache keeps at the
// buffer's start (cacheHeaderStart).
func (p *Proxy) headRoom(x *exchange) int {
	if p.bufSize <= 0 {
		return responseHeadSize
	}
	return max(p.bufSize-cacheHeaderStart(x), 1)
}

// headLimit is headRoom within x.rbuf (growHead makes room past it).
func (p *Proxy) headLimit(x *exchange) int { return min(p.headRoom(x), len(x.rbuf)) }

// growHead gives a head that filled x.rbuf (its n bytes kept) a buffer
// of headRoom when that is larger (*_buffer_size past 32k), and reports
// the new limit; ok false: the head is too big. The large buffer serves
// this exchange only (endServe drops it); the pool's goes back.
func (p *Proxy) growHead(x *exchange, n int) (limit int, ok bool) {
	room := p.headRoom(x)
	if room <= len(x.rbuf) {
		return len(x.rbuf), false
	}
	x.growRbuf(n, room)
	return room, true
}

// growRbuf makes x.rbuf a buffer of room bytes, its first n kept.
func (x *exchange) growRbuf(n, room int) {
	b := make([]byte, room)
	copy(b, x.rbuf[:n])
	x.spareRbuf()
	x.rbuf = b
}

// takeHeadFull reports, once, that a buffered relay's first read finds
// nothing: nginx 1.22's event pipe reads first into its head buffer, which
// a head that ended at its end left with no room, and takes the read of
// nothing as the backend's close (Content-Length unmet: "upstream
// prematurely closed connection"; a CGI body: empty).
func (x *exchange) takeHeadFull() bool {
	if !x.headFull {
		return false
	}
	x.headFull = false
	return x.buffering
}
