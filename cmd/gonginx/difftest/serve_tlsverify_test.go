package difftest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// ssl_verify_client against nginx 1.22: clients present good, chained,
// expired, future, foreign, self-signed, revoked and wrong-purpose
// certificates (or none) to servers that verify on, optional and
// optional_no_ca; compared are the status (400 pages for 495 and 496,
// error_page on them, 421 for a Host other than the SNI name), the CA
// names the server asked with, and the $ssl_client_* variables.

const verifyVars = `"v=$ssl_client_verify s=$ssl_client_s_dn i=$ssl_client_i_dn sl=$ssl_client_s_dn_legacy ` +
	`il=$ssl_client_i_dn_legacy serial=$ssl_client_serial fp=$ssl_client_fingerprint ` +
	`start=$ssl_client_v_start end=$ssl_client_v_end remain=$ssl_client_v_remain\n"`

const verifyConfig = `
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name on.test;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_protocols {{PROTOCOLS}};
    ssl_verify_client on;
    ssl_client_certificate ca.pem;
    ssl_verify_depth 2;
    location / { return 200 ` + verifyVars + `; }
    location /cert { return 200 "$ssl_client_cert|$ssl_client_raw_cert|$ssl_client_escaped_cert\n"; }
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name optional.test;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_verify_client optional;
    ssl_client_certificate ca.pem;
    ssl_trusted_certificate other.pem;
    return 200 ` + verifyVars + `;
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name noca.test;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_verify_client optional_no_ca;
    return 200 ` + verifyVars + `;
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name crl.test;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_verify_client on;
    ssl_client_certificate ca.pem;
    ssl_crl crl.pem;
    ssl_verify_depth 2;
    return 200 ` + verifyVars + `;
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name pages.test;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_verify_client on;
    ssl_client_certificate ca.pem;
    error_page 495 496 /err;
    location / { return 200 "served\n"; }
    location /err { return 200 "error page $status v=$ssl_client_verify\n"; }
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name off.test;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    return 200 "off v=$ssl_client_verify s=$ssl_client_s_dn\n";
}
`

// fancyClient is a client certificate whose subject needs RFC 2253's
// escapes: several RDNs, a multi-valued one, a comma, a leading "#",
// non-ASCII text and an attribute OpenSSL has no name for.
func fancyClient(t *testing.T, ca *harness.CA) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.Name{
		Country:            []string{"CH"},
		Organization:       []string{"Acme, Inc.", "#hash"},
		OrganizationalUnit: []string{"Zürich <lab>"},
		CommonName:         " spaced ",
		ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "user@example.com"},
			{Type: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Value: "private"},
		},
	}
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes([]byte{0x00, 0xab, 0xcd, 0xef, 0x01, 0x23}),
		Subject:      subject,
		NotBefore:    time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC),
		NotAfter:     time.Now().Add(40 * 24 * time.Hour).Truncate(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// selfSignedClient is a self-signed client certificate valid until end.
func selfSignedClient(t *testing.T, end time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "self-signed client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: end}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestServeTLSVerifyClient(t *testing.T) {
	t.Parallel()
	nginx, gon := serveNginx(t), serveUnderTest(t)
	ca := harness.NewCA("test root")
	other := harness.NewCA("other root")
	inter := ca.Intermediate("test intermediate")
	now := time.Now()
	// 36 hours left: $ssl_client_v_remain is 1 whenever the request runs
	// (with 24 hours nginx's cached clock may still say a whole day).
	later := now.Add(36 * time.Hour)
	good := ca.Issue(harness.CertSpec{CN: "good client", Client: true, NotAfter: later})
	revoked := ca.Issue(harness.CertSpec{CN: "revoked client", Client: true, NotAfter: later})
	viaInter := inter.Issue(harness.CertSpec{CN: "chained client", Client: true, NotAfter: later})
	chained := viaInter.TLS
	chained.Certificate = append(chained.Certificate, inter.Cert.Raw)
	certs := map[string]tls.Certificate{
		"good":       good.TLS,
		"chained":    chained,
		"no chain":   viaInter.TLS,
		"expired":    ca.Issue(harness.CertSpec{CN: "expired", Client: true, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}).TLS,
		"future":     ca.Issue(harness.CertSpec{CN: "future", Client: true, NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(48 * time.Hour)}).TLS,
		"foreign":    other.Issue(harness.CertSpec{CN: "foreign", Client: true, NotAfter: later}).TLS,
		"selfsigned": selfSignedClient(t, later),
		"server use": ca.Issue(harness.CertSpec{CN: "server purpose", NotAfter: later}).TLS,
		"revoked":    revoked.TLS,
		"fancy":      fancyClient(t, ca),
	}
	req := func(name, sni, host, path, cert string) harness.Request {
		r := serveRaw(name, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
		r.ShowTLS, r.SNI, r.NoSNI = true, sni, sni == ""
		if cert != "" {
			c := certs[cert]
			r.ClientCert = &c
		}
		return r
	}
	var requests []harness.Request
	for _, name := range []string{"", "good", "chained", "no chain", "expired", "future", "foreign", "selfsigned", "server use", "fancy"} {
		requests = append(requests,
			req("on: "+name, "on.test", "on.test", "/", name),
			req("optional: "+name, "optional.test", "optional.test", "/", name),
			req("optional_no_ca: "+name, "noca.test", "noca.test", "/", name))
	}
	requests = append(requests,
		req("pem forms", "on.test", "on.test", "/cert", "fancy"),
		req("crl: good", "crl.test", "crl.test", "/", "good"),
		req("crl: revoked", "crl.test", "crl.test", "/", "revoked"),
		req("crl: chained", "crl.test", "crl.test", "/", "chained"),
		req("error_page: none", "pages.test", "pages.test", "/", ""),
		req("error_page: foreign", "pages.test", "pages.test", "/", "foreign"),
		req("error_page: good", "pages.test", "pages.test", "/", "good"),
		req("misdirected to a verifying server", "off.test", "on.test", "/", "good"),
		req("host of a server not verifying", "on.test", "off.test", "/", "good"),
		req("no sni, host verifying", "", "optional.test", "/", "good"),
		req("unknown sni", "unknown.test", "on.test", "/", "good"),
		req("off: not asked", "off.test", "off.test", "/", "good"),
	)
	for _, proto := range []string{"TLSv1.2", "TLSv1.2 TLSv1.3"} {
		c := harness.Case{
			Name:   "verify client " + proto,
			Config: strings.ReplaceAll(verifyConfig, "{{PROTOCOLS}}", proto),
			Files:  serveArticleFiles,
			Content: map[string]string{
				"ca.pem":    ca.PEM,
				"other.pem": other.PEM,
				"crl.pem":   ca.CRL(revoked.Serial) + inter.CRL(),
			},
			TLS:      true,
			SNI:      "on.test",
			Requests: requests,
		}
		t.Run(proto, func(t *testing.T) { harness.Compare(t, c, nginx, gon, serveAssets(t)) })
	}
}
