// Package resolver is nginx's DNS resolver (the "resolver" directive):
// names known only per request, such as proxy_pass http://$host, are
// looked up at run time on the configured name servers, as
// src/core/ngx_resolver.c does it: A and AAAA queries over UDP (TCP when
// an answer is truncated), a resend every 5 seconds rotating through the
// servers until resolver_timeout, CNAMEs followed, answers cached for
// their TTL (or valid=), failures not cached.
//
// It owns no goroutine: a lookup runs in the caller's, and callers asking
// for a name already being looked up wait for that answer.
package resolver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config is a "resolver" directive with its resolver_timeout.
type Config struct {
	Servers []netip.AddrPort
	Valid   time.Duration // valid=: replaces the answers' TTL when set
	NoIPv6  bool          // ipv6=off
	// Number, when set, draws a connection number ($connection's
	// counter), as nginx's resolver does for the UDP socket it opens to
	// a name server at its first query and keeps (ngx_udp_connect), and
	// for each TCP connection (ngx_tcp_connect).
	Number func()
}

// Error is a name that could not be resolved, worded as nginx logs it.
type Error struct {
	Name string
	Code int
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s could not be resolved (%d: %s)", e.Name, e.Code, strerror(e.Code))
}

const (
	resendTimeout = 5 * time.Second // ngx_resolver_t's resend_timeout
	maxRecursion  = 50              // NGX_RESOLVER_MAX_RECURSION: CNAME hops
	maxCached     = 4096
)

// Resolver looks names up and caches the answers. Safe for concurrent use.
type Resolver struct {
	cfg Config

	mu    sync.Mutex
	cache map[string]*node
	next  int // the server asked first, moved on at every resend

	resend time.Duration // resendTimeout; shorter in tests

	stop     chan struct{} // closed by Stop
	stopOnce sync.Once
	conns    map[net.Conn]struct{} // sockets of lookups in flight, for Stop
	// asked: the name servers nginx would hold a UDP socket to (Number)
	asked map[netip.AddrPort]bool
}

// ErrStopped is what lookups in flight, and later ones, return once the
// resolver is stopped (the server is stopping).
var ErrStopped = errors.New("resolver stopped")

// codeStopped marks a node whose lookup Stop ended.
const codeStopped = -1

// node is one name's lookup: in flight until done is closed.
type node struct {
	done  chan struct{}
	addrs []netip.Addr // IPv4 first, then IPv6
	cname string
	valid time.Time
	code  int
}

// New returns a resolver for cfg.
func New(cfg Config) *Resolver {
	return &Resolver{cfg: cfg, cache: map[string]*node{}, resend: resendTimeout,
		stop: make(chan struct{}), conns: map[net.Conn]struct{}{}}
}

// Stop ends every lookup in flight at once and makes later ones fail, as
// a worker that is told to stop does not wait for name servers.
func (r *Resolver) Stop() {
	r.stopOnce.Do(func() {
		close(r.stop)
		r.mu.Lock()
		for c := range r.conns {
			c.Close()
		}
		r.mu.Unlock()
	})
}

// track registers a lookup's socket so that Stop can close it; false when
// the resolver is already stopped.
func (r *Resolver) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.stop:
		return false
	default:
	}
	r.conns[c] = struct{}{}
	return true
}

// dial connects to a name server, registered for Stop; nil when that
// fails or the resolver is stopped.
func (r *Resolver) dial(network string, server netip.AddrPort, deadline time.Time) net.Conn {
	if r.cfg.Number != nil {
		r.mu.Lock()
		first := network == "tcp" || !r.asked[server]
		if first && network == "udp" {
			if r.asked == nil {
				r.asked = map[netip.AddrPort]bool{}
			}
			r.asked[server] = true
		}
		r.mu.Unlock()
		if first {
			r.cfg.Number()
		}
	}
	d := net.Dialer{Deadline: deadline}
	conn, err := d.Dial(network, server.String())
	if err != nil {
		return nil
	}
	if !r.track(conn) {
		conn.Close()
		return nil
	}
	return conn
}

