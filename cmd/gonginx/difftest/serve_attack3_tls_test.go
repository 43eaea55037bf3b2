package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The third attack audit, TLS: a Host (or :authority on an HTTP/2 connection) naming a server
// other than the one the SNI chose, where either verifies client certificates (nginx answers
// 421 when the server the Host selects verifies: the handshake's verification was another
// server's), SNI forms (case, a trailing dot, none), and ALPN lists nginx's OpenSSL callback
// ignores where none matches.
func TestServeAttack3TLSNames(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	server := func(name, extra string) string {
		return `server {
    listen 127.0.0.1:{{PORT}} ssl http2;
    server_name ` + name + `;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ` + extra + `
    location / { return 200 "` + name + ` host=$host sni=$ssl_server_name v=$ssl_client_verify alpn=$ssl_alpn_protocol proto=$server_protocol\n"; }
}
`
	}
	c := harness.Case{Name: "tls names", Files: serveArticleFiles, TLS: true, SNI: "open.test",
		Config: server("open.test", "") + server("verify.test", "ssl_verify_client optional_no_ca;") +
			server("strict.test", "ssl_verify_client on; ssl_client_certificate {{CERT}};")}
	get := func(name, sni, host string, h2 bool) harness.Request {
		r := serveRaw(name, "GET / HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
		r.SNI, r.H2 = sni, h2
		if sni == "" {
			r.NoSNI = true
		}
		return r
	}
	for _, h2 := range []bool{false, true} {
		p := "http/1.1 "
		if h2 {
			p = "h2 "
		}
		c.Requests = append(c.Requests,
			get(p+"sni open, host open", "open.test", "open.test", h2),
			get(p+"sni open, host verify", "open.test", "verify.test", h2),
			get(p+"sni open, host strict", "open.test", "strict.test", h2),
			get(p+"sni verify, host open", "verify.test", "open.test", h2),
			get(p+"sni verify, host verify", "verify.test", "verify.test", h2),
			get(p+"sni verify, host VERIFY.TEST", "verify.test", "VERIFY.TEST", h2),
			get(p+"sni verify, host verify.test.", "verify.test", "verify.test.", h2),
			get(p+"sni verify, host verify.test:443", "verify.test", "verify.test:443", h2),
			get(p+"sni VERIFY.TEST, host verify", "VERIFY.TEST", "verify.test", h2),
			get(p+"sni verify, host unknown", "verify.test", "unknown.test", h2),
			get(p+"sni unknown, host verify", "unknown.test", "verify.test", h2),
			get(p+"no sni, host verify", "", "verify.test", h2),
			get(p+"no sni, host open", "", "open.test", h2),
			get(p+"sni strict, host open", "strict.test", "open.test", h2),
		)
	}
	// HTTP/2 streams on one connection the SNI opened for open.test: the second names a
	// verifying server (connection coalescing).
	coalesce := harness.Request{Name: "h2 coalesced stream to a verifying server", H2: true, SNI: "open.test",
		Send: []string{"GET / HTTP/1.1\r\nHost: open.test\r\n\r\n", "GET / HTTP/1.1\r\nHost: verify.test\r\n\r\n",
			"GET / HTTP/1.1\r\nHost: strict.test\r\n\r\n", "GET / HTTP/1.1\r\nHost: open.test\r\n\r\n"}}
	c.Requests = append(c.Requests, coalesce)
	for _, alpn := range [][]string{{"http/1.1"}, {"h2"}, {"h2", "http/1.1"}, {"http/1.0"}, {"foo"}, {"h3"}, {"spdy/3.1", "http/1.1"},
		{"http/1.1", "h2"}, {"HTTP/1.1"}} {
		r := get("alpn "+fmtList(alpn), "open.test", "open.test", false)
		r.ALPN, r.ShowTLS = alpn, true
		c.Requests = append(c.Requests, r)
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

func fmtList(xs []string) string {
	s := "["
	for i, x := range xs {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s + "]"
}
