package upstream

import (
	"errors"
	"strings"
	"syscall"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// tryError is a failed try worded for nginx's error log: the message, then
// " while " what the proxy was doing, and the upstream it talked to for
// the ", upstream:" part the log adds (ngx_http_log_error).
type tryError struct {
	msg      string
	cause    error
	action   string
	upstream string
}

func (e *tryError) Error() string {
	if e.action == "" {
		return e.msg
	}
	return e.msg + " while " + e.action
}
func (e *tryError) Unwrap() error { return e.cause }

// UpstreamName is the upstream as nginx's error log names it:
// "http://127.0.0.1:8081/uri".
func (e *tryError) UpstreamName() string { return e.upstream }

const (
	actionConnect = "connecting to upstream"
	actionSend    = "sending request to upstream"
	actionHeader  = "reading response header from upstream"
	actionBody    = "reading upstream"
	// actionToClient: nginx's unbuffered relay reads what is at hand
	// right after the head while it sends to the client.
	actionToClient = "sending to client"
	// actionUpgraded: a tunnel after a 101 (ngx_http_upstream_upgrade).
	actionUpgraded = "proxying upgraded connection"
)

// errClientGone is nginx's line when epoll reports the client's hang-up
// (EPOLLRDHUP) while a backend is at work.
var errClientGone = errors.New("epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too")

// logClientGone logs, at info, the client's hang-up that ended the try
// (ngx_http_upstream_check_broken_connection), with the error pending on
// the client's socket when there is one (a reset); the request ends
// with 499.
func (p *Proxy) logClientGone(s *rewrite.State, x *exchange, action string, sockErr error) {
	if s == nil || s.TryLog == nil {
		return
	}
	msg := errClientGone.Error()
	if sockErr != nil {
		msg += " (" + nginxconf.ErrnoText(sockErr) + ")"
	}
	s.TryLog.LogTryError(&leveledError{&tryError{msg: msg, cause: ErrClientClosed, action: action,
		upstream: logName(x.scheme, x, x.tryAddr)}, "info"})
}

// thenLog is a try's error followed in the log by a line of its own,
// as nginx logs the error, then frees the peer (which may warn).
type thenLog struct {
	error
	after error
}

func (e *thenLog) Unwrap() error { return e.error }

// LogAfter is the line that follows the error's.
func (e *thenLog) LogAfter() error { return e.after }

// thenDisabled adds to a failed try's err nginx's warning that the
// failure took the server out (ngx_http_upstream_free_round_robin_peer
// when fails reach max_fails), worded with the try's action and
// upstream; with no error line to follow, or one nginx logs after
// (a timeout), it is logged at once.
func (p *Proxy) thenDisabled(s *rewrite.State, err error, action string, t *target, x *exchange, addr string) error {
	if s == nil || s.TryLog == nil {
		return err
	}
	warn := &leveledError{&tryError{msg: "upstream server temporarily disabled", action: action,
		upstream: upstreamURL(t, x, addr)}, "warn"}
	var te *tryError
	if err == nil || errors.As(err, &te) && te.msg == errTimedOut.Error() {
		// ngx_http_upstream_next frees the peer, then logs a timeout.
		s.TryLog.LogTryError(warn)
		return err
	}
	return &thenLog{err, warn}
}

var errTimedOut = errors.New("upstream timed out (110: Connection timed out)")

// wrapTry words err for the log; errors of the client's side are left
// as they are.
// Its first test is inlined at the callers (the rest is wrapTryRun): the
// common case costs a test, not a call.
func (p *Proxy) wrapTry(err error, action string, t *target, x *exchange, addr string) error {
	if err == nil {
		return nil
	}
	return p.wrapTryRun(err, action, t, x, addr)
}

// wrapTryRun is wrapTry past its first test.
func (p *Proxy) wrapTryRun(err error, action string, t *target, x *exchange, addr string) error {
	if err == nil || errors.Is(err, ErrClientClosed) {
		return err
	}
	var te *tryError
	if errors.As(err, &te) {
		return err
	}
	return wordTry(err, action, upstreamURL(t, x, addr))
}

// wordTry is wrapTry's wording of err, a try's failure, for upstream
// (scheme, server and URI sent).
func wordTry(err error, action, upstream string) error {
	msg := err.Error()
	if strings.Contains(msg, " while ") {
		// Worded already (the TLS handshake's errors): only the
		// upstream is added.
		return &tryError{msg: msg, cause: err, upstream: upstream}
	}
	var re *recvError
	switch {
	case action == actionUpgraded && (errors.Is(err, errTimedOut) || isTimeout(err)):
		// nginx words a tunnel's timeout on the client's connection,
		// whose errors it logs at info (ngx_http_upstream_process_upgraded).
		return &leveledError{&tryError{msg: errTimedOut.Error(), cause: err, action: action, upstream: upstream}, "info"}
	case errors.Is(err, errTimedOut) || action != actionBody && isTimeout(err):
		msg = errTimedOut.Error()
	case (action == actionBody || action == actionToClient) && errors.As(err, &re):
	case action == actionConnect:
		msg = "connect() failed"
		var en syscall.Errno
		if errors.As(err, &en) {
			msg += " (" + nginxconf.ErrnoText(err) + ")"
		}
	case action == actionBody && !errors.Is(err, ErrPrematureClose) && !errors.Is(err, errInvalidChunked) &&
		!errors.Is(err, errFCGIPrematureStdout) && !errors.Is(err, errFCGIPrematureReq):
		return err // the client's side (a failed write), logged as it is
	}
	return &tryError{msg: msg, cause: err, action: action, upstream: upstream}
}

// upstreamURL is scheme, server and the URI sent: nginx's
// "%V%V%s%V" of u->schema, the peer name and u->uri (with ':' after a
// unix socket path).
func upstreamURL(t *target, x *exchange, addr string) string {
	return logName(t.scheme, x, addr)
}

// UpstreamLogName is the backend whose response is being sent, as an
// error line names it (rewrite.State.UpstreamLog).
func (x *exchange) UpstreamLogName() string { return logName(x.scheme, x, x.tryAddr) }

func logName(scheme string, x *exchange, addr string) string {
	return string(appendLogName(nil, scheme, x, addr))
}

// appendLogName appends the upstream as an error line names it: scheme,
// server and the URI of the request sent.
func appendLogName(dst []byte, scheme string, x *exchange, addr string) []byte {
	n := rewrite.UpstreamName{Scheme: scheme, Server: addr, URI: x.sentURI(scheme)}
	return n.Append(dst)
}

// sentURI is the URI in the request line sent (nginx's u->uri); not
// HTTP: x.req is no HTTP request, and nginx's u->uri is empty.
func (x *exchange) sentURI(scheme string) []byte {
	if (scheme == "http" || scheme == "https") && x.uriEnd <= len(x.req) {
		return x.req[x.uriStart:x.uriEnd]
	}
	return nil
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// recvError is a failed read from the backend while relaying its body.
type recvError struct{ err error }

func (e *recvError) Error() string { return "recv() failed (" + nginxconf.ErrnoText(e.err) + ")" }
func (e *recvError) Unwrap() error { return e.err }
