package upstream

import (
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// ftMask is a set of failure types, as nginx's NGX_HTTP_UPSTREAM_FT_*:
// proxy_next_upstream lists those after which the request goes to the
// next server.
type ftMask uint16

const (
	ftError ftMask = 1 << iota
	ftTimeout
	ftInvalidHeader
	ftHTTP500
	ftHTTP502
	ftHTTP503
	ftHTTP504
	ftHTTP403
	ftHTTP404
	ftHTTP429
	ftNonIdempotent

	// ftHTTPAny is the statuses' types: a try allowing none of them
	// (the default "error timeout") skips statusFT's switch.
	ftHTTPAny = ftHTTP500 | ftHTTP502 | ftHTTP503 | ftHTTP504 | ftHTTP403 | ftHTTP404 | ftHTTP429
)

var nextUpstreamNames = map[string]ftMask{
	"error": ftError, "timeout": ftTimeout, "invalid_header": ftInvalidHeader,
	"non_idempotent": ftNonIdempotent, "http_500": ftHTTP500, "http_502": ftHTTP502,
	"http_503": ftHTTP503, "http_504": ftHTTP504, "http_403": ftHTTP403, "http_404": ftHTTP404,
	"http_429": ftHTTP429,
	"updating": 0, // only meaningful with a cache
}

// statusFT is ngx_http_upstream_next_errors: the failure type of a
// backend status proxy_next_upstream can name, or 0.
func statusFT(status int) ftMask {
	switch status {
	case 500:
		return ftHTTP500
	case 502:
		return ftHTTP502
	case 503:
		return ftHTTP503
	case 504:
		return ftHTTP504
	case 403:
		return ftHTTP403
	case 404:
		return ftHTTP404
	case 429:
		return ftHTTP429
	}
	return 0
}

// peerFailed reports whether a try that ended with ft counts against the
// server (max_fails): every type but http_403 and http_404, which nginx
// frees as NGX_PEER_NEXT.
func peerFailed(ft ftMask) bool { return ft != ftHTTP403 && ft != ftHTTP404 }

// compileNext reads proxy_next_upstream (default "error timeout"; "off"
// anywhere in the list turns retries off), proxy_next_upstream_tries and
// proxy_next_upstream_timeout.
func (p *Proxy) compileNext(blocks [][]*nginxconf.Directive) error {
	p.next = ftError | ftTimeout
	if d := last(blocks, p.name("_next_upstream")); d != nil {
		p.next = 0
		for _, a := range d.Args {
			if a == "off" {
				p.next = 0
				break
			}
			names := nextUpstreamNames
			if p.nextNames != nil {
				names = p.nextNames
			}
			m, ok := names[a]
			if !ok {
				return confErr(d, `invalid value "%s"`, a)
			}
			p.next |= m
		}
	}
	if d := last(blocks, p.name("_next_upstream_tries")); d != nil {
		n, ok := nginxconf.ParseOffset(d.Args[0])
		if !ok || n < 0 || n > 1<<30 {
			return confErr(d, `invalid number "%s"`, d.Args[0])
		}
		p.nextTries = int(n)
	}
	if d := last(blocks, p.name("_next_upstream_timeout")); d != nil {
		v, err := parseTime(d.Args[0])
		if err != nil {
			return confErr(d, `"%s" directive invalid value`, d.Name)
		}
		p.nextTimeout = v
	}
	return nil
}

// nextAllowed is the set of failure types after which a request may go
// on to another server now (ngx_http_upstream_next and
// ngx_http_upstream_test_next): tries left after this one, the body
// still at hand, proxy_next_upstream_timeout not passed, and for a POST,
// LOCK or PATCH already sent, non_idempotent configured.
// Its first test is inlined at the callers (the rest is nextAllowedRun): the
// common case costs a test, not a call.
func (p *Proxy) nextAllowed(tries int, start time.Time, sentNonIdempotent, bodyAtHand bool) ftMask {
	if tries <= 1 || !bodyAtHand {
		return 0
	}
	return p.nextAllowedRun(tries, start, sentNonIdempotent, bodyAtHand)
}

// nextAllowedRun is nextAllowed past its first test.
func (p *Proxy) nextAllowedRun(tries int, start time.Time, sentNonIdempotent, bodyAtHand bool) ftMask {
	if tries <= 1 || !bodyAtHand || p.nextTimeout > 0 && time.Since(start) >= p.nextTimeout {
		return 0
	}
	if sentNonIdempotent && p.next&ftNonIdempotent == 0 {
		return 0
	}
	return p.next &^ ftNonIdempotent
}

// tries is how many servers a request may try (nginx's peer.tries): the
// servers not marked down, primary and backup, or 1 for a single server;
// proxy_next_upstream_tries caps it.
func (g *Group) tries(limit int) int {
	n := 0
	for _, s := range g.Servers {
		if !s.Down {
			n++
		}
	}
	if g.single() || n == 0 {
		n = 1
	}
	if limit > 0 && n > limit {
		n = limit
	}
	return n
}