func (r *Resolver) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	c.Close()
}

// Resolve returns name's addresses, following CNAMEs, giving up after
// timeout (the location's resolver_timeout). A cached answer comes
// rotated, so that successive requests start on different addresses, as
// ngx_resolver_export does for cached names.
func (r *Resolver) Resolve(name string, timeout time.Duration) ([]netip.Addr, error) {
	deadline := time.Now().Add(timeout)
	key := strings.ToLower(strings.TrimSuffix(name, "."))
	for range maxRecursion + 1 {
		n, cached := r.lookup(key, deadline)
		switch {
		case n.code == codeStopped:
			return nil, ErrStopped
		case n.code != 0:
			return nil, &Error{Name: name, Code: n.code}
		case len(n.addrs) > 0:
			if !cached || len(n.addrs) == 1 {
				return n.addrs, nil
			}
			return rotate(n.addrs), nil
		}
		key = n.cname
	}
	return nil, &Error{Name: name, Code: codeNXDomain}
}

// lookup returns key's node once it is done, from the cache when it is
// still valid; cached tells which.
func (r *Resolver) lookup(key string, deadline time.Time) (n *node, cached bool) {
	return r.lookupWith(key, deadline, func(n *node) { r.query(key, n, deadline) })
}

// lookupWith is lookup with the query that fills a new node.
func (r *Resolver) lookupWith(key string, deadline time.Time, query func(n *node)) (n *node, cached bool) {
	r.mu.Lock()
	if n := r.cache[key]; n != nil {
		select {
		case <-n.done:
			if n.code == 0 && time.Now().Before(n.valid) {
				r.mu.Unlock()
				return n, true
			}
		default:
			r.mu.Unlock()
			return r.wait(n, deadline), false
		}
	}
	if len(r.cache) >= maxCached {
		r.dropExpired()
	}
	n = &node{done: make(chan struct{})}
	r.cache[key] = n
	r.mu.Unlock()

	query(n)
	r.mu.Lock()
	if n.code != 0 || len(r.cache) > maxCached {
		delete(r.cache, key)
	}
	r.mu.Unlock()
	close(n.done)
	return n, false
}

// wait waits for another caller's lookup, up to this caller's deadline.
func (r *Resolver) wait(n *node, deadline time.Time) *node {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-n.done:
		return n
	case <-t.C:
		return &node{code: codeTimedOut}
	case <-r.stop:
		return &node{code: codeStopped}
	}
}

func (r *Resolver) dropExpired() {
	now := time.Now()
	for k, n := range r.cache {
		select {
		case <-n.done:
			if !now.Before(n.valid) {
				delete(r.cache, k)
			}
		default:
		}
	}
}

func rotate(addrs []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(addrs))
	// Each family is rotated on its own, IPv4 still first.
	v4 := 0
	for v4 < len(addrs) && addrs[v4].Is4() {
		v4++
	}
	for _, fam := range [][]netip.Addr{addrs[:v4], addrs[v4:]} {
		if len(fam) == 0 {
			continue
		}
		d := rand.IntN(len(fam))
		out = append(out, fam[d:]...)
		out = append(out, fam[:d]...)
	}
	return out
}

// query asks the servers for key's A (and AAAA) records and fills n.
func (r *Resolver) query(key string, n *node, deadline time.Time) {
	if len(r.cfg.Servers) == 0 {
		n.code = codeTimedOut
		return
	}
	qtypes := []uint16{typeA, typeAAAA}
	if r.cfg.NoIPv6 {
		qtypes = qtypes[:1]
	}
	var arrived []*answer // in the order they came
	for time.Now().Before(deadline) {
		select {
		case <-r.stop:
			n.code = codeStopped
			return
		default:
		}
		r.mu.Lock()
		server := r.cfg.Servers[r.next%len(r.cfg.Servers)]
		r.next++
		r.mu.Unlock()
		var pending []uint16
		for _, qt := range qtypes {
			if !slices.ContainsFunc(arrived, func(a *answer) bool { return a.qtype == qt }) {
				pending = append(pending, qt)
			}
		}
		attempt := time.Now().Add(r.resend)
		if attempt.After(deadline) {
			attempt = deadline
		}
		arrived = append(arrived, r.askUDP(server, key, pending, attempt)...)
		if len(arrived) == len(qtypes) {
			combine(n, arrived, r.cfg.Valid)
			return
		}
		select {
		case <-r.stop:
		case <-time.After(time.Until(attempt)):
		}
	}
	n.code = codeTimedOut
}

