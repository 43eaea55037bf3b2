package upstream

import (
	"bytes"
	"crypto/md5"
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream/filecache"
	"github.com/gonginx/gonginx/upstream/poller"
)

// This file is the proxy cache on the request's way, as
// ngx_http_upstream_cache and its callers: the lookup before the backend
// is asked, what the backend's head makes cacheable, the body written to
// the cache file while it is relayed, and the answer from a cache file
// (a hit, a stale entry, a revalidated one).

// Cache states, as $upstream_cache_status words them.
const (
	cacheMiss        = "MISS"
	cacheBypass      = "BYPASS"
	cacheExpired     = "EXPIRED"
	cacheStale       = "STALE"
	cacheUpdating    = "UPDATING"
	cacheRevalidated = "REVALIDATED"
	cacheHit         = "HIT"
)

// Sentinels exchange returns to Serve for an answer from the cache file.
const (
	statusServeStale  = -1 // proxy_cache_use_stale for the backend's status
	statusRevalidated = -2 // a 304 to the revalidation of an expired entry
)

// cacheReq is one request's cache state.
type cacheReq struct {
	conf      *cacheConf
	zone      *filecache.Zone
	keyText   []byte
	main, key filecache.Key // the key's and the one in use (the Vary variant's)
	secondary bool          // key is a Vary variant
	status    string
	cacheable bool // the response may be stored (u->cacheable)
	// convHead: a HEAD goes to the backend as GET (proxy_cache_convert_head,
	// nginx's u->method), set once a zone is chosen and kept when the key
	// then leaves the cache.
	convHead bool
	entry    filecache.Entry
	hasEntry bool // entry is an expired file kept for stale or revalidation
	updating bool // this request holds the key's updating mark
	lastFT   ftMask
	expect   int64 // the body's length the head announced; -1: none
	// background: this is the fetch of a background update (nginx's
	// r->background); bgPending: the stale entry was sent and that fetch
	// follows.
	background, bgPending bool
	// From the backend's head: nginx's r->cache fields.
	validSec, updatingSec, errorSec int64
	vary                            []byte
	meta                            filecache.Meta
	head                            []byte
	headIndex                       []byte             // head's index (cachehead.go)
	indexHead                       http1.ResponseHead // head parsed for its index
	w                               filecache.Writer
	// tempFail: the cache file could not be made in the temporary path
	// (use_temp_path): the body's first bytes fail with it, as nginx's
	// event pipe fails to write its first buffer there.
	tempFail   error
	tee        teeStream
	variantBuf []byte
	revHead    http1.ResponseHead // the cached head, read for a revalidation
}

var cacheReqPool = sync.Pool{New: func() any { return &cacheReq{entry: filecache.Entry{Fd: -1}} }}

// teeStream writes the relayed body to the cache file too.
type teeStream struct {
	http1.Stream
	w *filecache.Writer
}

func (t *teeStream) Write(p []byte) (int, error) {
	t.w.Write(p)
	return t.Stream.Write(p)
}

// Serve proxies the current request of c (see serveUpstream), through
// the location's cache when it has one.
func (p *Proxy) Serve(c http1.Stream, s *rewrite.State, locPrefix string) (status int, err error) {
	if p.cache == nil {
		return p.serveUpstream(c, s, locPrefix, nil)
	}
	if s.CacheBackgroundRun {
		// Queued by a subrequest: a request of its own, whose log line
		// (log_subrequest) has the update's values.
		p.backgroundUpdate(c, s, s, locPrefix)
		return 0, nil
	}
	cr := cacheReqPool.Get().(*cacheReq)
	defer func() {
		cr.end()
		cacheReqPool.Put(cr)
	}()
	cr.reset(p.cache)
	status, err = p.serveUpstream(c, s, locPrefix, cr)
	if cr.bgPending {
		// The update is nginx's background subrequest, which shares the
		// request's cache: the key stays marked updating until it ran,
		// so requests meanwhile get UPDATING and fetch nothing.
		zone, key, held := cr.zone, cr.key, cr.updating
		cr.updating = false
		cr.end()
		// A subrequest's update waits for the main response: the page
		// goes on (proxy_cache_use_stale.t "not blocked in subrequest").
		if !held {
			zone = nil
		}
		if s.CacheBackground == nil || !s.CacheBackground.QueueBackgroundUpdate(updateDone(zone, key)) {
			p.backgroundUpdate(c, s, nil, locPrefix)
			if zone != nil {
				zone.Done(key)
			}
		}
		return status, err
	}
	switch {
	case status == statusServeStale:
		cr.status = cacheStale
		s.CacheStatus = cr.status
		return p.sendCachedAfter(c, s, cr, locPrefix)
	case status == statusRevalidated:
		cr.status = cacheRevalidated
		s.CacheStatus = cr.status
		return p.sendCachedAfter(c, s, cr, locPrefix)
	case status > 0 && cr.hasEntry && cr.status == cacheExpired && !c.HeaderWritten() && p.staleOnError(cr):
		// ngx_http_upstream_next: no server left, and the entry may be
		// served stale for this failure.
		cr.status = cacheStale
		s.CacheStatus = cr.status
		return p.sendCachedAfter(c, s, cr, locPrefix)
	}
	return status, err
}

