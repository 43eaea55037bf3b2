package http2

import (
	"errors"
	"os"
	"syscall"

	"github.com/gonginx/gonginx/rewrite/http1"

	"golang.org/x/net/http2"
)

// Output scheduling, as nginx's queue of frames: a stream's DATA waits in
// its queue (out) and goes out, a frame at a time, when both windows have
// room, the streams nearer the root of the priority tree first and, at
// one depth, the heavier first (ngx_http_v2_queue_frame). A frame may
// join what the handler wrote in several pieces, as nginx's buffers do.

// MaxQueued is how much a stream's handler may have queued before its
// writes wait for the client: a write of n bytes cannot wait before
// MaxQueued-n were written.
const MaxQueued = 80 << 10

// prioNode is a stream's place in the priority tree (RFC 7540 5.3),
// kept for streams not yet opened or already closed too.
type prioNode struct {
	parent uint32
	weight uint16 // 1..256 (a small node: the tree lives as long as the connection)
}

// setPriority puts id under dep with weight (c.mu held): exclusive makes
// it the only child, the others becoming its own; a dependency on its own
// descendant first moves that descendant up, as RFC 7540 5.3.3 says.
func (c *Conn) setPriorityLocked(id, dep uint32, weight int, exclusive bool) {
	if c.nodes == nil {
		c.nodes = make(map[uint32]prioNode)
	}
	n, ok := c.nodes[id]
	if !ok {
		c.pruneNodesLocked()
	}
	if dep != 0 && c.descendantLocked(dep, id) {
		if d, ok := c.nodes[dep]; ok {
			d.parent = n.parent
			c.nodes[dep] = d
		}
	}
	if exclusive {
		for cid, cn := range c.nodes {
			if cn.parent == dep && cid != id {
				cn.parent = id
				c.nodes[cid] = cn
			}
		}
	}
	c.nodes[id] = prioNode{parent: dep, weight: uint16(weight)}
}

// descendantLocked reports whether a is below b in the tree.
func (c *Conn) descendantLocked(a, b uint32) bool {
	for i := 0; a != 0 && i < 1000; i++ {
		n, ok := c.nodes[a]
		if !ok {
			return false
		}
		if n.parent == b {
			return true
		}
		a = n.parent
	}
	return false
}

// pruneNodesLocked forgets closed streams' nodes beyond a bound, as
// nginx recycles closed nodes.
func (c *Conn) pruneNodesLocked() {
	limit := 4*c.cfg.MaxConcurrentStreams + 16
	if len(c.nodes) <= limit {
		return
	}
	for id := range c.nodes {
		if c.streams[id] == nil {
			delete(c.nodes, id)
			if len(c.nodes) <= limit/2 {
				return
			}
		}
	}
}

// rankLocked is a stream's depth and relative weight (nginx's rank and
// rel_weight).
func (c *Conn) rankLocked(id uint32) (int, float64) {
	var chain [64]int // weights, from the stream up
	k := 0
	for a := id; a != 0 && k < len(chain); {
		n, ok := c.nodes[a]
		if !ok {
			break
		}
		chain[k] = int(n.weight)
		k++
		a = n.parent
	}
	rel := 1.0
	for i := k - 1; i >= 0; i-- {
		rel = rel / 256 * float64(chain[i])
	}
	if k == 0 {
		rel = 16.0 / 256
		k = 1
	}
	return k, rel
}

