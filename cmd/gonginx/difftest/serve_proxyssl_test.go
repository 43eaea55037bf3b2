package difftest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// proxy_ssl_* against nginx 1.22: a TLS backend (Go) presents good, expired, future,
// self-signed, foreign, chained and revoked certificates; locations verify them or not, send
// SNI or not, present a client certificate or not. Compared: what the client gets, what the
// backend saw of the handshake (version, cipher, SNI name, client certificate, resumption) and
// the error log's messages ("upstream SSL certificate verify error: (10:certificate has
// expired)").

func sslGet(name, target string, extra ...string) harness.Request {
	return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\n"+strings.Join(extra, "")+"Connection: close\r\n\r\n")
}

// sslLocations are the locations every case serves; {{B}} is the backend.
const sslLocations = `
upstream backend.test { server {{BACKEND}}; }
upstream two { server {{BACKEND}}; server 127.0.0.1:{{BACKEND_PORT}}; }
server {
    listen 127.0.0.1:{{PORT}};
    proxy_ssl_trusted_certificate ca.pem;
    # One session is kept per backend server whichever location made it, and
    # a resumed session keeps the verify result of the handshake that made
    # it: only /off/ reuses sessions, so that each check below runs.
    proxy_ssl_session_reuse off;
    location /off/ { proxy_pass https://{{BACKEND}}; proxy_ssl_session_reuse on; }
    location /verify/ { proxy_pass https://{{BACKEND}}; proxy_ssl_verify on; proxy_ssl_name backend.test; }
    location /verify-addr/ { proxy_pass https://{{BACKEND}}; proxy_ssl_verify on; }
    location /verify-upstream/ { proxy_pass https://backend.test; proxy_ssl_verify on; proxy_ssl_server_name on; }
    location /wild/ { proxy_pass https://{{BACKEND}}; proxy_ssl_verify on; proxy_ssl_name a.wild.test; }
    location /wild-deep/ { proxy_pass https://{{BACKEND}}; proxy_ssl_verify on; proxy_ssl_name a.b.wild.test; }
    location /name-var/ { proxy_pass https://{{BACKEND}}; proxy_ssl_verify on; proxy_ssl_server_name on; proxy_ssl_name $http_x_name; }
    location /sni/ { proxy_pass https://{{BACKEND}}; proxy_ssl_server_name on; proxy_ssl_name backend.test:8443; }
    location /sni-addr/ { proxy_pass https://{{BACKEND}}; proxy_ssl_server_name on; }
    location /sni-upstream/ { proxy_pass https://backend.test; proxy_ssl_server_name on; }
    location /other-ca/ { proxy_pass https://{{BACKEND}}; proxy_ssl_verify on; proxy_ssl_trusted_certificate other.pem; proxy_ssl_name backend.test; }
    location /depth0/ { proxy_pass https://{{BACKEND}}; proxy_ssl_verify on; proxy_ssl_verify_depth 0; proxy_ssl_name backend.test; }
    location /crl/ { proxy_pass https://{{BACKEND}}; proxy_ssl_verify on; proxy_ssl_crl crl.pem; proxy_ssl_name backend.test; }
    location /crl-partial/ { proxy_pass https://{{BACKEND}}; proxy_ssl_verify on; proxy_ssl_crl leafcrl.pem; proxy_ssl_name backend.test; }
    location /mtls/ { proxy_pass https://{{BACKEND}}; proxy_ssl_certificate client.pem; proxy_ssl_certificate_key client.key; }
    location /mtls-password/ { proxy_pass https://{{BACKEND}}; proxy_ssl_certificate client.pem; proxy_ssl_certificate_key client-enc.key; proxy_ssl_password_file passwords; }
    location /mtls-var/ { proxy_pass https://{{BACKEND}}; proxy_ssl_certificate $http_x_cert; proxy_ssl_certificate_key $http_x_key; proxy_ssl_password_file passwords; }
    location /tls13/ { proxy_pass https://{{BACKEND}}; proxy_ssl_protocols TLSv1.2 TLSv1.3; }
    location /conf-cert/ { proxy_pass https://{{BACKEND}}; proxy_ssl_conf_command Certificate client.pem; proxy_ssl_conf_command PrivateKey client.key; }
    location /ciphers/ { proxy_pass https://{{BACKEND}}; proxy_ssl_ciphers "ECDHE+AES128:!SHA1:!SHA256"; }
    location /two/ { proxy_pass https://two; proxy_ssl_verify on; proxy_ssl_name backend.test; }
    location /seclevel0/ { proxy_pass https://{{BACKEND}}; proxy_ssl_ciphers "DEFAULT:@SECLEVEL=0"; }
    location /noreuse/ { proxy_pass https://{{BACKEND}}; }
    location /var/ { proxy_pass https://$http_x_backend; proxy_ssl_server_name on; proxy_ssl_verify on; proxy_ssl_name backend.test; }
}
`

