package difftest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"golang.org/x/crypto/ocsp"
)

// TLS as nginx 1.22 (with Debian's OpenSSL 3.0) serves it: "ssl on", the
// $ssl_* variables, ssl_reject_handshake, several certificates, certificates
// named by variables, and the settings that change what a client receives.

// ecCert returns a self-signed ECDSA P-256 certificate and key (PEM) for cn.
func ecCert(t *testing.T, cn string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func tlsGet(name, host string) harness.Request {
	r := serveRaw(name, "GET / HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
	r.ShowTLS = true
	return r
}

// The variables nginx's ssl module defines, over TLS 1.2 and 1.3 and on a
// plain listener ($ssl_session_id is random: only whether it is set).
func TestServeTLSVariables(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const vars = `"p=$ssl_protocol c=$ssl_cipher cs=$ssl_ciphers cv=$ssl_curve cvs=$ssl_curves sn=$ssl_server_name ` +
		`r=$ssl_session_reused ed=$ssl_early_data alpn=$ssl_alpn_protocol https=$https scheme=$scheme ` +
		`v=$ssl_client_verify cc=$ssl_client_cert sdn=$ssl_client_s_dn fp=$ssl_client_fingerprint\n"`
	c := harness.Case{
		Name: "ssl variables",
		Config: `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name www.my-api.com;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
        if ($ssl_session_id = "") { return 500; }
        return 200 ` + vars + `;
    }
}
`,
		Files: serveArticleFiles,
		TLS:   true,
		SNI:   serveHost,
	}
	tls12 := tlsGet("tls 1.2", serveHost)
	tls12.TLSMax = tls.VersionTLS12
	tls12ALPN := tlsGet("tls 1.2 alpn", serveHost)
	tls12ALPN.TLSMax, tls12ALPN.ALPN = tls.VersionTLS12, []string{"http/1.1"}
	chacha := tlsGet("tls 1.2 chacha first", serveHost)
	chacha.TLSMax = tls.VersionTLS12
	chacha.Ciphers = []uint16{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	noSNI := tlsGet("no sni", serveHost)
	noSNI.NoSNI = true
	upper := tlsGet("sni in capitals", serveHost)
	upper.SNI = "WWW.My-Api.com"
	c.Requests = []harness.Request{tlsGet("tls 1.3", serveHost), tls12, tls12ALPN, chacha, noSNI, upper}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The common redirect to https: on the plain listener $ssl_protocol is
// empty, over TLS it is not, so TLS requests are served.
func TestServeTLSRedirectIdiom(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "redirect idiom",
		Config: `server {
    listen 127.0.0.1:{{PORT}} ssl;
    listen 127.0.0.1:{{BACKEND_PORT}};
    server_name www.my-api.com;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    if ($ssl_protocol = "") { return 301 https://$host$request_uri; }
    return 200 "secure $https\n";
}
`,
		Files:       serveArticleFiles,
		TLS:         true,
		SNI:         serveHost,
		BackendDown: true,
		Requests:    []harness.Request{tlsGet("over tls", serveHost), tlsGet("again", serveHost)},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// "ssl on" makes the listen sockets of the server TLS when it is the
// default server of the address (ngx_http_init_connection), and nginx
// still answers plain HTTP on them with 400.
func TestServeTLSSslOn(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "ssl on",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name www.my-api.com;
    ssl on;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    return 200 "p=$ssl_protocol https=$https\n";
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name other;
    return 200 "other $scheme\n";
}
`,
		Files: serveArticleFiles,
		TLS:   true,
		SNI:   serveHost,
	}
	plain := serveGet("plain http", "/")
	plain.Plain = true
	other := tlsGet("other server over tls", "other")
	other.SNI = "other"
	c.Requests = []harness.Request{tlsGet("tls", serveHost), plain, other}
	harness.Compare(t, c, want, got, serveAssets(t))

	// In a server that is not the address's default, "ssl on" does not
	// make the connections TLS.
	c.Name = "ssl on in a non-default server"
	c.Config = `server {
    listen 127.0.0.1:{{PORT}};
    server_name first;
    return 200 "first $scheme\n";
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name www.my-api.com;
    ssl on;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    return 200 "second $scheme\n";
}
`
	c.TLS = false
	c.Requests = []harness.Request{serveGet("plain", "/"), tlsGet("tls", serveHost)}
	t.Run("non-default", func(t *testing.T) { harness.Compare(t, c, want, got, serveAssets(t)) })
}

// ssl_reject_handshake in the default server refuses handshakes whose SNI
// selects no other server (and those without SNI) with an alert.
func TestServeTLSRejectHandshake(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "reject handshake",
		Config: `server {
    listen 127.0.0.1:{{PORT}} ssl default_server;
    ssl_reject_handshake on;
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name www.my-api.com;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    return 200 "served $ssl_server_name\n";
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name rejected.example;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_reject_handshake on;
}
`,
		Files: serveArticleFiles,
		TLS:   true,
		SNI:   serveHost,
	}
	noSNI := tlsGet("no sni", serveHost)
	noSNI.NoSNI = true
	unknown := tlsGet("unknown name", "")
	unknown.SNI = "unknown.example"
	rejected := tlsGet("rejecting server", "")
	rejected.SNI = "rejected.example"
	c.Requests = []harness.Request{tlsGet("known name", serveHost), noSNI, unknown, rejected}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Several certificates in a server: OpenSSL picks by the client's
// signature algorithms (TLS 1.3) or by the cipher suite it chooses in the
// client's order (TLS 1.2), or in the server's with
// ssl_prefer_server_ciphers.
func TestServeTLSCertificates(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	ecCrt, ecKey := ecCert(t, "ec.example")
	c := harness.Case{
		Name: "rsa and ecdsa",
		Config: `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name www.my-api.com;
    ssl_certificate ec.crt;
    ssl_certificate_key ec.key;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_protocols TLSv1.2 TLSv1.3;
    return 200 "$ssl_protocol $ssl_cipher\n";
}
`,
		Files:   serveArticleFiles,
		Content: map[string]string{"ec.crt": ecCrt, "ec.key": ecKey},
		TLS:     true,
		SNI:     serveHost,
	}
	tls12 := func(name string, suites ...uint16) harness.Request {
		r := tlsGet(name, serveHost)
		r.TLSMax, r.Ciphers = tls.VersionTLS12, suites
		return r
	}
	c.Requests = []harness.Request{
		tlsGet("tls 1.3", serveHost),
		tls12("tls 1.2 default suites"),
		tls12("ecdsa suite first", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
		tls12("rsa suite first", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
		tls12("rsa key exchange only", tls.TLS_RSA_WITH_AES_128_GCM_SHA256),
		tls12("no shared suite", tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA),
	}
	harness.Compare(t, c, want, got, serveAssets(t))

	c.Name = "server preference"
	c.Config = `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name www.my-api.com;
    ssl_certificate ec.crt;
    ssl_certificate_key ec.key;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_protocols TLSv1.2;
    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE+AES128:!SHA1;
    ssl_prefer_server_ciphers on;
    return 200 "$ssl_protocol $ssl_cipher\n";
}
`
	c.Requests = []harness.Request{
		tlsGet("tls 1.3 offered", serveHost),
		tls12("ecdsa first", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
		tls12("only cbc", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA),
		tls12("not enabled", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
	}
	t.Run("prefer server", func(t *testing.T) { harness.Compare(t, c, want, got, serveAssets(t)) })
}

// Certificates named with variables are loaded at each handshake
// ($ssl_server_name is known then); a missing one fails the handshake.
func TestServeTLSVariableCertificate(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	aCrt, aKey := ecCert(t, "a.example")
	bCrt, bKey := ecCert(t, "b.example")
	c := harness.Case{
		Name: "variable certificate",
		Config: `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name *.example;
    ssl_certificate $ssl_server_name.crt;
    ssl_certificate_key $ssl_server_name.key;
    return 200 "$ssl_server_name $server_name\n";
}
`,
		Content: map[string]string{"a.example.crt": aCrt, "a.example.key": aKey, "b.example.crt": bCrt, "b.example.key": bKey},
		TLS:     true,
	}
	a := tlsGet("a", "a.example")
	a.SNI = "a.example"
	b := tlsGet("b", "b.example")
	b.SNI = "b.example"
	missing := tlsGet("missing", "c.example")
	missing.SNI = "c.example"
	c.Requests = []harness.Request{a, b, missing}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// ssl_protocols of the address's default server decide the version.
func TestServeTLSProtocols(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "protocols",
		Config: `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name www.my-api.com;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_protocols TLSv1.3;
    return 200 "$ssl_protocol\n";
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name twelve;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_protocols TLSv1.2;
    return 200 "twelve $ssl_protocol\n";
}
`,
		Files: serveArticleFiles,
		TLS:   true,
		SNI:   serveHost,
	}
	old := tlsGet("tls 1.2 client", serveHost)
	old.TLSMax = tls.VersionTLS12
	twelve := tlsGet("sni of a tls 1.2 server", "twelve")
	twelve.SNI = "twelve"
	c.Requests = []harness.Request{tlsGet("tls 1.3", serveHost), old, twelve}
	harness.Compare(t, c, want, got, serveAssets(t))

	// nginx 1.22's default is TLSv1 TLSv1.1 TLSv1.2 (no TLSv1.3), and
	// OpenSSL 3.0's security level refuses the first two.
	c.Name = "default protocols"
	c.Config = `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name www.my-api.com;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    return 200 "$ssl_protocol\n";
}
`
	tls10 := tlsGet("tls 1.0 only", serveHost)
	tls10.TLSMin, tls10.TLSMax = tls.VersionTLS10, tls.VersionTLS11
	c.Requests = []harness.Request{tlsGet("modern client", serveHost), tls10}
	t.Run("default", func(t *testing.T) { harness.Compare(t, c, want, got, serveAssets(t)) })
}

// Session resumption: tickets by default (TLS 1.2 and 1.3), none with
// ssl_session_tickets off (the Go client resumes by ticket only), and
// tickets under keys from ssl_session_ticket_key.
func TestServeTLSSessions(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "sessions",
		Config: `ssl_certificate {{CERT}};
