package upstream

import (
	"hash/crc32"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// The hashing balancers: ip_hash, "hash KEY" and "hash KEY consistent",
// as ngx_http_upstream_ip_hash_module and ngx_http_upstream_hash_module
// compute them, so the same clients and keys reach the same servers as
// under nginx. Each walks on from a server it may not use, and after 20
// such steps hands the request to round robin.

// maxHashTries is how many servers a hashing balancer passes over before
// round robin takes over (nginx's "tries > 20").
const maxHashTries = 20

// compilePicker makes the balancer a least_conn, ip_hash, hash or random
// line names (its parameters were checked with the block).
func compilePicker(d *nginxconf.Directive, rc *rewrite.Compiler) (Picker, error) {
	switch d.Name {
	case "least_conn":
		return leastConn{}, nil
	case "ip_hash":
		return ipHash{}, nil
	case "random":
		return &randomPicker{two: len(d.Args) > 0}, nil
	}
	key, err := rc.Complex(d.Args[0])
	if err != nil {
		return nil, rewrite.At(err, d)
	}
	if len(d.Args) > 1 {
		return &chashPicker{key: key}, nil
	}
	return &hashPicker{key: key}, nil
}

// primaryWeight is the weight of the group's primary servers, down ones
// included (nginx's peers->total_weight).
func primaryWeight(g *Group) uint32 {
	var w uint32
	for _, s := range g.Servers {
		if !s.Backup {
			w += uint32(s.Weight)
		}
	}
	return w
}

// byWeight returns the primary server w falls on when each takes as many
// values as its weight.
func byWeight(g *Group, w uint32) int {
	i := 0
	for w >= uint32(g.Servers[i].Weight) {
		w -= uint32(g.Servers[i].Weight)
		i++
	}
	return i
}

// ipHash hashes the first three octets of an IPv4 client address (the
// whole IPv6 address, three zero bytes for a unix socket's client) as
// ngx_http_upstream_get_ip_hash_peer, hashing again from where it stopped
// while the server it lands on may not be used.
type ipHash struct{}

func (ipHash) Pick(g *Group, st *rewrite.State, ps *pickState, now time.Time) int {
	if ps.tries > maxHashTries || g.single() {
		return roundRobin{}.Pick(g, st, ps, now)
	}
	if !ps.started {
		ps.hash, ps.started = 89, true
	}
	var addr netip.Addr
	if st != nil && st.Req != nil && st.Req.Conn != nil {
		addr, _ = netip.ParseAddr(st.Req.Conn.RemoteAddr)
	}
	var key [16]byte
	n := 3
	switch {
	case addr.Is4():
		a := addr.As4()
		copy(key[:], a[:3])
	case addr.Is6():
		key, n = addr.As16(), 16
	}
	total := primaryWeight(g)
	for {
		for _, b := range key[:n] {
			ps.hash = (ps.hash*113 + uint32(b)) % 6271
		}
		if i := byWeight(g, ps.hash%total); g.available(i, ps.tried, now) {
			return i
		}
		if ps.tries++; ps.tries > maxHashTries {
			return roundRobin{}.Pick(g, st, ps, now)
		}
	}
}

// hashPicker is "hash KEY": the key's crc32 (with the number of the
// attempt before it from the second on), its bits 16-30 added to the
// hash so far, modulo the total weight, as Cache::Memcached does.
type hashPicker struct {
	key   *rewrite.Complex
	total uint32
}

func (h *hashPicker) init(g *Group) { h.total = primaryWeight(g) }

func (h *hashPicker) start(s *rewrite.State, ps *pickState) {
	ps.key = h.key.Eval(s, ps.key[:0])
}

func (h *hashPicker) Pick(g *Group, st *rewrite.State, ps *pickState, now time.Time) int {
	if ps.tries > maxHashTries || g.single() || len(ps.key) == 0 {
		return roundRobin{}.Pick(g, st, ps, now)
	}
	var num [20]byte
	for {
		var crc uint32
		if ps.rehash > 0 {
			crc = crc32.ChecksumIEEE(strconv.AppendUint(num[:0], uint64(ps.rehash), 10))
		}
		crc = crc32.Update(crc, crc32.IEEETable, ps.key)
		ps.hash += crc >> 16 & 0x7fff
		ps.rehash++
		if i := byWeight(g, ps.hash%h.total); g.available(i, ps.tried, now) {
			return i
		}
		if ps.tries++; ps.tries > maxHashTries {
			return roundRobin{}.Pick(g, st, ps, now)
		}
	}
}

// chashPicker is "hash KEY consistent": a ring of 160 points per weight
// of each primary server, the points of a server the crc32 of its
// address as written ("host\0port", then the previous point's 4 bytes in
// little-endian order), as Cache::Memcached::Fast. A key goes to the
// first point at or after its crc32; a point whose servers may not be
// used passes the request to the next point.
type chashPicker struct {
	key    *rewrite.Complex
	points []chashPoint
	names  []int // per server: the number of its address as written
}

type chashPoint struct {
	hash uint32
	name int
}

func (h *chashPicker) init(g *Group) {
	ids := map[string]int{}
	h.names = make([]int, len(g.Servers))
	for i, s := range g.Servers {
		id, ok := ids[s.Name]
		if !ok {
			id = len(ids)
			ids[s.Name] = id
		}
		h.names[i] = id
	}
	for i, s := range g.Servers {
		if s.Backup {
			continue
		}
		base := crc32.Update(0, crc32.IEEETable, chashBase(s.Name))
		var prev [4]byte
		for range s.Weight * 160 {
			hash := crc32.Update(base, crc32.IEEETable, prev[:])
			h.points = append(h.points, chashPoint{hash: hash, name: h.names[i]})
			prev = [4]byte{byte(hash), byte(hash >> 8), byte(hash >> 16), byte(hash >> 24)}
		}
	}
	// Sorted by hash; of points with the same hash one is kept, which
	// one as nginx's qsort leaves it (stable here: the first server's).
	slices.SortStableFunc(h.points, func(a, b chashPoint) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return 0
	})
	h.points = slices.CompactFunc(h.points, func(a, b chashPoint) bool { return a.hash == b.hash })
}