// updateDone ends the updating mark on key a queued background update
// inherits, once it ran (nil zone: none held).
func updateDone(zone *filecache.Zone, key filecache.Key) func() {
	if zone == nil {
		return func() {}
	}
	return func() { zone.Done(key) }
}

func (cr *cacheReq) reset(cc *cacheConf) {
	cr.conf, cr.zone, cr.status, cr.cacheable, cr.hasEntry, cr.updating, cr.lastFT, cr.secondary = cc, nil, "", false, false, false, 0, false
	cr.background, cr.bgPending, cr.convHead, cr.tempFail = false, false, false, nil
}

// backgroundUpdate fetches the entry a stale answer was sent from, as
// nginx's background subrequest: once the client has the response, the
// request goes to the backend again, its answer stored and dropped. It
// runs on own, the state of a request of its own, or (nil) on copies of
// the request's state s, so the client's log line keeps the main
// request's values.
func (p *Proxy) backgroundUpdate(c http1.Stream, s, own *rewrite.State, locPrefix string) {
	cr := cacheReqPool.Get().(*cacheReq)
	defer cacheReqPool.Put(cr)
	cr.reset(p.cache)
	cr.background = true
	if own == nil {
		bs := *s
		bs.UpstreamTries, bs.UpstreamName.URI, bs.Buf, bs.CacheETag, bs.SentTrailers = nil, nil, nil, nil, nil
		bs.Conn = nil
		// Not the connection's kept exchange: two States holding one
		// record could give it back to its pool twice.
		bs.Kept = nil
		own = &bs
	}
	ds := &discardStream{Stream: c}
	p.serveUpstream(ds, own, locPrefix, cr)
	cr.end()
}

// discardStream is the client side of a background update: the head and
// body go nowhere.
type discardStream struct {
	http1.Stream
	wrote bool
}

func (d *discardStream) WriteHeader(*http1.Response) error { d.wrote = true; return nil }
func (d *discardStream) HeaderWritten() bool               { return d.wrote }
func (d *discardStream) Write(p []byte) (int, error)       { return len(p), nil }
func (d *discardStream) WriteOut(p []byte) (int, error)    { return len(p), nil }
func (d *discardStream) Flush() error                      { return nil }
func (d *discardStream) FlushOut() error                   { return nil }
func (d *discardStream) Finish() error                     { return nil }
func (d *discardStream) Abort()                            {}
func (d *discardStream) Discard()                          {}
func (d *discardStream) Hijacked() bool                    { return false }
func (d *discardStream) Socket() (syscall.RawConn, net.Conn) {
	return nil, nil
}
func (d *discardStream) SetLimitRate(int64, bool) {}
func (d *discardStream) AddSent(int64)            {}

// staleOnError reports whether a failed request serves the expired entry
// (proxy_cache_use_stale, or the entry's stale-if-error time).
func (p *Proxy) staleOnError(cr *cacheReq) bool {
	ft := cr.lastFT
	if ft == 0 {
		ft = ftError
	}
	if p.cache.useStale&ft != 0 {
		return true
	}
	return cr.entry.ValidSec+cr.entry.ErrorSec >= time.Now().Unix()
}

