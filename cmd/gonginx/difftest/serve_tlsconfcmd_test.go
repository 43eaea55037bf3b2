package difftest

import (
	"crypto/tls"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// ssl_conf_command against nginx 1.22: Options SessionTicket and
// ServerPreference (set and cleared) change resumption and the suite
// chosen; Certificate and PrivateKey replace the certificate of their
// key type (here add an ECDSA one beside the RSA one).
func TestServeTLSConfCommand(t *testing.T) {
	t.Parallel()
	nginx, gon := serveNginx(t), serveUnderTest(t)
	ec, ecKey := ecCert(t, "override.test")
	c := harness.Case{
		Name: "ssl_conf_command",
		Config: `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name www.my-api.com;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_protocols TLSv1.2;
    ssl_session_tickets off;
    ssl_conf_command Options SessionTicket;
    ssl_prefer_server_ciphers on;
    ssl_conf_command Options -ServerPreference;
    ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256;
    ssl_conf_command Certificate ec.pem;
    ssl_conf_command PrivateKey ec.key;
    return 200 "r=$ssl_session_reused c=$ssl_cipher\n";
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name notickets.test;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_conf_command Options -SessionTicket,ServerPreference;
    return 200 "r=$ssl_session_reused c=$ssl_cipher\n";
}
`,
		Files:   serveArticleFiles,
		Content: map[string]string{"ec.pem": ec, "ec.key": ecKey},
		TLS:     true,
		SNI:     serveHost,
	}
	resumed := tlsGet("tickets on by command", serveHost)
	resumed.Resume = true
	rsaFirst := tlsGet("client order, RSA suites only", serveHost)
	rsaFirst.Ciphers = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}
	ecFirst := tlsGet("client order, ECDSA first", serveHost)
	ecFirst.Ciphers = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	noTickets := tlsGet("tickets off by command", "notickets.test")
	noTickets.SNI, noTickets.Resume, noTickets.TLSMax = "notickets.test", true, tls.VersionTLS12
	c.Requests = []harness.Request{resumed, rsaFirst, ecFirst, noTickets}
	harness.Compare(t, c, nginx, gon, serveAssets(t))
}
