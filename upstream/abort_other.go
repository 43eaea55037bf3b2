//go:build !linux

package upstream

// brokenConns watches nothing here: a client's hang-up is noticed when
// the response is written, as with proxy_ignore_client_abort on.
var brokenConns watcher

type watcher struct{}

func (watcher) add(*clientWatch) bool { return false }
func (watcher) remove(*clientWatch)   {}
func (watcher) settle()               {}