// writeData queues body bytes (and, with end, the stream's end) and sends
// what the windows let go; it waits while more than MaxQueued is queued.
func (s *Stream) writeData(p []byte, end bool) (int, error) {
	c := s.c
	c.mu.Lock()
	for s.queued() > 0 && s.queued()+len(p) > MaxQueued && s.err == nil && !s.cut {
		dl := s.writeDL
		c.mu.Unlock()
		if err := c.schedule(s); err != nil {
			return 0, err
		}
		c.mu.Lock()
		if s.queued() == 0 || s.queued()+len(p) <= MaxQueued || s.err != nil || s.cut {
			break
		}
		s.waiting |= waitSend
		s.bodyEventLocked() // a frame in error waits for this (awaitRunLocked)
		c.mu.Unlock()
		ok := waitFor(s.sendWake, dl, &s.sendTimer)
		c.mu.Lock()
		s.waiting &^= waitSend
		if !ok {
			s.timedOut = true
			c.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
	}
	if s.err != nil || s.cut {
		err := s.err
		if err == nil {
			err = errSendCut
		}
		c.mu.Unlock()
		return 0, err
	}
	if s.outPos > 0 {
		n := copy(s.out, s.out[s.outPos:])
		s.out, s.outPos = s.out[:n], 0
	}
	s.out = append(s.out, p...)
	if end {
		s.endQueued, s.outClosed = true, true
	}
	c.mu.Unlock()
	if err := c.schedule(s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// queued is how much DATA payload waits (c.mu held).
func (s *Stream) queued() int { return len(s.out) - s.outPos }

// SendBlocked reports whether the stream's body waits for the client's
// window: bytes are queued that the stream's or the connection's window
// holds back, as nginx's HTTP/2 output filter leaves a busy chain on an
// exhausted window (the event pipe then reads ahead into its buffers and
// temporary file). A full socket is ConnSocket's to tell.
func (s *Stream) SendBlocked() bool {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.queued() > 0 && (s.sendWindow <= 0 || c.sendWindow <= 0)
}

// WriteWaits reports whether a Write of n bytes would wait for the
// client's window now: the stream queues MaxQueued bytes at most, the
// rest of a response nginx's event pipe would hold in its buffers and
// temporary file.
func (s *Stream) WriteWaits(n int) bool {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.queued() > 0 && s.queued()+n > MaxQueued
}

// errSendCut is a write's error once CutSend cut the response.
var errSendCut = errors.New("http2: the response was cut")

// CutSend ends the response's writes: one waiting for the client's
// window returns at once, and every later one fails, so the stream is
// reset with INTERNAL_ERROR when its handler returns, as nginx finalizes
// a request with NGX_ERROR (a proxied response whose temporary file
// failed). A write deadline would do it only as a timeout
// (PROTOCOL_ERROR). What waits for the window is dropped, as nginx's
// unsent buffers go with the request.
func (s *Stream) CutSend() {
	c := s.c
	c.mu.Lock()
	s.cut = true
	if !s.endSent {
		s.cutBytes += int64(s.queued())
		s.out, s.outPos = s.out[:0], 0
		s.endQueued, s.outClosed = false, false
	}
	s.wakeLocked(waitSend, s.sendWake)
	c.mu.Unlock()
}

// SentCounts is what the body's count leaves out and what its frames add
// to nginx's: unsent, how much of the body the handler wrote went in no
// DATA frame (still queued for the window, or dropped by CutSend; nginx
// counts a stream's bytes as sent once framed); framing, the DATA
// frames' headers and the trailers' HEADERS frames, in $bytes_sent
// (counted per frame sent, as nginx's frame handlers count them) and out
// of $body_bytes_sent.
func (s *Stream) SentCounts() (unsent, framing int64) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(s.queued()) + s.cutBytes, s.framing
}

// ConnSocket is the socket under the stream's connection (nil: none).
func (s *Stream) ConnSocket() syscall.RawConn {
	rc, _ := http1.SocketOf(s.c.nc)
	return rc
}

// Write is net.Conn's: body bytes for the stream's DATA.
func (s *Stream) Write(p []byte) (int, error) { return s.writeData(p, false) }

// End is the Wire's: last and the stream's end (END_STREAM on the last
// DATA frame, or trailers as the closing HEADERS) are queued, and End
// waits until they went, so the stream can be reused.
func (s *Stream) End(last, trailers []byte) (int, error) {
	c := s.c
	if len(trailers) > 0 {
		c.mu.Lock()
		s.trailers = c.headCache().appendLines(s.trailers[:0], trailers, 0, &s.nameBuf)
		c.mu.Unlock()
	}
	// The end is flushed once the handler returned (runStream): the
	// client sees it after the request's log line was written, as nginx
	// logs before it reads the next frame.
	c.mu.Lock()
	s.holdFlush = true
	c.mu.Unlock()
	n, err := s.writeData(last, true)
	if err != nil {
		return n, err
	}
	for {
		c.mu.Lock()
		done, err, dl := s.endSent, s.err, s.writeDL
		if done {
			// The end went out (or to the write buffer): the request has
			// ended well, as nginx's once its last frame is queued, even
			// if the client closed since.
			c.mu.Unlock()
			return n, nil
		}
		if err == nil && s.cut {
			err = errSendCut
		}
		if err != nil {
			c.mu.Unlock()
			return n, err
		}
		s.waiting |= waitSend
		c.mu.Unlock()
		ok := waitFor(s.sendWake, dl, &s.sendTimer)
		c.mu.Lock()
		s.waiting &^= waitSend
		if !ok {
			s.timedOut = true
			c.mu.Unlock()
			return n, os.ErrDeadlineExceeded
		}
		c.mu.Unlock()
		if err := c.schedule(s); err != nil {
			return n, err
		}
	}
}

// schedule sends queued frames while the windows allow, the most urgent
// stream first; s, when not nil, is the stream whose send_timeout bounds
// the writes.
func (c *Conn) schedule(s *Stream) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	defer c.putDataBuf()
	wrote := false
	for {
		c.mu.Lock()
		st := c.pickLocked()
		if st == nil {
			c.mu.Unlock()
			break
		}
		id := st.id
		// Read in the section that changes what its writer waits for.
		waiting := st.waiting&waitSend != 0
		var err error
		if st.queued() == 0 {
			// The end: trailers, or an empty DATA frame.
			st.endSent = true
			st.bodyEventLocked()
			c.endedLocked(st)
			if n := len(st.trailers); n > 0 {
				st.framing += int64(n + 9*max(1, (n+c.maxFrame-1)/c.maxFrame)) // writeBlock's frames
				c.frameBuf = append(c.frameBuf[:0], st.trailers...)
				c.mu.Unlock()
				_, err = c.writeBlock(id, c.frameBuf, true)
			} else {
				st.framing += 9
				c.mu.Unlock()
				err = c.writeData(id, true, nil)
			}
		} else {
			n := min(st.queued(), st.chunk, c.maxFrame)
			n = int(min(int64(n), st.sendWindow, c.sendWindow))
			st.sendWindow -= int64(n)
			c.sendWindow -= int64(n)
			st.framing += 9
			p := st.out[st.outPos : st.outPos+n]
			st.outPos += n
			if st.outPos == len(st.out) {
				st.out, st.outPos = st.out[:0], 0
			}
			last := st.queued() == 0 && st.endQueued && len(st.trailers) == 0
			if last {
				st.endSent = true
				st.bodyEventLocked()
				c.endedLocked(st)
			}
			// The frame goes to the write buffer now when it fits (a
			// copy, no write), else its payload to dataBuf: the
			// stream's out may change once c.mu is left.
			bw := c.writer()
			direct := bw.Available() >= 9+n
			if direct {
				c.dataHeader(id, n, last)
				bw.Write(c.dataHdr[:])
				_, err = bw.Write(p)
			} else {
				if c.dataBuf == nil {
					c.dataBuf = dataPool.Get().(*[]byte)
				}
				*c.dataBuf = append((*c.dataBuf)[:0], p...)
			}
			c.mu.Unlock()
			if !direct {
				err = c.writeData(id, last, *c.dataBuf)
			}
		}
		if waiting {
			wake(st.sendWake)
		}
		wrote = true
		if err != nil {
			return err
		}
	}
	if !wrote {
		if s != nil && s.headHeld {
			// No window for the body: the head goes alone, as a
			// client may wait for it before it opens the window.
			return c.flushStream(s)
		}
		return nil
	}
	if s != nil {
		c.mu.Lock()
		hold := s.holdFlush && s.endSent // what waits for window must reach the client
		c.mu.Unlock()
		if hold {
			return nil
		}
		return c.flushStream(s)
	}
	return c.flushLocked()
}

// pickLocked is the stream whose next frame goes first: one with queued
// data and room in both windows, or an end to send; nearest the root,
// then heaviest, then the oldest.
func (c *Conn) pickLocked() *Stream {
	// Mostly one stream has something to send: it needs no ranking.
	var only *Stream
	for _, st := range c.live {
		if !c.readyLocked(st) {
			continue
		}
		if only != nil {
			return c.rankedLocked()
		}
		only = st
	}
	return only
}

// forgetLocked takes st out of the connection's streams.
func (c *Conn) forgetLocked(st *Stream) {
	delete(c.streams, st.id)
	for i, s := range c.live {
		if s == st {
			last := len(c.live) - 1
			c.live[i] = c.live[last]
			c.live[last] = nil
			c.live = c.live[:last]
			break
		}
	}
}

// rankedLocked is pickLocked's choice among several ready streams.
func (c *Conn) rankedLocked() *Stream {
	var best *Stream
	bestRank, bestRel := 0, 0.0
	for _, st := range c.live {
		if !c.readyLocked(st) {
			continue
		}
		rank, rel := c.rankLocked(st.id)
		if best == nil || rank < bestRank || rank == bestRank && (rel > bestRel || rel == bestRel && st.id < best.id) {
			best, bestRank, bestRel = st, rank, rel
		}
	}
	return best
}

// readyLocked reports whether st has a frame to send now: DATA with room
// in both windows, or its end.
func (c *Conn) readyLocked(st *Stream) bool {
	if st.err != nil || st.endSent {
		return false
	}
	return st.queued() > 0 && st.sendWindow > 0 && c.sendWindow > 0 || st.queued() == 0 && st.endQueued
}

// onPriority takes a PRIORITY frame.
func (c *Conn) onPriority(f *http2.PriorityFrame) error {
	if c.prioLimit--; c.prioLimit <= 0 {
		c.logInfo("client sent too many PRIORITY frames")
		return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
	}
	if f.StreamDep == f.StreamID {
		c.logInfo("client sent PRIORITY frame for stream " + num(int64(f.StreamID)) + " with incorrect dependency")
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	c.setPriorityLocked(f.StreamID, f.StreamDep, int(f.Weight)+1, f.Exclusive)
	c.mu.Unlock()
	return c.schedule(nil)
}
