package upstream

import (
	"errors"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultWorkerConnections is nginx's worker_connections default.
const DefaultWorkerConnections = 512

// ConnSlots is a worker's worker_connections, as nginx's cycle->connections
// array: every listening socket, client connection and backend connection
// of the process takes one slot while it is open (idle kept-alive backend
// connections included). It lives here, the lowest package that takes
// slots; the server's accept loop takes them for clients. A nil *ConnSlots
// has no limit.
type ConnSlots struct {
	limit atomic.Int64
	used  atomic.Int64
	// drain is ngx_drain_connections: called when few slots are free, it
	// closes some reusable (idle) client connections, freeing their slots
	// before it returns. Set once, before the first Take.
	drain func()
	// warned is the second the "reusing connections" warning was last
	// logged (nginx logs it at most once a second).
	warned atomic.Int64
	// numbers are the open connections' numbers by descriptor.
	numbers connNumbers
	// serial is the process's connection counter ($connection, nginx's
	// ngx_connection_counter), which backend connections draw from too
	// (Number); nil: none. Set once, before the first Take.
	serial *atomic.Uint64
}

// SetSerial makes backend connections draw their numbers from serial.
func (c *ConnSlots) SetSerial(serial *atomic.Uint64) { c.serial = serial }

// Number draws a backend connection's number, as ngx_event_connect_peer
// does once it has the socket and its slot: clients accepted after it
// have numbers past it.
func (c *ConnSlots) Number() uint64 {
	if c != nil && c.serial != nil {
		return c.serial.Add(1)
	}
	return 0
}

// NewConnSlots returns limit slots; drain may be nil.
func NewConnSlots(limit int, drain func()) *ConnSlots {
	c := &ConnSlots{drain: drain}
	c.limit.Store(int64(limit))
	return c
}

// SetLimit changes the number of slots (a reload in one process).
func (c *ConnSlots) SetLimit(n int) { c.limit.Store(int64(n)) }

// Limit is worker_connections.
func (c *ConnSlots) Limit() int { return int(c.limit.Load()) }

// Used is the number of slots taken.
func (c *ConnSlots) Used() int { return int(c.used.Load()) }

// Take takes a slot, as ngx_get_connection: when at most a sixteenth of
// the slots are free, idle client connections are closed first; false
// when none is free.
func (c *ConnSlots) Take() bool {
	if c == nil {
		return true
	}
	limit := c.limit.Load()
	if c.drain != nil && limit-c.used.Load() <= limit/16 {
		c.drain()
	}
	for {
		u := c.used.Load()
		if u >= limit {
			return false
		}
		if c.used.CompareAndSwap(u, u+1) {
			return true
		}
	}
}

// Force takes a slot even when none is free (a listening socket).
func (c *ConnSlots) Force() {
	if c != nil {
		c.used.Add(1)
	}
}

// Release gives a slot back.
func (c *ConnSlots) Release() {
	if c != nil {
		c.used.Add(-1)
	}
}

// ShouldWarn reports whether the drain's warning is due at now: at most
// once a second, as nginx's connections_reuse_time.
func (c *ConnSlots) ShouldWarn(now time.Time) bool {
	sec := now.Unix()
	old := c.warned.Load()
	return old != sec && c.warned.CompareAndSwap(old, sec)
}

// NotEnough is nginx's alert when no slot is free.
func (c *ConnSlots) NotEnough() string {
	return strconv.FormatInt(c.limit.Load(), 10) + " worker_connections are not enough"
}

// ReusingMessage is the drain's warning.
func (c *ConnSlots) ReusingMessage() string {
	return c.NotEnough() + ", reusing connections"
}

// DrainCount is how many reusable connections one drain closes, of
// reusable: an eighth, at least one and at most 32.
func DrainCount(reusable int) int {
	return max(min(32, reusable/8), 1)
}

// slotsError is a backend connection refused for want of a slot or of a
// file descriptor: the request ends with 500 (ngx_event_connect_peer's
// NGX_ERROR), logged at "alert".
type slotsError struct{ msg string }

func (e *slotsError) Error() string    { return e.msg + " while connecting to upstream" }
func (e *slotsError) LogLevel() string { return "alert" }

// outOfFiles reports a socket() that failed for the open file limit.
func outOfFiles(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && se.Syscall == "socket" &&
		(errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE))
}
