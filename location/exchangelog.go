package location

// An exchange's error-log lines for a failed upstream try and for a
// response that could not be sent whole, in nginx's words.

import (
	"errors"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/rewrite/http2"
	"github.com/gonginx/gonginx/upstream"
)

// LogTryError logs an upstream try that failed before the next server
// was tried.
func (x *exchange) LogTryError(err error) { x.logUpstreamError(err) }

// logUpstreamError logs at the level the error carries ("error" by
// default).
func (x *exchange) logUpstreamError(err error) {
	if errors.Is(err, http2.ErrSendTimedOut) {
		// The HTTP/2 connection's send timed out: nginx finalizes the
		// connection, and the requests on it log nothing.
		return
	}
	if we := x.clientWriteErr(); we != nil && errors.Is(err, we) {
		if msg, ok := http1.SendFailure(we); ok {
			// Relaying to a client that went: nginx's info line, with
			// the upstream it was reading (not the write's own error).
			var un interface{ UpstreamName() string }
			if errors.As(err, &un) {
				x.upstreamName = un.UpstreamName()
			}
			x.logSendFailure(msg)
			x.upstreamName = ""
			return
		}
	}
	if errors.Is(err, upstream.ErrClientClosed) {
		// The abort watch saw the client go: its line is the client's
		// end, once, as nginx finalizes the request on the first event
		// that meets the hang-up (the write's failure is not logged too).
		if x.sendFailLogged {
			return
		}
		x.sendFailLogged = true
	}
	level := "error"
	var le interface{ LogLevel() string }
	if errors.As(err, &le) {
		level = le.LogLevel()
	}
	var un interface{ UpstreamName() string }
	if errors.As(err, &un) {
		x.upstreamName = un.UpstreamName()
	}
	x.log.Logf(x, level, "%v", err)
	x.upstreamName = ""
	var then interface{ LogAfter() error }
	if errors.As(err, &then) {
		x.logUpstreamError(then.LogAfter()) // the upstream's warning that follows
	}
}

// clientWriteErr is the first write to the client that failed (nil for
// a subrequest's or an HTTP/2 stream's).
func (x *exchange) clientWriteErr() error {
	// An HTTP/1 Conn by its type first (one compare): the interface's
	// check is an itab lookup (~100 instructions a request).
	if hc, ok := x.c.(*http1.Conn); ok {
		return hc.WriteErr()
	}
	if w, ok := x.c.(interface{ WriteErr() error }); ok {
		return w.WriteErr()
	}
	return nil
}

// endSend logs, once, why the response could not be sent whole: nginx's
// info line for a client that went or send_timeout.
func (x *exchange) endSend() {
	if msg, ok := http1.SendFailure(x.clientWriteErr()); ok {
		x.logSendFailure(msg)
	}
}

func (x *exchange) logSendFailure(msg string) {
	if x.sendFailLogged {
		return
	}
	x.sendFailLogged = true
	action := " while sending response to client"
	if x.proxied || x.upstreamName != "" || x.st.UpstreamName.Named() {
		action = " while sending to client" // the upstream module's words
	} else if x.sendingAs != "" {
		action = " while sending " + x.sendingAs + " to client"
	}
	x.log.Logf(x, "info", "%s%s", msg, action)
}
