package upstream

import "time"

// pipeRate is proxy_limit_rate (fastcgi_, scgi_, uwsgi_limit_rate) for
// one buffered response, as ngx_event_pipe_read_upstream paces reading
// the backend: no more than rate bytes a second since the body started,
// counted in whole seconds as ngx_time() is; and after each read, no
// next one before those bytes took their time at that rate. The bytes
// read go to the client before the pause.
type pipeRate struct {
	rate  int64 // bytes a second; 0: no limit
	start int64 // unix seconds
	read  int64 // bytes read, those that came with the head included
	next  time.Time
}

// begin starts pacing a body of which preread bytes came with the head.
// Its first test is inlined at the callers (the rest is beginRun): the
// common case costs a test, not a call.
func (r *pipeRate) begin(rate int64, preread int) {
	if rate == 0 {
		*r = pipeRate{}
		return
	}
	r.beginRun(rate, preread)
}

// beginRun is begin past its first test.
func (r *pipeRate) beginRun(rate int64, preread int) {
	*r = pipeRate{rate: rate}
	if rate == 0 {
		return
	}
	now := time.Now()
	r.start = now.Unix()
	r.after(now, preread)
}

// limit waits until the next read may be made and returns buf cut to
// what it may take.
func (r *pipeRate) limit(buf []byte) []byte {
	if r.rate == 0 {
		return buf
	}
	for {
		n, wait := r.allowed(time.Now(), len(buf))
		if wait == 0 {
			return buf[:n]
		}
		time.Sleep(wait)
	}
}

// allowed is how much a read at now may take of size, or how long to
// wait before reading.
func (r *pipeRate) allowed(now time.Time, size int) (int, time.Duration) {
	if wait := r.next.Sub(now); wait > 0 {
		return 0, wait
	}
	limit := r.rate*(now.Unix()-r.start+1) - r.read
	if limit <= 0 {
		// nginx's delayed read timer: until the bytes over the limit
		// took their time, plus a millisecond.
		r.next = now.Add(time.Duration(-limit*1000/r.rate+1) * time.Millisecond)
		return 0, r.next.Sub(now)
	}
	return int(min(int64(size), limit)), 0
}

// after counts n bytes read and when the next read may come.
func (r *pipeRate) after(now time.Time, n int) {
	if r.rate == 0 || n <= 0 {
		return
	}
	r.read += int64(n)
	r.next = now.Add(time.Duration(int64(n)*1000/r.rate) * time.Millisecond)
}

// beginRate starts pacing the body of x's response: only a buffered one
// is paced, as only nginx's event pipe reads under the limit.
func (x *exchange) beginRate(p *Proxy, preread int) {
	rate := int64(0)
	if x.buffering {
		rate = p.limitRate
	}
	x.rate.begin(rate, preread)
}
