package filter

import (
	"errors"
	"io"
	"strconv"

	"github.com/klauspost/compress/gzip"
)

// Gunzip is the gunzip body filter (ngx_http_gunzip_filter_module's body
// part): it inflates a gzip body (members one after another, as zlib's
// inflateReset lets nginx) for a client that does not take gzip. The body
// comes from a backend, so it is untrusted: a corrupt or truncated stream
// fails the response with nginx's error text ("inflate() failed: 0, -3",
// "inflate() returned -5 on response end"), after what was inflated
// before it went out.
//
// The inflater reads its input (an io.Reader), while a filter is handed
// its input: so it runs on a goroutine of its own, fed one piece at a time
// and always with the caller waiting, so that only one of them runs at
// once and the next link is called as if from the caller.
type Gunzip struct {
	next Link
	w    *inflater
	done bool
	err  error
	// LastWithData: the body's last bytes come with its end, as nginx's
	// content handlers send their last buffer (a proxied body ends with
	// an empty one), so a piece that fails and is followed only by the
	// end was nginx's last buffer (Z_FINISH in the error text).
	LastWithData bool
	held         *GunzipError // a failure not reported yet (LastWithData)
}

// GunzipError is a failure of the stream: its text is nginx's error
// line, with zlib's flush mode and return code.
type GunzipError struct {
	mode, code int
	atEnd      bool // "returned ... on response end"
}

func (e *GunzipError) Error() string {
	if e.atEnd {
		return "inflate() returned " + strconv.Itoa(e.code) + " on response end"
	}
	return "inflate() failed: " + strconv.Itoa(e.mode) + ", " + strconv.Itoa(e.code)
}

// zlib's flush modes and return codes, for nginx's error text.
const (
	zNoFlush   = 0
	zSyncFlush = 2
	zFinish    = 4
	zDataError = -3
	zBufError  = -5
)

// SetNext is Link's.
func (g *Gunzip) SetNext(next Link) { g.next = next }

// Reset prepares g for a response.
func (g *Gunzip) Reset() {
	g.Release()
	g.done, g.err, g.held, g.LastWithData = false, nil, nil, false
}

// Body is Link's.
func (g *Gunzip) Body(p []byte, flush, last bool) error {
	if g.held != nil {
		if last && len(p) == 0 {
			g.held.mode = zFinish
		}
		g.err, g.held = g.held, nil
	}
	if g.err != nil {
		return g.err
	}
	if g.done {
		return g.next.Body(p, flush, last)
	}
	if g.w == nil {
		g.w = getInflater()
		g.w.start(g.next)
	}
	g.w.feed <- piece{p: p, flush: flush, last: last}
	r := <-g.w.back
	if r.err != nil {
		g.Release()
		if ge, ok := r.err.(*GunzipError); ok && g.LastWithData && !last && !ge.atEnd {
			g.held = ge
			return nil
		}
		g.err = r.err
		return r.err
	}
	if r.finished {
		g.done = true
		g.Release()
		return g.next.Body(nil, false, true)
	}
	if flush {
		return g.next.Body(nil, true, false)
	}
	return nil
}

// Err is the failure that ended the stream, if one did.
func (g *Gunzip) Err() error {
	if g.held != nil {
		return g.held
	}
	if ge, ok := g.err.(*GunzipError); ok {
		return ge
	}
	return nil
}

// Release ends the inflater of a body cut short and gives it back.
func (g *Gunzip) Release() {
	w := g.w
	if w == nil {
		return
	}
	g.w = nil
	if w.running {
		w.feed <- piece{abandon: true}
		<-w.back
	}
	w.next = nil
	putInflater(w)
}

// piece is one Body call's input for the inflater.
type piece struct {
	p                    []byte
	flush, last, abandon bool
}

// result is what the inflater reports when it has used a piece up:
// finished when the stream ended with the body, err when it failed.
type result struct {
	finished bool
	err      error
}