// combine turns the answers, in the order they came, into the node's
// result as ngx_resolver_process_a does once both families are in: an
// error in either is the result (the later one's code); else the
// addresses of both; else the last answer decides: empty is "Host not
// found", a CNAME is followed.
func combine(n *node, arrived []*answer, valid time.Duration) {
	ttl := ^uint32(0)
	for _, a := range arrived {
		if a.code != 0 {
			n.code = a.code
		}
		if len(a.addrs) > 0 {
			ttl = min(ttl, a.ttl)
		}
	}
	if n.code != 0 {
		return
	}
	for _, qt := range []uint16{typeA, typeAAAA} {
		for _, a := range arrived {
			if a.qtype == qt {
				n.addrs = append(n.addrs, a.addrs...)
			}
		}
	}
	if last := arrived[len(arrived)-1]; len(n.addrs) == 0 {
		if last.records == 0 || last.cname == "" {
			n.code = codeNXDomain
			return
		}
		n.cname, ttl = last.cname, last.ttl
	}
	n.valid = time.Now().Add(time.Duration(ttl) * time.Second)
	if valid > 0 {
		n.valid = time.Now().Add(valid)
	}
}

// askUDP sends one query per type to server and collects the answers that
// arrive by the deadline; a truncated one is asked again over TCP.
func (r *Resolver) askUDP(server netip.AddrPort, name string, qtypes []uint16, deadline time.Time) []*answer {
	conn := r.dial("udp", server, deadline)
	if conn == nil {
		return nil
	}
	defer r.untrack(conn)
	ids := map[uint16]uint16{} // query id → type
	for _, qt := range qtypes {
		id := uint16(rand.Uint32())
		ids[id] = qt
		if _, err := conn.Write(appendQuery(nil, id, name, qt)); err != nil {
			return nil
		}
	}
	conn.SetReadDeadline(deadline)
	var out []*answer
	buf := make([]byte, 4096) // NGX_RESOLVER_UDP_SIZE
	for len(ids) > 0 {
		m, err := conn.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
				break
			}
			continue // ICMP refusals and the like: wait for the resend
		}
		a, err := parseResponse(buf[:m])
		if err != nil || a.qname != name || ids[a.id] != a.qtype {
			continue
		}
		delete(ids, a.id)
		if a.truncated {
			if a = r.askTCP(server, name, a.qtype, deadline); a == nil {
				continue
			}
		}
		if a.code == 0 && len(a.addrs) == 0 && a.cname == "" && a.records > 0 {
			continue // "no A or CNAME types in DNS response": not an answer
		}
		out = append(out, a)
	}
	return out
}

func (r *Resolver) askTCP(server netip.AddrPort, name string, qtype uint16, deadline time.Time) *answer {
	conn := r.dial("tcp", server, deadline)
	if conn == nil {
		return nil
	}
	defer r.untrack(conn)
	conn.SetDeadline(deadline)
	id := uint16(rand.Uint32())
	q := appendQuery([]byte{0, 0}, id, name, qtype)
	binary.BigEndian.PutUint16(q, uint16(len(q)-2))
	if _, err := conn.Write(q); err != nil {
		return nil
	}
	var size [2]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return nil
	}
	msg := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(conn, msg); err != nil {
		return nil
	}
	a, err := parseResponse(msg)
	if err != nil || a.id != id || a.qtype != qtype || a.qname != name || a.truncated {
		return nil
	}
	return a
}