// end releases what the request held of the cache.
func (cr *cacheReq) end() {
	cr.w.Abort()
	cr.entry.Close()
	if cr.updating && cr.zone != nil {
		cr.zone.Done(cr.key)
	}
	cr.updating, cr.hasEntry = false, false
}

// cacheOpen is ngx_http_upstream_cache: it decides whether the request
// looks in the cache, and answers it from there when it can. done
// reports that the request was answered (status and err as Serve's).
func (p *Proxy) cacheOpen(c http1.Stream, s *rewrite.State, x *exchange, t *target) (done bool, status int, err error) {
	cr := x.cr
	cc := cr.conf
	r := c.Request()
	defer passCacheOrder(s)
	if cc.methods&(1<<uint(r.MethodCode)) == 0 {
		return false, 0, nil
	}
	cr.zone = cc.zone
	if cc.zoneValue != nil {
		x.fval = cc.zoneValue.Eval(s, x.fval[:0])
		if len(x.fval) == 0 || string(x.fval) == "off" {
			return false, 0, nil
		}
		if cr.zone = cc.zones[string(x.fval)]; cr.zone == nil {
			return true, 500, errors.New(`cache "` + string(x.fval) + `" not found`)
		}
	}
	cr.convHead = cc.convHead && r.MethodCode == http1.MethodHEAD
	switch {
	case cc.key != nil:
		cr.keyText = cc.key.Eval(s, cr.keyText[:0])
	case cc.emptyKey:
		cr.keyText = cr.keyText[:0]
	default:
		cr.keyText = p.defaultKey(cr.keyText[:0], r, s, t, x.locPrefix)
	}
	if need := cacheHeaderStartFor(cr.keyText) + 256; need > p.bufSize {
		// nginx reads the head after the cache file's header: with too
		// little room left, the request goes on without the cache.
		if s.TryLog != nil {
			s.TryLog.LogTryError(&leveledError{errors.New(p.proto.prefix() + "_buffer_size " + strconv.Itoa(p.bufSize) +
				" is not enough for cache key, it should be increased to at least " + strconv.Itoa((need+1023)&^1023)), "error"})
		}
		cr.zone = nil
		return false, 0, nil
	}
	cr.main = filecache.Sum(cr.keyText)
	cr.key = cr.main
	cr.cacheable = true
	if predicates(s, cc.bypass, x) {
		cr.status = cacheBypass
		s.CacheStatus = cr.status
		return false, 0, nil
	}
	cr.status = cacheMiss
	// One clock read for the lookup (time.Now reads two clocks, and it
	// was three times per hit), again after a wait for the lock: nginx's
	// is its cached time.
	now := poller.Now()
	if st := cr.zone.Error(cr.key, now.Unix()); st != 0 {
		// An intercepted error cached: its error_page answers again.
		cr.status = cacheHit
		s.CacheStatus = cr.status
		return true, st, nil
	}
	waitUntil := time.Time{}
	lockWait := cc.lockWait
	for {
		found, err := cr.zone.Open(cr.key, &cr.entry, now)
		if err != nil {
			return true, 500, err
		}
		if found && !bytes.Equal(cr.entry.Key, cr.keyText) {
			found = false // an MD5 collision: nginx logs it and fetches
		}
		if found && len(cr.entry.Vary) > 0 {
			variant := p.variant(cr, r, cr.entry.Vary)
			if variant != cr.entry.Variant {
				cr.entry.Close()
				if cr.secondary {
					found = false
				} else {
					cr.secondary, cr.key = true, variant
					continue
				}
			}
		}
		if found {
			sec := now.Unix()
			if cr.entry.ValidSec >= sec {
				cr.status = cacheHit
				s.CacheStatus = cr.status
				passCacheOrder(s)
				st, err := p.sendCached(c, s, cr, x, now)
				return true, st, err
			}
			staleUpdating := cr.entry.ValidSec+cr.entry.UpdatingSec >= sec
			stale := (cc.staleUpd || staleUpdating) && !cr.background
			if !cr.zone.TryUpdate(cr.key, 0) {
				// Another request fetches it (UPDATING); else, as a
				// background update, it is fetched all the same.
				if stale {
					cr.status = cacheUpdating
					s.CacheStatus = cr.status
					passCacheOrder(s)
					st, err := p.sendCached(c, s, cr, x, now)
					return true, st, err
				}
			} else {
				cr.updating = true
				if stale && cc.bgUpdate {
					// proxy_cache_background_update: the stale entry
					// now, the fetch after it (Serve).
					cr.status = cacheStale
					s.CacheStatus = cr.status
					cr.bgPending = true
					passCacheOrder(s)
					st, err := p.sendCached(c, s, cr, x, now)
					return true, st, err
				}
			}
			cr.hasEntry = true
			cr.status = cacheExpired
			if cc.revalid {
				s.CacheLastModified = cr.entry.LastModified
				s.CacheETag = append(s.CacheETag[:0], cr.entry.ETag...)
			}
			if cc.maxOffset >= 0 && !rangeBelow(r, cc.maxOffset) {
				cr.cacheable = false
			}
			s.CacheStatus = cr.status
			return false, 0, nil
		}
		// No file: proxy_cache_min_uses, then proxy_cache_lock.
		if waitUntil.IsZero() && cr.zone.Use(cr.key) < cc.minUses {
			cr.cacheable = false
			break
		}
		if !cc.lock {
			break
		}
		if cr.zone.TryUpdate(cr.key, cc.lockAge) {
			cr.updating = true
			break
		}
		if lockWait <= 0 {
			// The lock timed out: fetched, not cached.
			cr.cacheable = false
			break
		}
		if waitUntil.IsZero() {
			waitUntil = time.Now().Add(cc.lockWait)
		}
		passCacheOrder(s) // waiting: the connections after it go on
		// ngx_http_file_cache_lock: the first wait is at most 500ms
		// and ends at lock_timeout; ngx_http_file_cache_lock_wait then
		// times out, or goes on while the lock is held, each wait at
		// most 500ms and ending when the holder's lock_age does.
		wait := max(min(time.Until(waitUntil), maxLockWait), 0)
		for {
			time.Sleep(wait)
			if time.Until(waitUntil) <= 0 {
				lockWait = 0
				if s.TryLog != nil {
					s.TryLog.LogTryError(&leveledError{errLockTimeout, "info"})
				}
				break
			}
			held := time.Until(cr.zone.UpdatingUntil(cr.key))
			if held <= 0 {
				break // free, or aged: look again
			}
			wait = min(held, maxLockWait)
		}
		now = poller.Now()
	}
	if cr.cacheable && cc.maxOffset >= 0 && !rangeBelow(r, cc.maxOffset) {
		cr.cacheable = false
	}
	s.CacheStatus = cr.status
	return false, 0, nil
}

