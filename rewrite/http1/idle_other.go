//go:build !linux

package http1

// Without the poller a connection never parks (NoWait stays off), so
// its reads wait as always.

func (c *Conn) readSocket(uintptr) bool {
	c.tryErr = ErrWouldBlock
	return true
}

func (c *Conn) socketReadable() bool { return true }

func (c *Conn) peekSocket(uintptr) {}
