//go:build unix

package mail

import (
	"net"
	"os"
	"syscall"
)

// writeEvents is the client's socket with its writes made as nginx's
// are: what the socket takes now, then a wait until it is writable
// again. Each such wake-up is nginx's write event on the client
// connection, which runs ngx_mail_proxy_handler and so re-arms
// proxy_timeout (set: writable): a client that takes a long download
// slowly does not time out while it takes it; one that only reads what
// the backend sends, without its socket ever filling, does.
type writeEvents struct {
	net.Conn
	raw      syscall.RawConn
	writable func() // while proxying; nil: plain writes
}

// newWriteEvents wraps nc, a socket, or returns nil.
func newWriteEvents(nc net.Conn) *writeEvents {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &writeEvents{Conn: nc, raw: raw}
}

func (w *writeEvents) Write(p []byte) (int, error) {
	if w.writable == nil {
		return w.Conn.Write(p)
	}
	n, waited := 0, false
	var werr error
	err := w.raw.Write(func(fd uintptr) bool {
		if waited {
			w.writable() // the socket took bytes after a wait: an event
		}
		for n < len(p) {
			m, err := syscall.Write(int(fd), p[n:])
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				waited = true
				return false
			case err != nil:
				werr = os.NewSyscallError("write", err)
				return true
			}
			n += m
		}
		return true
	})
	if werr != nil {
		err = werr
	}
	return n, err
}
