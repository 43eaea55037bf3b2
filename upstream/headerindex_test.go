package upstream

import (
	"strings"
	"testing"
)

// TestHeaderIn: a client header's name is found among the set headers
// by the length index as by comparing it with each, case aside, for
// names of every length up to past the index's last slot (which names
// that long and longer share); past 64 headers there is no index.
func TestHeaderIn(t *testing.T) {
	var hs []setHeader
	for _, n := range []string{"Host", "Connection", "Keep-Alive", "Content-Length", "Transfer-Encoding", "TE",
		"Expect", "Upgrade", "X-" + strings.Repeat("a", 61), "X-" + strings.Repeat("b", 70)} {
		hs = append(hs, setHeader{name: n, lower: strings.ToLower(n)})
	}
	names := []string{"Host", "Connection", "Upgrade", "HOST", "host", "hosT", "Hosx", "connection", "KEEP-ALIVE", "Keep-Alivf", "te", "T", "",
		"transfer-encoding", "Sec-WebSocket-Key", "X-" + strings.Repeat("A", 61), "X-" + strings.Repeat("A", 62),
		"X-" + strings.Repeat("B", 70), "X-" + strings.Repeat("b", 69)}
	want := map[string]bool{"Host": true, "Connection": true, "Upgrade": true, "HOST": true, "host": true, "hosT": true, "connection": true, "KEEP-ALIVE": true, "te": true,
		"transfer-encoding": true, "X-" + strings.Repeat("A", 61): true, "X-" + strings.Repeat("B", 70): true}
	idx := indexHeaders(hs)
	for _, n := range names {
		if got := headerIn(hs, idx, []byte(n)); got != want[n] {
			t.Errorf("headerIn(%q) with the index = %v, want %v", n, got, want[n])
		}
		if got := headerIn(hs, nil, []byte(n)); got != want[n] {
			t.Errorf("headerIn(%q) without = %v, want %v", n, got, want[n])
		}
	}
	many := make([]setHeader, 65)
	for i := range many {
		many[i] = setHeader{lower: "x"}
	}
	if indexHeaders(many) != nil || indexHeaders(many[:64]) == nil {
		t.Error("indexHeaders: an index for 65 headers, or none for 64")
	}
}
