package http1

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// deadlineConn records the deadlines set on it, as offsets from t0.
type deadlineConn struct {
	net.Conn
	t0    time.Time
	calls []string
}

func (c *deadlineConn) at(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.Sub(c.t0).String()
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.calls = append(c.calls, "read "+c.at(t))
	return nil
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.calls = append(c.calls, "write "+c.at(t))
	return nil
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.calls = append(c.calls, "both "+c.at(t))
	return nil
}

// TestDeadlinesLazy: a deadline is set again only when the new one is
// 300 ms or more away from the one pending (NGX_TIMER_LAZY_DELAY), or
// when that one has passed; a zero timeout clears a deadline set.
func TestDeadlinesLazy(t *testing.T) {
	type op struct {
		name    string // read, write, clear, forget
		now     time.Duration
		timeout time.Duration
	}
	tests := []struct {
		name string
		ops  []op
		want []string
	}{
		{"first set", []op{{"read", 0, time.Minute}}, []string{"read 1m0s"}},
		{"within the lazy delay: kept",
			[]op{{"read", 0, time.Minute}, {"read", 299 * time.Millisecond, time.Minute}},
			[]string{"read 1m0s"}},
		{"at the lazy delay: moved",
			[]op{{"read", 0, time.Minute}, {"read", 300 * time.Millisecond, time.Minute}},
			[]string{"read 1m0s", "read 1m0.3s"}},
		{"a shorter timeout moves it",
			[]op{{"write", 0, time.Minute}, {"write", time.Millisecond, time.Second}},
			[]string{"write 1m0s", "write 1.001s"}},
		{"an expired one is set again even when close",
			[]op{{"read", 0, 100 * time.Millisecond}, {"read", 150 * time.Millisecond, 100 * time.Millisecond}},
			[]string{"read 100ms", "read 250ms"}},
		{"read and write apart",
			[]op{{"read", 0, time.Minute}, {"write", 0, time.Minute}, {"read", time.Millisecond, time.Minute}},
			[]string{"read 1m0s", "write 1m0s"}},
		{"no timeout clears once",
			[]op{{"read", 0, time.Minute}, {"read", 0, 0}, {"read", 0, 0}},
			[]string{"read 1m0s", "read none"}},
		{"no timeout and none set: nothing", []op{{"write", 0, 0}}, nil},
		{"clear when set",
			[]op{{"write", 0, time.Minute}, {"clear", 0, 0}, {"clear", 0, 0}, {"write", time.Millisecond, time.Minute}},
			[]string{"write 1m0s", "both none", "write 1m0.001s"}},
		{"forget: the next set and clear act",
			[]op{{"read", 0, time.Minute}, {"forget", 0, 0}, {"read", time.Millisecond, time.Minute}, {"write", 0, 0}, {"clear", 0, 0}},
			[]string{"read 1m0s", "read 1m0.001s", "write none", "both none"}},
		{"forget then clear",
			[]op{{"forget", 0, 0}, {"clear", 0, 0}},
			[]string{"both none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &deadlineConn{t0: time.Now()}
			var d Deadlines
			for _, o := range tt.ops {
				now := c.t0.Add(o.now)
				switch o.name {
				case "read":
					d.SetRead(c, now, o.timeout)
				case "write":
					d.SetWrite(c, now, o.timeout)
				case "clear":
					d.Clear(c)
				case "forget":
					d.Forget()
				default:
					panic(fmt.Sprint("op ", o.name))
				}
			}
			if diff := cmp.Diff(tt.want, c.calls); diff != "" {
				t.Errorf("deadlines set (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeadlinesRearm: RearmRead and RearmWrite (a connection that sets
// its deadline from the time and the timeout) say to set one exactly
// when SetRead and SetWrite would.
func TestDeadlinesRearm(t *testing.T) {
	t0 := time.Now()
	steps := []struct {
		now, timeout time.Duration
	}{{0, time.Minute}, {time.Millisecond, time.Minute}, {400 * time.Millisecond, time.Minute},
		{time.Second, time.Second}, {time.Second, 0}, {time.Second, 0}, {3 * time.Second, time.Second}}
	var set, rearm Deadlines
	c := &deadlineConn{t0: t0}
	for i, st := range steps {
		now := t0.Add(st.now)
		before := len(c.calls)
		set.SetRead(c, now, st.timeout)
		if got, want := rearm.RearmRead(now, st.timeout), len(c.calls) > before; got != want {
			t.Errorf("step %d: RearmRead %v, SetRead set one: %v", i, got, want)
		}
		before = len(c.calls)
		set.SetWrite(c, now, st.timeout)
		if got, want := rearm.RearmWrite(now, st.timeout), len(c.calls) > before; got != want {
			t.Errorf("step %d: RearmWrite %v, SetWrite set one: %v", i, got, want)
		}
	}
}
