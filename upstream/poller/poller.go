// Package poller parks sockets on one epoll instance of the process, so
// that a connection with nothing to do costs no goroutine: its handler
// is called when the kernel reports the socket ready, and starts the
// goroutine that does the work. nginx's event loop is the model: an idle
// connection is an entry in the kernel's epoll set and nothing else.
//
// The poller's epoll descriptor is itself waited on through Go's runtime
// poller (an epoll set is pollable), so the one goroutine that reads its
// events parks like any network read: it holds no thread while nothing
// happens, and wakes through the scheduler.
//
// Entry points: Default (the process's poller), Poller.Add, Reg.Modify,
// Reg.SetHandler (another handler takes the socket's events),
// Reg.Remove (the socket stays open) or Reg.Forget (it closes next),
// Poller.Settle (handle what is reported now, on the caller's goroutine),
// Deadlines (the timers of what waits: one heap and one runtime timer).
// Registrations are edge-triggered (Edge) or one-shot (OneShot): a
// level-triggered one would be reported again and again.
//
// Conn (Acceptor.Accept, Dial) is a TCP socket of the package's own, on a
// second epoll set of the process for its life instead of the runtime's
// poller: nginx's connection costs its worker no more than the socket's
// own system calls, Go's net package adds an epoll_ctl, getsockname and
// getpeername per connection, and its calls wake the runtime's monitor.
package poller

import "errors"

// Event bits, as epoll's.
const (
	In      uint32 = 0x1
	Out     uint32 = 0x4
	Err     uint32 = 0x8
	Hup     uint32 = 0x10
	RDHup   uint32 = 0x2000
	OneShot uint32 = 1 << 30
	Edge    uint32 = 1 << 31
)

// Handler is told that a registered socket is ready. Ready runs on the
// poller's goroutine (or a Settle caller's): it must not block (start a
// goroutine, or flag work). It may be called once more after Remove has
// returned.
type Handler interface {
	Ready(events uint32)
}

// Reg is one socket's registration (a value: registering allocates
// nothing).
type Reg struct {
	p    *Poller
	slot int32
	gen  int32
}

// ErrUnsupported is Default's error where there is no epoll.
var ErrUnsupported = errors.New("poller: not supported on this system")