// maxLockWait is how long a request waiting for proxy_cache_lock
// sleeps at most before it looks again (nginx's 500ms timer).
const maxLockWait = 500 * time.Millisecond

// errLockTimeout is ngx_http_file_cache_lock_wait's line when
// proxy_cache_lock_timeout ends the wait.
var errLockTimeout = errors.New("cache lock timeout")

// passCacheOrder lets the connections accepted after this one go on to
// the cache lock (State.CacheOrder).
func passCacheOrder(s *rewrite.State) {
	if s.CacheOrder != nil {
		s.CacheOrder.Pass()
		s.CacheOrder = nil
	}
}

// rangeBelow is ngx_http_upstream_cache_check_range: a Range request
// starting at or past proxy_cache_max_range_offset is not cached.
func rangeBelow(r *http1.Request, max int64) bool {
	v := r.HeaderValue("Range")
	if v == nil {
		return true
	}
	if max == 0 {
		return false
	}
	if len(v) < 7 || !http1.EqualFold(v[:6], "bytes=") {
		return true
	}
	v = v[6:]
	for len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	if len(v) > 0 && v[0] == '-' {
		return false
	}
	var off int64
	for len(v) > 0 && v[0] >= '0' && v[0] <= '9' {
		off = off*10 + int64(v[0]-'0')
		v = v[1:]
	}
	return off < max
}

// predicates is ngx_http_test_predicates: true when a value is neither
// empty nor "0".
func predicates(s *rewrite.State, vals []*rewrite.Complex, x *exchange) bool {
	for _, v := range vals {
		x.fval = v.Eval(s, x.fval[:0])
		if len(x.fval) > 0 && !(len(x.fval) == 1 && x.fval[0] == '0') {
			return true
		}
	}
	return false
}

