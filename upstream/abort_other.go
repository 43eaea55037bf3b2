//go:build !linux

package upstream

import (
	"net"
	"syscall"

	"github.com/gonginx/gonginx/upstream/poller"
)

// brokenConns watches nothing here: a client's hang-up is noticed when
// the response is written, as with proxy_ignore_client_abort on.
var brokenConns watcher

type watcher struct{}

func (watcher) watch(syscall.RawConn, net.Conn, net.Conn, bool) *clientWatch { return nil }
func (watcher) unwatch(*clientWatch) bool                                    { return false }
func (watcher) rewatch(*clientWatch, net.Conn)                               {}
func (watcher) forget(syscall.RawConn, net.Conn)                             {}
func (watcher) forgetIdle(syscall.RawConn, net.Conn)                         {}
func (watcher) count() int                                                   { return 0 }
func (watcher) settle()                                                      {}
func (watcher) settleConn(*clientWatch)                                      {}
func (watcher) watchInput(syscall.RawConn, net.Conn, poller.Handler) bool    { return false }
func (watcher) stopInput(syscall.RawConn, net.Conn, poller.Handler)          {}

func (watcher) handOver(syscall.RawConn, net.Conn, poller.Handler) (poller.Reg, bool, bool) {
	return poller.Reg{}, false, false
}

// sockErr: no watch here, so no hang-up to word.
func (w *clientWatch) sockErr() error { return nil }

// TerminateRequests: no request is watched here; the unwatched ones end.
func TerminateRequests(ends func(int) bool) { terminateUnwatched(ends) }