ssl_certificate_key {{KEY}};
ssl_protocols TLSv1.2 TLSv1.3;
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name www.my-api.com;
    return 200 "$ssl_protocol $ssl_session_reused\n";
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name off.example;
    ssl_session_tickets off;
    ssl_session_cache shared:S:1m;
    return 200 "off $ssl_protocol $ssl_session_reused\n";
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name keyed.example;
    ssl_session_ticket_key ticket.key;
    return 200 "keyed $ssl_protocol $ssl_session_reused\n";
}
`,
		Files:   serveArticleFiles,
		Content: map[string]string{"ticket.key": "0123456789abcdef0123456789abcdef0123456789abcdef"},
		TLS:     true,
		SNI:     serveHost,
	}
	resume := func(name, host string, max uint16) harness.Request {
		r := tlsGet(name, host)
		r.SNI, r.TLSMax, r.Resume = host, max, true
		return r
	}
	c.Requests = []harness.Request{
		resume("tickets tls 1.3", serveHost, 0),
		resume("tickets tls 1.2", serveHost, tls.VersionTLS12),
		resume("tickets off tls 1.3", "off.example", 0),
		resume("tickets off tls 1.2", "off.example", tls.VersionTLS12),
		resume("ticket key tls 1.3", "keyed.example", 0),
		resume("ticket key tls 1.2", "keyed.example", tls.VersionTLS12),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// ssl_stapling_file: the response is stapled as it is, to clients that ask.
func TestServeTLSStaplingFile(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	crt, keyPEM := ecCert(t, "stapled.example")
	b, _ := pem.Decode([]byte(crt))
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := pem.Decode([]byte(keyPEM))
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ocsp.CreateResponse(cert, cert, ocsp.Response{Status: ocsp.Good, SerialNumber: cert.SerialNumber,
		ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour)}, key.(crypto.Signer))
	if err != nil {
		t.Fatal(err)
	}
	c := harness.Case{
		Name: "stapling file",
		Config: `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name stapled.example;
    ssl_certificate s.crt;
    ssl_certificate_key s.key;
    ssl_stapling on;
    ssl_stapling_file resp.der;
    return 200 "$ssl_protocol\n";
}
`,
		Content: map[string]string{"s.crt": crt, "s.key": keyPEM, "resp.der": string(resp)},
		TLS:     true,
		SNI:     "stapled.example",
	}
	tls12 := tlsGet("tls 1.2", "stapled.example")
	tls12.TLSMax = tls.VersionTLS12
	c.Requests = []harness.Request{tlsGet("first", "stapled.example"), tlsGet("second", "stapled.example"), tls12}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The key exchange group: the client's order (TLS 1.3 takes its first key
// share), the server's in TLS 1.2 with ssl_prefer_server_ciphers.
func TestServeTLSCurves(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "curves",
		Config: `ssl_certificate {{CERT}};
ssl_certificate_key {{KEY}};
ssl_protocols TLSv1.2 TLSv1.3;
ssl_ecdh_curve secp384r1:X25519:prime256v1;
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name www.my-api.com;
    return 200 "$ssl_protocol $ssl_curve $ssl_curves\n";
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name prefer.example;
    ssl_prefer_server_ciphers on;
    return 200 "prefer $ssl_protocol $ssl_curve\n";
}
`,
		Files: serveArticleFiles,
		TLS:   true,
		SNI:   serveHost,
	}
	get := func(name, host string, max uint16) harness.Request {
		r := tlsGet(name, host)
		r.SNI, r.TLSMax = host, max
		return r
	}
	c.Requests = []harness.Request{
		get("tls 1.3", serveHost, 0),
		get("tls 1.2", serveHost, tls.VersionTLS12),
		get("prefer tls 1.3", "prefer.example", 0),
		get("prefer tls 1.2", "prefer.example", tls.VersionTLS12),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
