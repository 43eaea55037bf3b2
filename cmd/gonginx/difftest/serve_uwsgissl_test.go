package difftest

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// uwsgi over TLS (suwsgi://) with the uwsgi_ssl_* settings, nginx vs
// gonginx: a TLS uwsgi backend of the test's own that asks for a client
// certificate and answers with the one it got; locations verify it or
// not and present a certificate or not.
func TestServeUWSGISSL(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	ca := harness.NewCA("uwsgi root")
	server := ca.Issue(harness.CertSpec{CN: "backend.test", DNS: []string{"backend.test"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	client := ca.Issue(harness.CertSpec{CN: "uwsgi client", Client: true})
	be := startCGIServerTLS(t, true, &tls.Config{Certificates: []tls.Certificate{server.TLS}, ClientAuth: tls.RequestClientCert})
	addr := be.addr()
	c := harness.Case{Name: "suwsgi", ErrorMessages: true,
		Content: map[string]string{"ca.pem": ca.PEM, "client.pem": client.CertPEM, "client.key": client.KeyPEM,
			"other.pem": harness.NewCA("other").PEM},
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    uwsgi_param DOCUMENT_URI $uri;
    # A resumed session keeps the client certificate and the verify result
    # of the handshake that made it (one session per backend server,
    # whichever location made it): each check below makes its own.
    uwsgi_ssl_session_reuse off;
    location /plain/ { uwsgi_pass suwsgi://` + addr + `; }
    location /cert/ {
        uwsgi_pass suwsgi://` + addr + `;
        uwsgi_ssl_certificate client.pem;
        uwsgi_ssl_certificate_key client.key;
    }
    location /cert-var/ {
        uwsgi_pass suwsgi://` + addr + `;
        uwsgi_ssl_certificate $http_x_cert;
        uwsgi_ssl_certificate_key client.key;
    }
    location /verify/ {
        uwsgi_pass suwsgi://` + addr + `;
        uwsgi_ssl_verify on;
        uwsgi_ssl_trusted_certificate ca.pem;
        uwsgi_ssl_name backend.test;
    }
    location /verify-other/ {
        uwsgi_pass suwsgi://` + addr + `;
        uwsgi_ssl_verify on;
        uwsgi_ssl_trusted_certificate other.pem;
        uwsgi_ssl_name backend.test;
    }
    location /var/ {
        set $be suwsgi://` + addr + `;
        uwsgi_pass $be;
        uwsgi_ssl_certificate client.pem;
        uwsgi_ssl_certificate_key client.key;
    }
}
`}
	get := func(name, target string, extra string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\n"+extra+"Connection: close\r\n\r\n")
	}
	c.Requests = []harness.Request{
		get("no client certificate", "/plain/peer", ""),
		get("client certificate", "/cert/peer", ""),
		get("client certificate from a variable", "/cert-var/peer", "X-Cert: client.pem\r\n"),
		get("verified", "/verify/peer", ""),
		get("foreign CA", "/verify-other/peer", ""),
		get("address with variables", "/var/peer", ""),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
