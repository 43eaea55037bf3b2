package location

import (
	"crypto/rand"
	"crypto/tls"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// Session resumption without tickets. nginx with "ssl_session_tickets
// off" and an ssl_session_cache resumes TLS 1.2 sessions by session ID
// and TLS 1.3 ones by stateful tickets (an ID into the cache). crypto/tls
// cannot resume by session ID: its ServerHello of a full handshake
// carries an empty session ID, so a client has none to offer, and its
// resumption reads only the session_ticket extension. So a cached
// session is resumed by a ticket that is nothing but its cache key, as
// OpenSSL's TLS 1.3 stateful tickets are: the secret stays in the
// server's cache, which ssl_session_timeout and the cache's size bound;
// "none" and "off" resume nothing. What differs on the wire in TLS 1.2:
// a NewSessionTicket message where OpenSSL sends a session ID.

// sessionCache is an ssl_session_cache: builtin (one per SSL context,
// counted in sessions) or shared (by name, counted in bytes).
type sessionCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]cachedSession
	order   []string // oldest first, for eviction
}

type cachedSession struct {
	state   []byte // tls.SessionState.Bytes
	created int64  // unix seconds
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, entries: map[string]cachedSession{}}
}

func (c *sessionCache) put(id string, state []byte, now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.entries) >= c.max && len(c.order) > 0 {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	c.entries[id] = cachedSession{state: state, created: now}
	c.order = append(c.order, id)
}

func (c *sessionCache) get(id string) (cachedSession, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.entries[id]
	return s, ok
}

// sessionCacheConf is ssl_session_cache parsed: the builtin cache's size
// (0: none) and the shared zone's name and size.
type sessionCacheConf struct {
	builtin    int
	sharedName string
	sharedSize int
}

// parseSessionCache reads ssl_session_cache's parameters ("off" and
// "none" keep no sessions; -t has checked the syntax).
func parseSessionCache(d *nginxconf.Directive) sessionCacheConf {
	var sc sessionCacheConf
	for _, a := range d.Args {
		switch {
		case a == "builtin":
			sc.builtin = 20480 // OpenSSL's SSL_SESSION_CACHE_MAX_SIZE_DEFAULT
		case strings.HasPrefix(a, "builtin:"):
			sc.builtin, _ = strconv.Atoi(a[len("builtin:"):])
		case strings.HasPrefix(a, "shared:"):
			name, size, _ := strings.Cut(a[len("shared:"):], ":")
			n, _ := nginxconf.ParseSize(size)
			sc.sharedName, sc.sharedSize = name, int(n)
		}
	}
	return sc
}

// sessionZones are the shared session caches by zone name.
type sessionZones map[string]*sessionCache

func (zs *sessionZones) zone(name string, size int) *sessionCache {
	if *zs == nil {
		*zs = sessionZones{}
	}
	if c := (*zs)[name]; c != nil {
		return c
	}
	// About 4000 sessions a megabyte, as nginx's zone holds.
	c := newSessionCache(max(size/256, 1))
	(*zs)[name] = c
	return c
}

// storeSessions makes the handshake's sessions resumable through the
// cache: a new session is stored under a random ID, which is the ticket;
// a ticket is looked up, and too old a session is not resumed.
func (t *tlsServer) storeSessions(cfg *tls.Config, cache *sessionCache, info *tlsInfo) {
	timeout := t.ssl.SessionTimeout
	cfg.WrapSession = func(_ tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		state, err := ss.Bytes()
		if err != nil {
			return nil, err
		}
		var id [32]byte
		rand.Read(id[:])
		cache.put(string(id[:]), state, sessionCreatedAt(state))
		if info != nil && !info.resumed {
			info.sessionID, info.sessionIDSet = id, true
		}
		return id[:], nil
	}
	cfg.UnwrapSession = func(identity []byte, _ tls.ConnectionState) (*tls.SessionState, error) {
		s, ok := cache.get(string(identity))
		if !ok || sessionExpired(s.created, time.Now().Unix(), timeout) {
			return nil, nil
		}
		ss, err := tls.ParseSessionState(s.state)
		if err != nil {
			return nil, nil
		}
		if info != nil {
			info.resumed, info.sessionIDSet = true, true
			copy(info.sessionID[:], identity)
		}
		return ss, nil
	}
}