// chashBase is what a server's points hash first: "host\0port" of its
// address, the whole of it when it does not end in ":port", the path of
// a unix socket.
func chashBase(name string) []byte {
	host, port := name, ""
	if len(name) >= 5 && strings.EqualFold(name[:5], "unix:") {
		host = name[5:]
	} else {
		for j := len(name) - 1; j >= 0; j-- {
			c := name[j]
			if c == ':' {
				host, port = name[:j], name[j+1:]
				break
			}
			if c < '0' || c > '9' {
				break
			}
		}
	}
	return []byte(host + "\x00" + port)
}

func (h *chashPicker) start(s *rewrite.State, ps *pickState) {
	ps.key = h.key.Eval(s, ps.key[:0])
	crc := crc32.ChecksumIEEE(ps.key)
	// The first point at or after crc (len(points): the ring wraps).
	i, _ := slices.BinarySearchFunc(h.points, crc, func(p chashPoint, t uint32) int {
		switch {
		case p.hash < t:
			return -1
		case p.hash > t:
			return 1
		}
		return 0
	})
	ps.hash = uint32(i)
}

func (h *chashPicker) Pick(g *Group, st *rewrite.State, ps *pickState, now time.Time) int {
	if ps.tries > maxHashTries || g.single() || len(ps.key) == 0 {
		return roundRobin{}.Pick(g, st, ps, now)
	}
	for {
		name := h.points[ps.hash%uint32(len(h.points))].name
		// The servers of that address share its points: smooth
		// weighted round robin between those that may be used.
		best, total := -1, 0
		for i, s := range g.Servers {
			if s.Backup || h.names[i] != name || !g.available(i, ps.tried, now) {
				continue
			}
			total += s.weigh()
			if best < 0 || s.currentWeight > g.Servers[best].currentWeight {
				best = i
			}
		}
		if best >= 0 {
			g.Servers[best].currentWeight -= total
			return best
		}
		ps.hash++
		if ps.tries++; ps.tries > maxHashTries {
			return roundRobin{}.Pick(g, st, ps, now)
		}
	}
}
