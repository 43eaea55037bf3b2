package upstream

import (
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// proxy_redirect on Location and Refresh, as nginx 1.22 rewrites them
// (checked against it with the same backend answer).
func TestProxyRedirect(t *testing.T) {
	const answer = "HTTP/1.1 302 Found\r\nLocation: http://BACKEND/one/two\r\nRefresh: 7; URL=http://BACKEND/one/two\r\nContent-Length: 0\r\n\r\n"
	tests := []struct {
		name, location, prefix    string
		wantLocation, wantRefresh string
	}{
		{"implicit default with a URI part", "proxy_pass http://BACKEND/one/;", "/p/",
			"http://h:PORT/p/two", "7; URL=/p/two"},
		{"implicit default without", "proxy_pass http://BACKEND;", "/p/",
			"http://h:PORT/one/two", "7; URL=/one/two"},
		{"variable in the replacement", `set $v var; proxy_pass http://BACKEND/; proxy_redirect http://BACKEND/ /$v/;`, "/p/",
			"http://h:PORT/var/one/two", "7; URL=/var/one/two"},
		{"variable in the pattern", `set $v one; proxy_pass http://BACKEND/; proxy_redirect http://BACKEND/$v/ /x/;`, "/p/",
			"http://h:PORT/x/two", "7; URL=/x/two"},
		{"prefix compared byte for byte", `proxy_pass http://BACKEND/; proxy_redirect HTTP://BACKEND/ /x/;`, "/p/",
			"http://BACKEND/one/two", "7; URL=http://BACKEND/one/two"},
		{"regex replaces the whole value", `proxy_pass http://BACKEND/; proxy_redirect ~/(one)/ /re/$1;`, "/p/",
			"http://h:PORT/re/one", "7; URL=/re/one"},
		{"regex is case-sensitive", `proxy_pass http://BACKEND/; proxy_redirect ~/(ONE)/ /re/$1;`, "/p/",
			"http://BACKEND/one/two", "7; URL=http://BACKEND/one/two"},
		{"~* is caseless", `proxy_pass http://BACKEND/; proxy_redirect ~*/(ONE)/(.*) /re/$2;`, "/p/",
			"http://h:PORT/re/two", "7; URL=/re/two"},
		{"first matching rule wins", `proxy_pass http://BACKEND/; proxy_redirect http://nomatch/ /a/; proxy_redirect http://BACKEND/one/ /b/;`, "/p/",
			"http://h:PORT/b/two", "7; URL=/b/two"},
		{"off", `proxy_pass http://BACKEND/; proxy_redirect off;`, "/p/",
			"http://BACKEND/one/two", "7; URL=http://BACKEND/one/two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t, "")
			be.response = strings.ReplaceAll(answer, "BACKEND", be.addr())
			ps := newProxyServer(t, "", strings.ReplaceAll(tt.location, "BACKEND", be.addr()), tt.prefix)
			_, port, _ := net.SplitHostPort(ps.ln.Addr().String())
			got := roundTrip(t, ps.ln.Addr().String(), "GET /p/a HTTP/1.1\r\nHost: h\r\n\r\n")
			var loc, refresh string
			for _, line := range strings.Split(got, "\r\n") {
				if v, ok := strings.CutPrefix(line, "Location: "); ok {
					loc = v
				}
				if v, ok := strings.CutPrefix(line, "Refresh: "); ok {
					refresh = v
				}
			}
			r := strings.NewReplacer("BACKEND", be.addr(), "PORT", port)
			want := [2]string{r.Replace(tt.wantLocation), r.Replace(tt.wantRefresh)}
			if diff := cmp.Diff(want, [2]string{loc, refresh}); diff != "" {
				t.Errorf("Location, Refresh (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefreshURL(t *testing.T) {
	for in, want := range map[string]int{"7; url=/a": 7, "0;URL=x": 6, "5": -1, "url=": 4, "": -1} {
		if got := refreshURL([]byte(in)); got != want {
			t.Errorf("refreshURL(%q) = %d, want %d", in, got, want)
		}
	}
}
