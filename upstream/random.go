package upstream

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gonginx/gonginx/rewrite"
)

// randomPicker is "random [two [least_conn]]", as
// ngx_http_upstream_random_module: a primary server drawn with a
// probability by its weight; with "two", two different ones drawn and the
// one with fewer connections for its weight taken (the first on a tie).
// A draw that lands on a server that may not be used is drawn again;
// after 20 such draws round robin takes over.
type randomPicker struct {
	two    bool
	starts []uint32 // per primary server: where its range of weights starts
	total  uint32
}

func (r *randomPicker) init(g *Group) {
	for _, s := range g.Servers {
		if !s.Backup {
			r.starts = append(r.starts, r.total)
			r.total += uint32(s.Weight)
		}
	}
}

// draw returns a primary server, by weight.
func (r *randomPicker) draw() int {
	x := rand.Uint32N(r.total)
	// The last range starting at or before x.
	i, found := slices.BinarySearch(r.starts, x)
	if !found {
		i--
	}
	return i
}

func (r *randomPicker) Pick(g *Group, st *rewrite.State, ps *pickState, now time.Time) int {
	if ps.tries > maxHashTries || g.single() {
		return roundRobin{}.Pick(g, st, ps, now)
	}
	prev := -1
	for {
		i := r.draw()
		if i != prev && g.available(i, ps.tried, now) {
			if !r.two {
				return i
			}
			if prev >= 0 {
				s, p := g.Servers[i], g.Servers[prev]
				if s.conns*p.Weight > p.conns*s.Weight {
					return prev
				}
				return i
			}
			prev = i
		}
		if ps.tries++; ps.tries > maxHashTries {
			return roundRobin{}.Pick(g, st, ps, now)
		}
	}
}
