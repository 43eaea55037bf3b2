package limit

// Req is one limit_req line: its zone, the zone's rate (requests per
// 1000 seconds: nginx's r/s × 1000, r/m × 1000 / 60) and the line's
// burst and delay in 1/1000 requests.
type Req struct {
	Zone  *Zone
	Rate  int64
	Burst int64
	Delay int64
}

// Result is what the limit_req lines of a location decided.
type Result int

const (
	Declined Result = iota // every key was empty: nothing limited
	Passed
	Delayed
	Rejected // over the burst: nginx's NGX_BUSY
	Failed   // no memory for the key: nginx's NGX_ERROR
)

// Outcome is a Check's result, with what nginx logs about it.
type Outcome struct {
	Result Result
	Excess int64 // 1/1000 requests, of the limit that decided
	Limit  int   // the index of that limit
	Delay  int64 // ms to wait (Delayed)
}

// Keys gives the key of limit i; empty skips the limit. An error stops
// the check (nginx's 500).
type Keys interface {
	Key(i int) ([]byte, error)
}

// Check runs a location's limit_req lines as ngx_http_limit_req_handler:
// each zone is looked at in order; all but the last are only counted
// while the others are looked at (so a rejection leaves them as they
// were) and then accounted; the longest delay wins.
func Check(limits []Req, keys Keys) (Outcome, error) {
	var stack [8]*slot
	pending := stack[:0]
	if len(limits) > len(stack) {
		pending = make([]*slot, 0, len(limits))
	}
	out := Outcome{Result: Declined}
	for n := range limits {
		pending = append(pending, nil)
		k, err := keys.Key(n)
		if err != nil {
			release(limits, pending)
			return Outcome{}, err
		}
		if len(k) == 0 {
			continue
		}
		l := &limits[n]
		last := n == len(limits)-1
		l.Zone.lock()
		res, excess, s := l.lookup(k, last, clock())
		l.Zone.unlock()
		if res != Passed {
			release(limits, pending)
			return Outcome{Result: res, Excess: excess, Limit: n}, nil
		}
		out.Result = Passed
		if last {
			out.Excess = excess
		} else {
			pending[n] = s
		}
	}
	if out.Result == Declined {
		return out, nil
	}
	// A last limit with an empty key stands with no excess (nginx's
	// NGX_AGAIN case).
	out.Limit = len(limits) - 1
	return account(limits, pending, out), nil
}

// lookup is ngx_http_limit_req_lookup under the zone's lock. account
// (the last limit) stores the new excess at once; others count the
// pending request and are accounted later.
func (l *Req) lookup(key []byte, account bool, now int64) (Result, int64, *slot) {
	s, fresh := l.Zone.find(key, now, func(o *slot) bool { return l.expired(o, now) })
	if s == nil {
		return Failed, 0, nil
	}
	if fresh {
		if account {
			s.last = now
			return Passed, 0, s
		}
		s.count = 1
		return Passed, 0, s
	}
	excess := l.leak(s, now)
	if excess > l.Burst {
		return Rejected, excess, nil
	}
	if account {
		l.store(s, excess, now)
		return Passed, excess, s
	}
	s.count++
	return Passed, excess, s
}

// leak is the bucket's level after this request: what was there, less
// what leaked out since the last request, plus one (1000).
func (l *Req) leak(s *slot, now int64) int64 {
	ms := now - s.last
	if ms < -60000 {
		ms = 1
	} else if ms < 0 {
		ms = 0
	}
	return max(s.excess-l.Rate*ms/1000+1000, 0)
}

func (l *Req) store(s *slot, excess, now int64) {
	s.excess = excess
	if now != s.last {
		s.last = now
	}
}

// expired is nginx's expiry test of an entry: idle a minute and drained.
func (l *Req) expired(s *slot, now int64) bool {
	ms := now - s.last
	if ms < 0 {
		ms = -ms
	}
	return ms >= 60000 && s.excess-l.Rate*ms/1000 <= 0
}

// account is ngx_http_limit_req_account: the limits before the last one
// that decided store their excess now; the delay is the longest any of
// them asks for.
func account(limits []Req, pending []*slot, out Outcome) Outcome {
	var maxDelay int64
	if lim := &limits[out.Limit]; out.Excess > lim.Delay {
		maxDelay = (out.Excess - lim.Delay) * 1000 / lim.Rate
	}
	for i := len(pending) - 1; i >= 0; i-- {
		s := pending[i]
		if s == nil {
			continue
		}
		l := &limits[i]
		l.Zone.lock()
		now := clock()
		excess := l.leak(s, now)
		l.store(s, excess, now)
		s.count--
		l.Zone.unlock()
		if excess <= l.Delay {
			continue
		}
		if d := (excess - l.Delay) * 1000 / l.Rate; d > maxDelay {
			maxDelay, out.Excess, out.Limit = d, excess, i
		}
	}
	out.Delay = maxDelay
	if maxDelay > 0 {
		out.Result = Delayed
	}
	return out
}

// release gives back the counts of the limits looked at before one
// decided the request (ngx_http_limit_req_unlock).
func release(limits []Req, pending []*slot) {
	for i, s := range pending {
		if s == nil {
			continue
		}
		limits[i].Zone.lock()
		s.count--
		limits[i].Zone.unlock()
	}
}