// inflater is the goroutine's side: its input is the pieces fed to it.
// Every piece fed gets one result back: when it is used up, or when the
// stream fails or ends. The goroutine stays with its inflater from body
// to body (starting one allocates), parked on begin while idle.
type inflater struct {
	begin   chan struct{}
	feed    chan piece
	back    chan result
	cur     piece
	pos     int
	fed     bool // a piece came: using it up is reported
	next    Link
	zr      *gzip.Reader
	out     []byte
	running bool // the goroutine waits for input (set by it before it reports)
}

// idleInflaters holds inflaters between bodies. It is bounded, not a
// sync.Pool: an inflater dropped by the pool would leave its goroutine
// parked for ever; one that finds the list full ends it.
var idleInflaters = make(chan *inflater, 64)

func getInflater() *inflater {
	select {
	case w := <-idleInflaters:
		return w
	default:
	}
	w := &inflater{begin: make(chan struct{}), feed: make(chan piece), back: make(chan result), out: make([]byte, outSize)}
	go w.loop()
	return w
}

func putInflater(w *inflater) {
	select {
	case idleInflaters <- w:
	default:
		close(w.begin)
	}
}

// errAbandoned stops the goroutine of a body cut short.
var errAbandoned = errors.New("gunzip: abandoned")

func (w *inflater) start(next Link) {
	w.next, w.cur, w.pos, w.fed, w.running = next, piece{}, 0, false, true
	w.begin <- struct{}{}
}

// loop inflates one body after another, each until the stream and the
// body end, or fail.
func (w *inflater) loop() {
	for range w.begin {
		res := w.inflate()
		w.running = false
		if res.err == errAbandoned {
			res.err = nil
		}
		w.back <- res
	}
}

func (w *inflater) inflate() result {
	var err error
	if w.zr == nil {
		w.zr, err = gzip.NewReader(w)
	} else {
		err = w.zr.Reset(w)
	}
	if err == io.EOF {
		// No member at all: zlib fails it at Z_FINISH.
		err = io.ErrUnexpectedEOF
	}
	for err == nil {
		var n int
		n, err = w.zr.Read(w.out)
		if n > 0 {
			if e := w.next.Body(w.out[:n], false, false); e != nil {
				return result{err: e}
			}
		}
	}
	switch {
	case errors.Is(err, errAbandoned):
		return result{err: errAbandoned}
	case err == io.EOF:
		// The body ended after a whole member.
		return result{finished: true}
	case err == io.ErrUnexpectedEOF:
		// The body ended inside a member: zlib's Z_BUF_ERROR at Z_FINISH.
		return result{err: &GunzipError{code: zBufError, atEnd: true}}
	}
	mode := zNoFlush
	switch {
	case w.cur.last:
		mode = zFinish
	case w.cur.flush:
		mode = zSyncFlush
	}
	return result{err: &GunzipError{mode: mode, code: zDataError}}
}

// ReadByte is the inflater's input (an io.ByteReader, so that it reads
// no further than it needs and a flush finds all output of what came
// before it).
func (w *inflater) ReadByte() (byte, error) {
	for w.pos == len(w.cur.p) {
		if err := w.more(); err != nil {
			return 0, err
		}
	}
	c := w.cur.p[w.pos]
	w.pos++
	return c, nil
}

func (w *inflater) Read(p []byte) (int, error) {
	for w.pos == len(w.cur.p) {
		if err := w.more(); err != nil {
			return 0, err
		}
	}
	n := copy(p, w.cur.p[w.pos:])
	w.pos += n
	return n, nil
}

// more reports the piece used up and waits for the next; after the last
// piece the input ends.
func (w *inflater) more() error {
	switch {
	case w.cur.abandon:
		return errAbandoned
	case w.cur.last:
		return io.EOF
	}
	if w.fed {
		w.back <- result{}
	}
	w.fed = true
	w.cur, w.pos = <-w.feed, 0
	if w.cur.abandon {
		return errAbandoned
	}
	return nil
}
