// Package geoiptest builds small legacy GeoIP databases (.dat) for tests:
// a binary tree over the given prefixes and the records after it, laid
// out as libGeoIP reads them.
package geoiptest

import "net/netip"

const countryBegin = 16776960

type node struct {
	child  [2]*node
	leaf   [2]uint32
	isLeaf [2]bool
}

// tree maps prefixes to results (already offset by the segment).
type tree struct {
	root  *node
	bits  int
	empty uint32 // the result of addresses no prefix covers
}

func newTree(bits int, empty uint32) *tree { return &tree{root: &node{}, bits: bits, empty: empty} }

func (t *tree) add(p netip.Prefix, result uint32) {
	a := p.Addr()
	if t.bits == 128 {
		a = netip.AddrFrom16(a.As16())
	}
	b := a.AsSlice()
	n := t.root
	for i := 0; i < p.Bits(); i++ {
		bit := b[i/8] >> (7 - i%8) & 1
		if i == p.Bits()-1 {
			n.leaf[bit], n.isLeaf[bit] = result, true
			return
		}
		if n.child[bit] == nil {
			n.child[bit] = &node{}
		}
		n = n.child[bit]
	}
}

// encode writes the tree's nodes (root first) with recLen-byte pointers;
// results are written as given.
func (t *tree) encode(recLen int) []byte {
	var nodes []*node
	index := map[*node]uint32{}
	var walk func(n *node)
	walk = func(n *node) {
		index[n] = uint32(len(nodes))
		nodes = append(nodes, n)
		for _, c := range n.child {
			if c != nil {
				walk(c)
			}
		}
	}
	walk(t.root)
	var out []byte
	for _, n := range nodes {
		for side := 0; side < 2; side++ {
			v := t.empty
			switch {
			case n.isLeaf[side]:
				v = n.leaf[side]
			case n.child[side] != nil:
				v = index[n.child[side]]
			}
			for j := 0; j < recLen; j++ {
				out = append(out, byte(v>>(8*j)))
			}
		}
	}
	return out
}

func (t *tree) nodes() int {
	count := 0
	var walk func(n *node)
	walk = func(n *node) {
		count++
		for _, c := range n.child {
			if c != nil {
				walk(c)
			}
		}
	}
	walk(t.root)
	return count
}

func le3(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16)} }

// CountryDB builds a country edition (IPv6 when v6) mapping prefixes to
// country ids.
func CountryDB(v6 bool, ids map[string]int) []byte {
	bits, edition := 32, byte(1)
	if v6 {
		bits, edition = 128, 12
	}
	t := newTree(bits, countryBegin)
	for p, id := range ids {
		t.add(netip.MustParsePrefix(p), countryBegin+uint32(id))
	}
	out := t.encode(3)
	return append(out, 0, 0, 0, 0xff, 0xff, 0xff, edition)
}

// CityRecord is one record of a city edition as libGeoIP lays it out.
func CityRecord(country byte, region, city, postal string, lat, lon float64, combo uint32, us bool) []byte {
	r := []byte{country}
	for _, s := range []string{region, city, postal} {
		r = append(r, s...)
		r = append(r, 0)
	}
	r = append(r, le3(uint32((lat+180)*10000+0.5))...)
	r = append(r, le3(uint32((lon+180)*10000+0.5))...)
	if us {
		r = append(r, le3(combo)...)
	}
	return r
}

// RecordDB builds a database of records (city or org editions): the tree
// maps each prefix to its record, the records follow the tree, and the
// structure info names the edition and the tree's size.
func RecordDB(edition byte, recLen int, bits int, prefixes []string, records [][]byte) []byte {
	// The tree's size must be known to write the pointers: build once to
	// count the nodes.
	t := newTree(bits, 0)
	for _, p := range prefixes {
		t.add(netip.MustParsePrefix(p), 0)
	}
	segments := uint32(t.nodes())
	t = newTree(bits, segments)
	// A result x points at x + (2*recLen-1)*segments: the byte after the
	// tree is x == segments; one padding byte keeps x == segments "none".
	offset := uint32(1)
	var recs []byte
	for i, p := range prefixes {
		t.add(netip.MustParsePrefix(p), segments+offset)
		recs = append(recs, records[i]...)
		offset += uint32(len(records[i]))
	}
	out := t.encode(recLen)
	out = append(out, 0)
	out = append(out, recs...)
	out = append(out, 0xff, 0xff, 0xff, edition)
	return append(out, le3(segments)...)
}
