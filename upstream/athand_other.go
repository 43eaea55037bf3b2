//go:build !linux

package upstream

import (
	"net"
	"syscall"
)

// atHand cannot peek here: a read is taken to return at once.
func atHand(net.Conn) bool { return true }

// idleClosed cannot peek here: a closed connection is found when used.
func idleClosed(int) bool { return false }

// connFD: no socket is peeked at here.
func connFD(net.Conn) int { return -1 }

// pendingInput cannot peek here: nothing is waited for.
func pendingInput(net.Conn) bool { return false }

// clientBlocked cannot poll here: a full buffer is taken as a blocked
// client.
func clientBlocked(int) bool { return true }

// streamFD: no socket is polled here.
func streamFD(syscall.RawConn) int { return -1 }

// inputReady cannot peek here: what was read is passed on at once.
func inputReady(int) bool { return false }
