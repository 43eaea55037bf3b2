package http1

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRateWait follows ngx_http_write_filter's arithmetic: within the
// request's seconds (counted from 1), rate bytes per second past the
// first limit_rate_after bytes of the response.
func TestRateWait(t *testing.T) {
	start := time.Unix(1000, 0)
	type result struct {
		Wait  time.Duration
		Limit int64
	}
	tests := []struct {
		name              string
		rate, after, sent int64
		now               time.Time
		want              result
	}{
		{"no limit", 0, 0, 1 << 20, start, result{0, -1}},
		{"first second, nothing sent", 1000, 0, 0, start, result{0, 1000}},
		{"first second used up", 1000, 0, 1000, start, result{time.Millisecond, 0}},
		{"over by half a second", 1000, 0, 1500, start, result{501 * time.Millisecond, 0}},
		{"second second", 1000, 0, 1000, start.Add(time.Second), result{0, 1000}},
		{"after not reached", 1000, 500, 400, start, result{0, 1100}},
		{"after passed", 1000, 500, 1500, start, result{time.Millisecond, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Conn{}
			c.limit = rateLimit{rate: tt.rate, after: tt.after, set: true, start: start.Unix()}
			c.out.sent = tt.sent
			w, l := c.rateWait(tt.now)
			if diff := cmp.Diff(tt.want, result{w, l}); diff != "" {
				t.Errorf("rateWait (-want +got):\n%s", diff)
			}
		})
	}
	c := &Conn{}
	c.limit = rateLimit{rate: 1000, after: 500, set: true}
	if got := c.rateDelay(400, 900); got != 400*time.Millisecond {
		t.Errorf("rateDelay(400, 900) = %v, want 400ms (the bytes past limit_rate_after)", got)
	}
}

// TestSetLimitRate: a rate from "set $limit_rate" is kept over the
// location's, which applies only when nothing set one.
func TestSetLimitRate(t *testing.T) {
	c := &Conn{}
	c.SetLimitRate(100, false)
	c.SetLimitRate(200, false)
	if c.LimitRate() != 100 {
		t.Errorf("the first decided rate stays: got %d", c.LimitRate())
	}
	c = &Conn{}
	c.SetLimitRate(300, true)
	c.SetLimitRate(100, false)
	if c.LimitRate() != 300 {
		t.Errorf("set $limit_rate wins over limit_rate: got %d", c.LimitRate())
	}
}

// TestDecideRateAfterSet: DecideRate runs before each response's first
// bytes even when a rate was set before ("set $limit_rate",
// X-Accel-Limit-Rate), so limit_rate_after still comes from the
// configuration, as ngx_http_write_filter's limit_rate_after_set.
func TestDecideRateAfterSet(t *testing.T) {
	fc := &fakeConn{in: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}
	c := NewConn(fc, &ConnInfo{})
	defer c.Close()
	if _, err := c.ReadRequest(); err != nil {
		t.Fatal(err)
	}
	decided := 0
	c.DecideRate = func() {
		decided++
		c.SetLimitRate(100, false) // the location's: not over the set one
		c.SetLimitRateAfter(1 << 20)
	}
	c.SetLimitRate(1<<30, true)
	c.WriteHeader(&Response{Status: 200, ContentLength: 2, LastModified: -1})
	c.Write([]byte("ok"))
	c.Finish()
	if diff := cmp.Diff([3]int64{1, 1 << 30, 1 << 20}, [3]int64{int64(decided), c.LimitRate(), c.limit.after}); diff != "" {
		t.Errorf("decided, rate, after (-want +got):\n%s", diff)
	}
}

// TestSentUnread: a head written while nothing reads $sent_http_*
// (SentHead.Unread) keeps its status, length and keep-alive but copies
// no value; otherwise every value is kept, as written.
func TestSentUnread(t *testing.T) {
	type sent struct {
		Written, KeepAlive, Chunked bool
		Status                      int
		ContentLength               int64
		ContentType, LastModified   string
		Headers                     []string
	}
	tests := []struct {
		unread bool
		want   sent
	}{
		{false, sent{Written: true, KeepAlive: true, Status: 200, ContentLength: 2, ContentType: "text/plain",
			LastModified: "Thu, 01 Jan 1970 00:16:40 GMT", Headers: []string{"X-A: a"}}},
		{true, sent{Written: true, KeepAlive: true, Status: 200, ContentLength: 2}},
	}
	for _, tt := range tests {
		fc := &fakeConn{in: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}
		c := NewConn(fc, &ConnInfo{})
		if _, err := c.ReadRequest(); err != nil {
			t.Fatal(err)
		}
		c.Sent().Unread = tt.unread
		c.WriteHeader(&Response{Status: 200, ContentLength: 2, ContentType: []byte("text/plain"), LastModified: 1000,
			Headers: []Header{{Name: []byte("X-A"), Value: []byte("a")}}})
		h := c.Sent()
		got := sent{Written: h.Written, KeepAlive: h.KeepAlive, Chunked: h.Chunked, Status: h.Status,
			ContentLength: h.ContentLength, ContentType: string(h.ContentType), LastModified: string(h.LastModified)}
		for _, hd := range h.Headers {
			got.Headers = append(got.Headers, string(hd.Name)+": "+string(hd.Value))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("unread %v (-want +got):\n%s", tt.unread, diff)
		}
		c.Close()
	}
}
