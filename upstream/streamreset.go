package upstream

import (
	"sync/atomic"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// resetLogger is an HTTP/2 stream (http2.Stream) that can have its
// client's RST_STREAM logged as the frame is read.
type resetLogger interface{ LogResetWith(f func(line string)) }

// asideLog is the request's log (location's) taking a line from another
// goroutine while the try runs.
type asideLog interface {
	LogTryErrorAside(err error, upstream string)
}

// resetActions are what a try does as nginx's log names it, indexed by
// streamReset.action (its own goroutine sets it, the stream's reader
// reads it).
var resetActions = [...]string{actionSend, actionBody, actionToClient}

const (
	resetSend = iota
	resetBody
	resetToClient
)

// streamReset logs an HTTP/2 client's reset of a stream whose try does
// not watch it (proxy_ignore_client_abort, proxy_store, a response
// being cached): the try goes on, and nginx's line ("client canceled
// stream 1 while reading upstream") comes as the frame is read
// (ngx_http_v2_state_rst_stream), before the try's own lines.
type streamReset struct {
	stream resetLogger
	log    asideLog
	action atomic.Uint32
	fn     func(line string) // logLine, bound once
}

// beginStreamReset logs c's resets from now on, when c is such a stream.
func (x *exchange) beginStreamReset(c http1.Stream, s *rewrite.State) {
	r := &x.reset
	if r.stream != nil || s == nil {
		return
	}
	// A subrequest's try (an ssi include, addition) shares its main
	// request's stream: nginx logs the reset as it reads it in the
	// context of the request running then, the subrequest's
	// ("subrequest: ..., upstream: ..."), not at the main request's end.
	// Of includes running side by side the last to begin logs it; one
	// ending first leaves the reset pending for the main request.
	st, ok := c.NetConn().(resetLogger)
	if !ok {
		return
	}
	log, ok := s.TryLog.(asideLog)
	if !ok {
		return
	}
	if r.fn == nil {
		r.fn = x.logStreamResetLine
	}
	r.stream, r.log = st, log
	r.action.Store(resetSend)
	st.LogResetWith(r.fn)
}

// streamResetBody tells the reset's log that the body is relayed, preread
// bytes of it read with the head (clientGoneAction's choice).
func (x *exchange) streamResetBody(preread int) {
	if x.reset.stream == nil {
		return
	}
	a := uint32(resetBody)
	if clientGoneAction(x, preread, false) == actionToClient {
		a = resetToClient
	}
	x.reset.action.Store(a)
}

// endStreamReset ends beginStreamReset's logging: once it returns, no
// line is logged from the stream's reader.
// Its first test is inlined at the callers (the rest is endStreamResetRun): the
// common case costs a test, not a call.
func (x *exchange) endStreamReset() {
	if x.reset.stream == nil {
		return
	}
	x.endStreamResetRun()
}

// endStreamResetRun is endStreamReset past its first test.
func (x *exchange) endStreamResetRun() {
	r := &x.reset
	if r.stream != nil {
		r.stream.LogResetWith(nil)
		r.stream, r.log = nil, nil
	}
}

// logStreamResetLine runs on the stream's reader, under its lock, while
// the try runs: it reads only what the try set before it began.
func (x *exchange) logStreamResetLine(line string) {
	r := &x.reset
	r.log.LogTryErrorAside(&leveledError{&tryError{msg: line, action: resetActions[r.action.Load()]}, "info"},
		logName(x.scheme, x, x.tryAddr))
}
