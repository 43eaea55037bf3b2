package server

import (
	"io"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestIdleTimersHeap: connections added and removed in any order keep
// the heap ordered by deadline and their indices right, and the timer
// is armed for the earliest.
func TestIdleTimersHeap(t *testing.T) {
	base := time.Now().Add(time.Hour) // the timer does not fire
	offsets := []int{50, 10, 70, 30, 30, 90, 20, 60, 0, 80}
	var ts idleTimers
	defer func() {
		if ts.timer != nil {
			ts.timer.Stop()
		}
	}()
	conns := make([]*serverConn, len(offsets))
	for i, off := range offsets {
		conns[i] = &serverConn{}
		conns[i].h1.idleUntil = monoOf(base.Add(time.Duration(off) * time.Second))
		ts.add(conns[i])
		ts.add(conns[i]) // twice: once in the heap
	}
	for _, i := range []int{8, 2, 5} { // 0s (the earliest), 70s, 90s
		ts.remove(conns[i])
		ts.remove(conns[i])
	}
	check := func() {
		t.Helper()
		for i, sc := range ts.heap {
			if int(sc.timerAt) != i+1 {
				t.Fatalf("heap[%d].timerAt = %d", i, sc.timerAt)
			}
			if p := (i - 1) / 2; i > 0 && ts.less(i, p) {
				t.Fatalf("heap[%d] before its parent", i)
			}
		}
	}
	check()
	if got, want := ts.armed.Time(), base; !got.Equal(want) {
		t.Errorf("armed for %v, want the first added's %v", got, want)
	}
	var got []int
	for len(ts.heap) > 0 {
		sc := ts.heap[0]
		got = append(got, int(sc.h1.idleUntil.Time().Sub(base)/time.Second))
		ts.remove(sc)
		check()
	}
	want := []int{10, 20, 30, 30, 50, 60, 80}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deadlines in order (-want +got):\n%s", diff)
	}
	for i, sc := range conns {
		if sc.timerAt != 0 {
			t.Errorf("conn %d still indexed: %d", i, sc.timerAt)
		}
	}
}

// TestParkedKeepaliveTimeouts: parked connections under different
// keepalive_timeouts (their last request's location's) each close when
// theirs passes, sending nothing, whatever order they parked in.
func TestParkedKeepaliveTimeouts(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT;
		location /a { keepalive_timeout 900ms; return 200 "a"; }
		location /b { keepalive_timeout 300ms; return 200 "b"; }
		location /c { keepalive_timeout 600ms; return 200 "c"; } }`)
	paths := []string{"/a", "/b", "/c", "/b", "/a"}
	var clients []*kaClient
	for _, p := range paths {
		k := dialKA(t, ts.addr)
		if got := k.get(t, p); got != p[1:] {
			t.Fatalf("%s: got %q", p, got)
		}
		clients = append(clients, k)
	}
	var got []string
	for i, k := range clients {
		rest, err := io.ReadAll(k.br)
		got = append(got, paths[i]+": "+string(rest))
		if err != nil {
			t.Errorf("%s: %v", paths[i], err)
		}
	}
	sort.Strings(got)
	if diff := cmp.Diff([]string{"/a: ", "/a: ", "/b: ", "/b: ", "/c: "}, got); diff != "" {
		t.Errorf("after keepalive_timeout (-want +got):\n%s", diff)
	}
	if !waitFor(func() bool { return ts.srv.idleState().Conns == 0 }) {
		t.Fatalf("connections kept: %+v", ts.srv.idleState())
	}
}