// variant is ngx_http_file_cache_vary: the MD5 of the main key and, for
// each name Vary lists, the request's values of that header.
func (p *Proxy) variant(cr *cacheReq, r *http1.Request, vary []byte) filecache.Key {
	b := append(cr.variantBuf[:0], cr.main[:]...)
	for len(vary) > 0 {
		for len(vary) > 0 && (vary[0] == ' ' || vary[0] == ',') {
			vary = vary[1:]
		}
		i := 0
		for i < len(vary) && vary[i] != ',' && vary[i] != ' ' {
			i++
		}
		name := vary[:i]
		vary = vary[i:]
		if len(name) == 0 {
			break
		}
		for _, c := range name {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		b = append(b, ':')
		normalize := http1.EqualFold(name, "accept-charset") || http1.EqualFold(name, "accept-encoding") ||
			http1.EqualFold(name, "accept-language")
		multiple := false
		for _, h := range r.Headers {
			if !equalFoldASCII(h.Name, name) {
				continue
			}
			if !normalize {
				if multiple {
					b = append(b, ',')
				}
				b = append(b, h.Value...)
				multiple = true
				continue
			}
			v := h.Value
			for len(v) > 0 {
				for len(v) > 0 && (v[0] == ' ' || v[0] == ',') {
					v = v[1:]
				}
				j := 0
				for j < len(v) && v[j] != ',' && v[j] != ' ' {
					j++
				}
				if j == 0 {
					break
				}
				if multiple {
					b = append(b, ',')
				}
				b = append(b, v[:j]...)
				v = v[j:]
				multiple = true
			}
		}
		b = append(b, '\r', '\n')
	}
	cr.variantBuf = b
	return md5.Sum(b)
}

// cacheTestNext is the cache's part of ngx_http_upstream_test_next, for
// a head that proxy_next_upstream did not take: an expired entry served
// stale for the backend's error status, or revalidated by a 304.
func (p *Proxy) cacheTestNext(x *exchange) int {
	cr := x.cr
	if cr.status != cacheExpired || !cr.hasEntry {
		return 0
	}
	if ft := statusFT(x.head.Status); ft != 0 && p.cache.useStale&ft != 0 {
		return statusServeStale
	}
	if x.head.Status == 304 && p.cache.revalid {
		// The entry's times are renewed from the 304's Cache-Control or
		// Expires, else from the cached head's (read again as a hit
		// would), else proxy_cache_valid for the cached status.
		cr.validSec, cr.updatingSec, cr.errorSec, cr.vary = 0, 0, 0, nil
		p.cacheHeaders(cr, x.head.Headers, false)
		if cr.validSec == 0 {
			if hl, err := http1.ParseResponseHead(cr.entry.Head, &cr.revHead); err == nil && hl > 0 {
				cr.validSec, cr.updatingSec, cr.errorSec = 0, 0, 0
				p.cacheHeaders(cr, cr.revHead.Headers, false)
				if cr.validSec == 0 {
					if v := p.cache.validFor(cr.revHead.Status); v > 0 {
						cr.validSec = time.Now().Unix() + int64(v/time.Second)
					}
				}
			}
		}
		if cr.validSec != 0 {
			m := cr.entry.Meta
			m.ValidSec, m.UpdatingSec, m.ErrorSec, m.Date = cr.validSec, cr.updatingSec, cr.errorSec, time.Now().Unix()
			cr.zone.Refresh(&cr.entry, &m)
			cr.entry.Meta.ValidSec = m.ValidSec
		}
		return statusRevalidated
	}
	return 0
}

// cacheHeaders reads the backend's head as nginx's header handlers do for
// the cache: X-Accel-Expires, Cache-Control, Expires, Set-Cookie and Vary,
// in the order they come, each unless proxy_ignore_headers names it.
// store: the head is a response to store (a 304's Set-Cookie or Vary
// does not matter).
func (p *Proxy) cacheHeaders(cr *cacheReq, hs []http1.Header, store bool) {
	now := time.Now().Unix()
	xaExpires := false
	for _, h := range hs {
		v := h.Value
		switch {
		case http1.EqualFold(h.Name, "x-accel-expires"):
			xaExpires = true
			if p.ignore&ignXAExpires != 0 || len(v) == 0 {
				continue
			}
			if v[0] != '@' {
				n, ok := atoi(v)
				switch {
				case !ok:
				case n == 0:
					cr.cacheable = false
				default:
					cr.validSec = now + n
				}
				continue
			}
			if n, ok := atoi(v[1:]); ok {
				cr.validSec = n
			}
		case http1.EqualFold(h.Name, "cache-control"):
			if p.ignore&ignCacheControl != 0 || cr.validSec != 0 && xaExpires {
				continue
			}
			p.cacheControl(cr, v, now)
		case http1.EqualFold(h.Name, "expires"):
			if p.ignore&ignExpires != 0 || cr.validSec != 0 {
				continue
			}
			t, ok := http1.ParseHTTPTime(v)
			if !ok || t < now {
				cr.cacheable = false
				continue
			}
			cr.validSec = t
		case http1.EqualFold(h.Name, "set-cookie"):
			if p.ignore&ignSetCookie == 0 && store {
				cr.cacheable = false
			}
		case http1.EqualFold(h.Name, "vary"):
			if p.ignore&ignVary != 0 {
				continue
			}
			if len(v) > 128 || len(v) == 1 && v[0] == '*' {
				cr.cacheable = false
			}
			cr.vary = v
		}
	}
}

// cacheControl is ngx_http_upstream_process_cache_control's reading of
// one Cache-Control line.
func (p *Proxy) cacheControl(cr *cacheReq, v []byte, now int64) {
	if containsFold(v, "no-cache") || containsFold(v, "no-store") || containsFold(v, "private") {
		cr.cacheable = false
		return
	}
	number := func(at int) (int64, bool) {
		var n int64
		for _, c := range v[at:] {
			if c == ',' || c == ';' || c == ' ' {
				break
			}
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		}
		return n, true
	}
	i, off := indexFold(v, "s-maxage="), 9
	if i < 0 {
		i, off = indexFold(v, "max-age="), 8
	}
	if i >= 0 {
		n, ok := number(i + off)
		if !ok || n == 0 {
			cr.cacheable = false
			return
		}
		cr.validSec = now + n
	}
	if i := indexFold(v, "stale-while-revalidate="); i >= 0 {
		n, ok := number(i + 23)
		if !ok {
			cr.cacheable = false
			return
		}
		cr.updatingSec, cr.errorSec = n, n
	}
	if i := indexFold(v, "stale-if-error="); i >= 0 {
		n, ok := number(i + 15)
		if !ok {
			cr.cacheable = false
			return
		}
		cr.errorSec = n
	}
}

func indexFold(b []byte, lower string) int {
	for i := 0; i+len(lower) <= len(b); i++ {
		if http1.EqualFold(b[i:i+len(lower)], lower) {
			return i
		}
	}
	return -1
}

func containsFold(b []byte, lower string) bool { return indexFold(b, lower) >= 0 }

// cacheStore is the cache's part of ngx_http_upstream_send_response: with
// the head to go to the client, it decides whether the response is stored
// (proxy_no_cache, the headers, proxy_cache_valid) and, if so, starts its
// cache file.
func (p *Proxy) cacheStore(r *http1.Request, s *rewrite.State, x *exchange) (allowRanges bool) {
	cr := x.cr
	if !cr.cacheable || cr.zone == nil {
		return false
	}
	cr.validSec, cr.updatingSec, cr.errorSec, cr.vary = 0, 0, 0, nil
	p.cacheHeaders(cr, x.head.Headers, true)
	if !cr.cacheable {
		return false
	}
	// Still cacheable after the head's handlers: nginx's range filter
	// owns Accept-Ranges (ngx_http_upstream_copy_allow_ranges).
	allowRanges = true
	if predicates(s, p.cache.noCache, x) {
		cr.cacheable = false
		return
	}
	now := time.Now().Unix()
	if cr.validSec == 0 {
		v := p.cache.validFor(x.head.Status)
		if v <= 0 {
			cr.cacheable = false
			return allowRanges
		}
		cr.validSec = now + int64(v/time.Second)
	}
	m := &cr.meta
	*m = filecache.Meta{ValidSec: cr.validSec, UpdatingSec: cr.updatingSec, ErrorSec: cr.errorSec,
		LastModified: -1, Date: now, Key: cr.keyText, Vary: cr.vary}
	if x.head.Status == 200 || x.head.Status == 206 {
		for _, h := range x.head.Headers {
			switch {
			case http1.EqualFold(h.Name, "last-modified"):
				if t, ok := http1.ParseHTTPTime(h.Value); ok {
					m.LastModified = t
				}
			case http1.EqualFold(h.Name, "etag"):
				m.ETag = h.Value
			}
		}
	}
	key := cr.key
	if len(cr.vary) > 0 {
		m.Variant = p.variant(cr, r, cr.vary)
		if cr.secondary && m.Variant != cr.key {
			// ngx_http_file_cache_update_variant: back to the main key.
			key = cr.main
		}
	} else if cr.secondary {
		key = cr.main
	}
	cr.head = appendStoredHead(cr.head[:0], &x.head)
	m.Head = cr.head
	cr.headIndex = appendHeadIndex(cr.headIndex[:0], cr.head, &cr.indexHead)
	m.HeadIndex = cr.headIndex
	var create func() (*os.File, error)
	if cr.zone.UseTempPath {
		create = p.temp.createTemp
	}
	if err := cr.zone.Begin(&cr.w, key, m, create); err != nil {
		cr.w.Abort()
		cr.cacheable = false
		if isLevelError(err) {
			cr.tempFail = err
		}
	}
	http1.NextTempNumber() // nginx's temporary file took a number
	return allowRanges
}

// defaultKey is ngx_http_proxy_create_key without proxy_cache_key: the
// scheme and host of a proxy_pass without variables (the scheme alone
// with them), then the URI sent to the backend.
func (p *Proxy) defaultKey(b []byte, r *http1.Request, s *rewrite.State, t *target, locPrefix string) []byte {
	b = append(b, t.scheme...)
	b = append(b, "://"...)
	if p.urlValue == nil {
		b = append(b, p.proxyHost...)
	}
	return p.appendURI(b, r, s, t, locPrefix)
}

// cacheError is the cache's part of ngx_http_upstream_intercept_errors:
// an intercepted error that may be cached is remembered by its status.
func (p *Proxy) cacheError(x *exchange) {
	cr := x.cr
	if !cr.cacheable || cr.zone == nil {
		return
	}
	cr.validSec, cr.updatingSec, cr.errorSec, cr.vary = 0, 0, 0, nil
	p.cacheHeaders(cr, x.head.Headers, true)
	if !cr.cacheable {
		return
	}
	valid := cr.validSec
	if valid == 0 {
		if v := p.cache.validFor(x.head.Status); v > 0 {
			valid = time.Now().Unix() + int64(v/time.Second)
		}
	}
	if valid != 0 {
		cr.zone.SetError(cr.key, x.head.Status, valid)
	}
}

// appendStoredHead writes the backend's head as the cache file keeps it:
// an HTTP/1.1 head, read back on a hit from its index (appendHeadIndex)
// or by http1.ParseResponseHead.
func appendStoredHead(b []byte, h *http1.ResponseHead) []byte {
	b = append(b, "HTTP/1.1 "...)
	if len(h.StatusLine) > 0 {
		b = append(b, h.StatusLine...)
	} else {
		b = strconv.AppendInt(b, int64(h.Status), 10)
	}
	b = append(b, '\r', '\n')
	for _, hd := range h.Headers {
		b = append(b, hd.Name...)
		b = append(b, ':', ' ')
		b = append(b, hd.Value...)
		b = append(b, '\r', '\n')
	}
	return append(b, '\r', '\n')
}

// cacheBodyEnd stores the body relayed when it came whole.
// Its first test is inlined at the callers (the rest is cacheBodyEndRun): the
// common case costs a test, not a call.
func (x *exchange) cacheBodyEnd(complete bool) {
	if x.cr == nil {
		return
	}
	x.cacheBodyEndRun(complete)
}

// cacheBodyEndRun is cacheBodyEnd past its first test.
func (x *exchange) cacheBodyEndRun(complete bool) {
	cr := x.cr
	if cr == nil || !cr.w.Active() {
		return
	}
	if !complete || cr.expect >= 0 && cr.w.BodyLen() != cr.expect {
		// Cut short (or longer): nginx stores only a whole body.
		cr.w.Abort()
		return
	}
	cr.w.Commit()
}

var methodGET = []byte("GET")
