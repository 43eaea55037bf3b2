//go:build !linux

package harness

// listenersOwned: without /proc the readiness dial alone decides.
func listenersOwned(pgid, port int) bool { return true }
