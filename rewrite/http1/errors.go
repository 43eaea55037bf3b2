package http1

import (
	"errors"
	"os"
	"syscall"
)

// Error is a request the parser rejected. Status is what nginx answers:
// 400, 414 (request line too long), 494 (a header line too long or too
// many of them; nginx renders it as "400 Request Header Or Cookie Too
// Large"), 405 (TRACE), 501 (unknown Transfer-Encoding) or 505 (HTTP/2+
// in the request line). Msg is nginx's error-log wording. After an Error
// the connection must be closed once the error page is written (nginx
// clears keepalive for every one of them).
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// ErrDuplicateHost and ErrDuplicateHeader are a header line repeated
// (the request's last header): nginx's log names both lines.
// ErrInvalidHeader, ErrUnknownTE and ErrHeaderTooLarge are logged with
// the line or value at fault too; ErrInvalidChunked is logged at error
// where a discarded body has it.
var (
	ErrDuplicateHost   = &Error{400, "client sent duplicate host header"}
	ErrDuplicateHeader = &Error{400, "client sent duplicate header line"}
	ErrInvalidHeader   = &Error{400, "client sent invalid header line"}
	ErrUnknownTE       = &Error{501, `client sent unknown "Transfer-Encoding"`}
	ErrHeaderTooLarge  = &Error{494, "client sent too long header line"}
	ErrURITooLong      = &Error{414, "client sent too long URI"}
	ErrInvalidChunked  = &Error{400, "client sent invalid chunked body"}
)

// ErrRefused: a header filter refused the response head
// (Response.Refuse); nothing was written.
var ErrRefused = errors.New("response refused by a header filter")

// The errors are preallocated: returning one costs nothing.
var (
	errInvalidRequest   = &Error{400, "client sent invalid request"}
	errInvalidMethod    = &Error{400, "client sent invalid method"}
	errInvalidVersion   = &Error{505, "client sent invalid version"} // nginx: HTTP major > 1
	errInvalid09Method  = &Error{400, "client sent invalid method in HTTP/0.9 request"}
	errInvalidHeader    = ErrInvalidHeader
	errInvalidHost      = &Error{400, "client sent invalid host header"}
	errInvalidHostLine  = &Error{400, "client sent invalid host in request line"}
	errDuplicateHost    = ErrDuplicateHost
	errDuplicateHeader  = ErrDuplicateHeader
	errNoHost           = &Error{400, `client sent HTTP/1.1 request without "Host" header`}
	errBadLength        = &Error{400, `client sent invalid "Content-Length" header`}
	errTE10             = &Error{400, `client sent HTTP/1.0 request with "Transfer-Encoding" header`}
	errTEAndLength      = &Error{400, `client sent "Content-Length" and "Transfer-Encoding" headers at the same time`}
	errUnknownTE        = ErrUnknownTE
	errTrace            = &Error{405, "client sent TRACE method"}
	errConnect          = &Error{405, "client sent CONNECT method"}
	errURITooLong       = ErrURITooLong
	errHeaderTooLarge   = ErrHeaderTooLarge
	errTooManyHeaders   = &Error{494, "client sent too many header lines"}
	errInvalidChunked   = ErrInvalidChunked
	errPrematureBodyEOF = ErrPrematureBody
)

// ErrPrematureBody is a body the client's close cut short: nginx logs it
// at info (ngx_http_do_read_client_request_body).
var ErrPrematureBody = errors.New("client prematurely closed connection")

// ErrRequestTimeout is returned by ReadRequest when a request head began
// to arrive but did not end within client_header_timeout, and by body
// reads when client_body_timeout passed between two reads. nginx answers
// nothing: it logs the request with 408 and closes.
var ErrRequestTimeout = errors.New("client timed out")

// ErrHijacked is returned by I/O on a Conn after Hijack.
var ErrHijacked = errors.New("http1: connection hijacked")

// ErrStopped is a response's last write refused by its Finisher: the
// process is stopping at once.
var ErrStopped = errors.New("http1: stopping")

// SendFailure words a failed write to the client as nginx's info line
// for it: send_timeout as ngx_http_writer logs it, a reset as the read
// event that sees it (ngx_http_test_reading, the upstream's broken
// connection check), a socket the client closed (EPIPE: nginx saw its
// FIN first) with no errno. ok is false for any other error.
// Its first test is inlined at the callers (the rest is sendFailureRun): the
// common case costs a test, not a call.
func SendFailure(err error) (msg string, ok bool) {
	if err == nil {
		return "", false
	}
	return sendFailureRun(err)
}

// sendFailureRun is SendFailure past its first test.
func sendFailureRun(err error) (msg string, ok bool) {
	if err == nil {
		return "", false // the common case, without three errors.Is calls
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "client timed out (110: Connection timed out)", true
	case errors.Is(err, syscall.ECONNRESET):
		return "client prematurely closed connection (104: Connection reset by peer)", true
	case errors.Is(err, syscall.EPIPE):
		return "client prematurely closed connection", true
	}
	return "", false
}