func TestServeProxySSL(t *testing.T) {
	t.Parallel()
	nginx, gon := serveNginx(t), serveUnderTest(t)
	ca := harness.NewCA("test root")
	other := harness.NewCA("other root")
	inter := ca.Intermediate("test intermediate")
	names := []string{"backend.test", "*.wild.test"}
	good := ca.Issue(harness.CertSpec{CN: "backend.test", DNS: names})
	client := ca.Issue(harness.CertSpec{CN: "proxy client", Client: true})
	now := time.Now()
	leafCRL := ca.Issue(harness.CertSpec{CN: "unused"})
	files := map[string]string{
		"ca.pem":      ca.PEM,
		"other.pem":   other.PEM,
		"client.pem":  client.CertPEM,
		"client.key":  client.KeyPEM,
		"crl.pem":     ca.CRL(leafCRL.Serial),
		"leafcrl.pem": inter.CRL(),
		// A legacy-encrypted PEM key, the password on the second line.
		"client-enc.key": encryptedKey(t, client, "secret"),
		"passwords":      "wrong\nsecret\n",
	}
	chained := inter.Issue(harness.CertSpec{CN: "backend.test", DNS: names})
	chainedTLS := chained.TLS
	chainedTLS.Certificate = append(chainedTLS.Certificate, inter.Cert.Raw)
	revoked := ca.Issue(harness.CertSpec{CN: "backend.test", DNS: names})
	files["crl-revoked.pem"] = ca.CRL(revoked.Serial)

	all := []harness.Request{
		sslGet("no verify", "/off/x"),
		sslGet("no verify, session resumed", "/off/y"),
		sslGet("verify", "/verify/x"),
		sslGet("verify the address name", "/verify-addr/x"),
		sslGet("verify the upstream name", "/verify-upstream/x"),
		sslGet("wildcard", "/wild/x"),
		sslGet("wildcard two labels deep", "/wild-deep/x"),
		sslGet("name from a variable", "/name-var/x", "X-Name: backend.test\r\n"),
		sslGet("name from a variable, mismatch", "/name-var/x", "X-Name: other.test\r\n"),
		sslGet("SNI with the port stripped", "/sni/x"),
		sslGet("no SNI for an address", "/sni-addr/x"),
		sslGet("SNI from the upstream name", "/sni-upstream/x"),
		sslGet("foreign CA", "/other-ca/x"),
		sslGet("depth 0", "/depth0/x"),
		sslGet("CRL", "/crl/x"),
		sslGet("CRL missing for the root", "/crl-partial/x"),
		sslGet("client certificate", "/mtls/x"),
		sslGet("client certificate, encrypted key", "/mtls-password/x"),
		sslGet("client certificate from variables", "/mtls-var/x", "X-Cert: client.pem\r\nX-Key: client-enc.key\r\n"),
		sslGet("client certificate from variables, empty", "/mtls-var/x"),
		sslGet("client certificate from variables, missing", "/mtls-var/x", "X-Cert: nope.pem\r\nX-Key: client.key\r\n"),
		sslGet("client certificate from variables, key missing", "/mtls-var/x", "X-Cert: client.pem\r\nX-Key: nope.key\r\n"),
		sslGet("TLS 1.3 allowed", "/tls13/x"),
		sslGet("client certificate by proxy_ssl_conf_command", "/conf-cert/x"),
		sslGet("ciphers", "/ciphers/x"),
		sslGet("no session reuse", "/noreuse/x"),
		sslGet("no session reuse again", "/noreuse/y"),
		sslGet("URL with variables", "/var/x", "X-Backend: 127.0.0.1:{{BACKEND_PORT}}\r\n"),
	}
	verifying := []harness.Request{
		sslGet("no verify", "/off/x"),
		sslGet("two servers", "/two/x"),
		sslGet("verify", "/verify/x"),
		sslGet("depth 0", "/depth0/x"),
		sslGet("CRL", "/crl/x"),
	}
	cases := []struct {
		name     string
		cert     tls.Certificate
		requests []harness.Request
		crl      string
		maxVer   uint16
	}{
		{"good certificate", good.TLS, all, "", 0},
		{"expired", ca.Issue(harness.CertSpec{CN: "backend.test", DNS: names, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}).TLS, verifying, "", 0},
		{"not yet valid", ca.Issue(harness.CertSpec{CN: "backend.test", DNS: names, NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(48 * time.Hour)}).TLS, verifying, "", 0},
		{"foreign CA", other.Issue(harness.CertSpec{CN: "backend.test", DNS: names}).TLS, verifying, "", 0},
		{"self-signed", harness.NewCA("backend.test").TLS(), verifying, "", 0},
		{"common name only", ca.Issue(harness.CertSpec{CN: "backend.test"}).TLS, verifying, "", 0},
		{"through an intermediate", chainedTLS, verifying, "", 0},
		{"revoked", revoked.TLS, verifying, files["crl-revoked.pem"], 0},
		// OpenSSL 3 refuses TLS 1.0 and 1.1 at its default security level,
		// though proxy_ssl_protocols lists them by default.
		{"TLS 1.1 backend", good.TLS, []harness.Request{sslGet("default", "/off/x"), sslGet("@SECLEVEL=0", "/seclevel0/x")}, "", tls.VersionTLS11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			content := map[string]string{}
			for k, v := range files {
				content[k] = v
			}
			if tc.crl != "" {
				content["crl.pem"] = tc.crl
			}
			c := harness.Case{
				Name:          tc.name,
				Config:        sslLocations,
				Content:       content,
				ErrorMessages: true,
				BackendTLS: &tls.Config{
					Certificates: []tls.Certificate{tc.cert},
					ClientAuth:   tls.RequestClientCert,
					MinVersion:   tls.VersionTLS10,
					MaxVersion:   tc.maxVer,
				},
				Requests: tc.requests,
			}
			harness.Compare(t, c, nginx, gon, serveAssets(t))
		})
	}
}

// encryptedKey is the key of c as a legacy-encrypted "EC PRIVATE KEY" PEM block, the kind
// proxy_ssl_password_file unlocks.
func encryptedKey(t *testing.T, c harness.Issued, password string) string {
	der, err := x509.MarshalECPrivateKey(c.TLS.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 nginx reads legacy encrypted PEM keys; this makes one
	b, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", der, []byte(password), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(b))
}
