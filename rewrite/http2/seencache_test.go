package http2

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSeenCache: one set of four ways (bits 0): the four latest strings
// stay, a hit makes its string the latest, a fifth evicts the oldest;
// keys too long or empty are never kept.
func TestSeenCache(t *testing.T) {
	c := NewSeenCache(0, 8)
	var got []string
	get := func(k string) {
		v, ok := c.Get([]byte(k))
		if !ok {
			got = append(got, k+": miss")
			return
		}
		got = append(got, k+": "+string(v))
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		c.Put([]byte(k), []byte(strings.ToUpper(k)))
	}
	get("a") // a is the latest now, b the oldest
	get("d")
	c.Put([]byte("e"), []byte("E")) // evicts b
	get("b")
	get("c")
	get("a")
	get("e")
	c.Put([]byte("toolongkey"), []byte("X"))
	c.Put(nil, []byte("X"))
	get("toolongkey")
	get("")
	get("d")
	want := []string{"a: A", "d: D", "b: miss", "c: C", "a: A", "e: E", "toolongkey: miss", ": miss", "d: D"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
