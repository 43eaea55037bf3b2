package difftest

import (
	"crypto/tls"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Session resumption against nginx 1.22: tickets (the default), and with
// "ssl_session_tickets off" the session cache (shared, builtin, none,
// off), over TLS 1.2 and 1.3; a server whose SNI name has no certificates
// of its own resumes in the default server's cache. Compared: whether the
// second connection resumed and $ssl_session_reused. Over TLS 1.2 only
// ticket servers are compared: nginx resumes a cached session by its ID,
// which crypto/tls cannot (gonginx resumes it by a ticket that is its
// cache key, which the ticket-only Go client uses where it gets no
// resumption from nginx).
func TestServeTLSSessionCache(t *testing.T) {
	t.Parallel()
	nginx, gon := serveNginx(t), serveUnderTest(t)
	server := func(name, cache string) string {
		return `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name ` + name + `;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_session_tickets off;
    ` + cache + `
    return 200 "r=$ssl_session_reused p=$ssl_protocol\n";
}
`
	}
	c := harness.Case{
		Name: "session cache",
		Config: `ssl_protocols TLSv1.2 TLSv1.3;
` + server("shared.test", "ssl_session_cache shared:S:1m;") + server("builtin.test", "ssl_session_cache builtin:100;") +
			server("none.test", "ssl_session_cache none;") + server("off.test", "ssl_session_cache off;") +
			server("both.test", "ssl_session_cache builtin shared:T:1m;") + `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name tickets.test;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    return 200 "r=$ssl_session_reused p=$ssl_protocol\n";
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name nocert.test;
    return 200 "nocert r=$ssl_session_reused\n";
}
`,
		Files: serveArticleFiles,
		TLS:   true,
		SNI:   "shared.test",
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, name := range []string{"shared.test", "builtin.test", "none.test", "off.test", "both.test", "tickets.test", "nocert.test"} {
			if v == tls.VersionTLS12 && name != "tickets.test" {
				continue
			}
			r := tlsGet(name+" "+tls.VersionName(v), name)
			r.SNI, r.TLSMax, r.Resume = name, v, true
			c.Requests = append(c.Requests, r)
		}
	}
	harness.Compare(t, c, nginx, gon, serveAssets(t))
}
