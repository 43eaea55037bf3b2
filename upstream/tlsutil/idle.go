package tlsutil

import (
	"bytes"
	"crypto/tls"
	"reflect"
	"sync"
	"unsafe"
)

// tls.Conn keeps its record input (rawInput, a bytes.Buffer), the
// plaintext reader over it (input) and its handshake buffer (hand) at
// the capacity they grew to: about 3.5 KB per connection after a
// handshake and a request, held by every idle keep-alive connection.
// OpenSSL under nginx (SSL_MODE_RELEASE_BUFFERS) frees its read and
// write buffers while a connection has nothing to read; ReleaseBuffers
// does the same for a tls.Conn. crypto/tls has no call for it, so the
// fields are found by name and type: a Go whose tls.Conn differs makes
// ReleaseBuffers report false and leave the connection as it is.
var idleFields = func() (f struct {
	in, rawInput, input, hand uintptr
	ok                        bool
}) {
	t := reflect.TypeFor[tls.Conn]()
	buf, rd := reflect.TypeFor[bytes.Buffer](), reflect.TypeFor[bytes.Reader]()
	in, ok1 := t.FieldByName("in")
	raw, ok2 := t.FieldByName("rawInput")
	input, ok3 := t.FieldByName("input")
	hand, ok4 := t.FieldByName("hand")
	if !ok1 || !ok2 || !ok3 || !ok4 || raw.Type != buf || hand.Type != buf || input.Type != rd ||
		in.Type.Kind() != reflect.Struct || in.Type.NumField() == 0 {
		return f
	}
	// The input half's lock, which every read of these fields holds:
	// halfConn embeds its sync.Mutex first.
	if mu := in.Type.Field(0); !mu.Anonymous || mu.Type != reflect.TypeFor[sync.Mutex]() || mu.Offset != 0 {
		return f
	}
	f.in, f.rawInput, f.input, f.hand, f.ok = in.Offset, raw.Offset, input.Offset, hand.Offset, true
	return f
}()

// ReleaseBuffers drops t's input and handshake buffers when nothing is
// in them (an idle connection's, between requests): the next read makes
// them again. It reports whether it could look: false for a tls.Conn
// whose fields it does not know, or one being read (a reader holds the
// input's lock while it waits). A buffer holding bytes is kept.
func ReleaseBuffers(t *tls.Conn) bool {
	f := &idleFields
	if !f.ok || t == nil {
		return false
	}
	p := unsafe.Pointer(t)
	mu := (*sync.Mutex)(unsafe.Add(p, f.in))
	raw := (*bytes.Buffer)(unsafe.Add(p, f.rawInput))
	input := (*bytes.Reader)(unsafe.Add(p, f.input))
	hand := (*bytes.Buffer)(unsafe.Add(p, f.hand))
	if !mu.TryLock() {
		return false
	}
	// input reads from rawInput's array: both go together.
	if raw.Len() == 0 && input.Len() == 0 {
		*raw, *input = bytes.Buffer{}, bytes.Reader{}
	}
	if hand.Len() == 0 {
		*hand = bytes.Buffer{}
	}
	mu.Unlock()
	return true
}

// BufferCaps reports the capacity t's input and handshake buffers hold
// (tests).
func BufferCaps(t *tls.Conn) (rawInput, hand int) {
	f := &idleFields
	if !f.ok {
		return -1, -1
	}
	p := unsafe.Pointer(t)
	mu := (*sync.Mutex)(unsafe.Add(p, f.in))
	mu.Lock()
	defer mu.Unlock()
	return (*bytes.Buffer)(unsafe.Add(p, f.rawInput)).Cap(), (*bytes.Buffer)(unsafe.Add(p, f.hand)).Cap()
}
