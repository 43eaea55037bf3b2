//go:build !linux

package upstream

import "net"

// atHand cannot peek here: a read is taken to return at once.
func atHand(net.Conn) bool { return true }

// idleClosed cannot peek here: a closed connection is found when used.
func idleClosed(net.Conn) bool { return false }
