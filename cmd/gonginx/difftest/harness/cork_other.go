//go:build !linux

package harness

import "net"

// cork: TCP_CORK is Linux's; elsewhere the bytes leave as written.
func cork(net.Conn) {}
