// Package freelist keeps spare records of one type for reuse, as nginx
// takes a connection from its free list (ngx_get_connection) instead of
// allocating one. It owns only the stack of spares: what a record is
// cleared of before it goes back is its owner's.
//
// A List is a bounded stack under a mutex. A sync.Pool's Get and Put
// took ~80 instructions each where a connection's records are several
// at once (its private slot holds one, the others go through the shared
// dequeue's atomics), five of each per WebSocket connection; a List's
// are an uncontended lock, a push or pop and an unlock, ~25. Unlike a
// sync.Pool's, its records outlive collections: at most its bound stay,
// what a burst of that many connections at once left.
package freelist

import "sync"

// List is a stack of at most len(items) spare *T. Make one with New.
type List[T any] struct {
	mu sync.Mutex
	n  int // items[:n] are the spares
	// items is made whole by New: a push or pop moves n, not the
	// slice's header (three words stored, a pointer's with its write
	// barrier check).
	items []*T
}

// New makes a List that keeps at most max records.
func New[T any](max int) *List[T] {
	return &List[T]{items: make([]*T, max)}
}

// Get takes a spare record, the last one put; nil when there is none
// (the caller makes one).
func (l *List[T]) Get() *T {
	l.mu.Lock()
	if l.n == 0 {
		l.mu.Unlock()
		return nil
	}
	l.n--
	x := l.items[l.n]
	l.items[l.n] = nil
	l.mu.Unlock()
	return x
}

// Put keeps x for a later Get, or leaves it to the collector when the
// list is full. x must not be used after.
func (l *List[T]) Put(x *T) {
	l.mu.Lock()
	if l.n < len(l.items) {
		l.items[l.n] = x
		l.n++
	}
	l.mu.Unlock()
}

// Len is how many records the list keeps.
func (l *List[T]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}
