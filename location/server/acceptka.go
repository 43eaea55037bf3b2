package server

import (
	"net"
	"os"
	"reflect"
	"unsafe"
)

// FileListener is net.FileListener for a listening socket inherited from
// the master process, whose accepted connections keep the listening
// socket's keep-alive as nginx's do (see acceptsInherited).
func FileListener(f *os.File) (net.Listener, error) {
	ln, err := net.FileListener(f)
	if err == nil {
		acceptsInherited(ln)
	}
	return ln, err
}

// acceptsInherited makes ln's Accept leave an accepted connection's TCP
// keep-alive as the kernel gives it: the listening socket's, which
// nginx's connections have (so_keepalive is set on the listening socket
// only). Go's accept otherwise turns keep-alive on (15 s) with four
// setsockopt calls per connection, unless the listener's ListenConfig
// says KeepAlive: -1, which a listener made by net.FileListener cannot
// say. The field is found by name and type, so a Go whose TCPListener
// differs makes this report false (the caller then undoes Go's
// keep-alive per connection, as before).
func acceptsInherited(ln net.Listener) bool {
	tl, ok := ln.(*net.TCPListener)
	if !ok || tl == nil {
		return false
	}
	f := reflect.ValueOf(tl).Elem().FieldByName("lc")
	if !f.IsValid() || f.Type() != reflect.TypeFor[net.ListenConfig]() {
		return false
	}
	lc := (*net.ListenConfig)(unsafe.Pointer(f.UnsafeAddr()))
	lc.KeepAlive = -1
	lc.KeepAliveConfig = net.KeepAliveConfig{}
	return true
}
