package upstream

import (
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A cache hit's Location goes through proxy_redirect default as the
// miss's did: the location's prefix replaces proxy_pass's URI part (nginx
// runs the cached head through the proxy's header handling with the
// request's location). The hit used an exchange of its own, whose prefix
// was another request's or none.
func TestCacheHitRedirectDefault(t *testing.T) {
	be := newBackend(t, "")
	be.response = "HTTP/1.1 301 Moved\r\nLocation: http://" + be.addr() + "/q/zz\r\nContent-Length: 0\r\n\r\n"
	be.close = true
	ps := newProxyServer(t, "proxy_cache_path "+t.TempDir()+" levels=1:2 keys_zone=z:1m;",
		"proxy_pass http://"+be.addr()+"/q/; proxy_cache z; proxy_cache_valid 301 1h;",
		"/cached-redirect/")
	_, port, _ := net.SplitHostPort(ps.ln.Addr().String())
	want := "Location: http://foo:" + port + "/cached-redirect/zz\r\n"
	for i, status := range []string{"miss", "hit"} {
		got := normalize(roundTrip(t, ps.ln.Addr().String(), "GET /cached-redirect/a HTTP/1.1\r\nHost: foo\r\nConnection: close\r\n\r\n"))
		if n := be.connCount(); n != 1 {
			t.Fatalf("request %d (%s): the backend had %d connections, want 1", i, status, n)
		}
		line := got[strings.Index(got, "Location: "):]
		line = line[:strings.Index(line, "\n")+1]
		if d := cmp.Diff(want, line); d != "" {
			t.Errorf("request %d (%s): Location (-want +got):\n%s", i, status, d)
		}
	}
}
