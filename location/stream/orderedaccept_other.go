//go:build !linux

package stream

// orderedAccept needs the process poller (Linux): the accept loop runs.
func (l *listener) orderedAccept() bool { return false }
