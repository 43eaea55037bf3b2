//go:build !linux

package upstream

import "net"

// atHand cannot peek here: a read is taken to return at once.
func atHand(net.Conn) bool { return true }

// idleClosed cannot peek here: a closed connection is found when used.
func idleClosed(int) bool { return false }

// connFD: no socket is peeked at here.
func connFD(net.Conn) int { return -1 }

// pendingInput cannot peek here: nothing is waited for.
func pendingInput(net.Conn) bool { return false }
