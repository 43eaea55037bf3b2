package location

import (
	"net"
	"sync"
)

// Listening is one listening socket of a ListenerSet: Start runs its
// accept loop, Close stops it (its sessions run on).
type Listening interface {
	Start()
	Close()
}

// ListenerSet holds a stream{} or mail{} server's listening sockets by
// Listen.Key, so that a reload keeps the sockets still configured (their
// accept loops and sessions run on), opens the new ones and closes the
// gone ones, as nginx's ngx_init_cycle keeps the old cycle's listening
// sockets. Its owner serializes the calls.
type ListenerSet[L Listening] struct {
	byKey map[string]L
	held  []L // opened before Serve
	hold  bool
}

// NewListenerSet returns an empty set; with hold, the listeners opened
// wait for Serve to start accepting.
func NewListenerSet[L Listening](hold bool) *ListenerSet[L] {
	return &ListenerSet[L]{byKey: map[string]L{}, hold: hold}
}

// Update makes keys the set's sockets. A key already in the set keeps
// its listener; the others are opened by open(i). When one fails, those
// this call opened are closed, the set is unchanged and the error is
// returned. Otherwise bind is given the listener of every key (in keys'
// order) before the new ones start and the ones whose key is gone close.
func (ls *ListenerSet[L]) Update(keys []string, open func(i int) (L, error), bind func(all []L)) error {
	all := make([]L, len(keys))
	var opened []L
	for i, key := range keys {
		if l, ok := ls.byKey[key]; ok {
			all[i] = l
			continue
		}
		l, err := open(i)
		if err != nil {
			for _, l := range opened {
				l.Close()
			}
			return err
		}
		all[i] = l
		opened = append(opened, l)
	}
	bind(all)
	keep := make(map[string]bool, len(keys))
	for i, key := range keys {
		keep[key] = true
		if _, ok := ls.byKey[key]; !ok {
			ls.byKey[key] = all[i]
			ls.start(all[i])
		}
	}
	for key, l := range ls.byKey {
		if !keep[key] {
			l.Close()
			delete(ls.byKey, key)
		}
	}
	return nil
}

func (ls *ListenerSet[L]) start(l L) {
	if ls.hold {
		ls.held = append(ls.held, l)
		return
	}
	l.Start()
}

// Serve starts the listeners held since NewListenerSet.
func (ls *ListenerSet[L]) Serve() {
	ls.hold = false
	for _, l := range ls.held {
		l.Start()
	}
	ls.held = nil
}

// CloseAll closes every listener (a stop: sessions run on).
func (ls *ListenerSet[L]) CloseAll() {
	for key, l := range ls.byKey {
		l.Close()
		delete(ls.byKey, key)
	}
}

// ConnSet is the connections of a stream{} or mail{} server that a stop
// closes at once (sessions not handed to a tunnel set of their own).
type ConnSet struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Track adds nc (on) or removes it.
func (s *ConnSet) Track(nc net.Conn, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !on {
		delete(s.conns, nc)
		return
	}
	if s.conns == nil {
		s.conns = map[net.Conn]struct{}{}
	}
	s.conns[nc] = struct{}{}
}

// CloseAll closes every tracked connection (their sessions end and
// remove them).
func (s *ConnSet) CloseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for nc := range s.conns {
		nc.Close()
	}
}
