package http1

import (
	"sync/atomic"
	"time"
)

// Date caching: nginx formats the time once a second. The text ends in
// CRLF for a head's Date line (appendDateLineAt).
type cachedDate struct {
	sec  int64
	text [31]byte
}

var dateCache atomic.Pointer[cachedDate]

// AppendDate appends the current time in the HTTP date format.
func AppendDate(dst []byte) []byte { return appendDateAt(dst, time.Now()) }

// appendDateAt appends now in the HTTP date format.
func appendDateAt(dst []byte, now time.Time) []byte {
	return append(dst, dateAt(now).text[:29]...)
}

// appendDateLineAt is appendDateAt and the line's CRLF: one append.
func appendDateLineAt(dst []byte, now time.Time) []byte {
	return append(dst, dateAt(now).text[:]...)
}

func dateAt(now time.Time) *cachedDate {
	d := dateCache.Load()
	if d == nil || d.sec != now.Unix() {
		d = &cachedDate{sec: now.Unix()}
		now.UTC().AppendFormat(d.text[:0], "Mon, 02 Jan 2006 15:04:05 GMT\r\n")
		dateCache.Store(d)
	}
	return d
}

// AppendHTTPTime appends Unix time sec in the HTTP date format.
func AppendHTTPTime(dst []byte, sec int64) []byte {
	return time.Unix(sec, 0).UTC().AppendFormat(dst, "Mon, 02 Jan 2006 15:04:05 GMT")
}

// SetEventTime gives the next WriteHeader the time of the event it
// answers (a backend's response head read at t): its Date is that
// time, as nginx's is the time its event loop cached, and no clock is
// read for it. WriteHeader forgets it.
func (c *Conn) SetEventTime(t time.Time) { c.eventTime = t }

// HeadTime is the time the next WriteHeader's Date carries: the event's
// when one was given, else now, given so (an Expires made from it agrees
// with the Date across a second's turn: nginx's both are its one cached
// time).
func (c *Conn) HeadTime() time.Time {
	if c.eventTime.IsZero() {
		c.eventTime = time.Now()
	}
	return c.eventTime
}

// AppendDateAt appends t in the HTTP date format.
func AppendDateAt(dst []byte, t time.Time) []byte { return appendDateAt(dst, t) }
