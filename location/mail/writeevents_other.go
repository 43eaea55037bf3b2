//go:build !unix

package mail

import "net"

// writeEvents: no raw socket writes here; a client's proxy_timeout is
// re-armed by its reads only.
type writeEvents struct {
	net.Conn
	writable func()
}

func newWriteEvents(net.Conn) *writeEvents { return nil }
