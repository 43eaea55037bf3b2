package difftest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"golang.org/x/crypto/ocsp"
)

// ssl_ocsp against nginx 1.22: an OCSP responder of the test's own answers
// good, revoked or unknown per certificate serial (or garbage, or signs
// with a foreign key); servers check the leaf or the whole chain, with
// the certificate's responder or ssl_ocsp_responder.

type ocspResponder struct {
	ca     *harness.CA
	status map[string]int // serial → ocsp.Good, Revoked, Unknown; -1: garbage, -2: foreign signer
	signer *harness.CA    // for -2
}

func (o *ocspResponder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.EscapedPath()
	raw = raw[strings.LastIndexByte(raw, '/')+1:]
	raw, _ = url.PathUnescape(raw)
	der, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		http.Error(w, "bad", 400)
		return
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		http.Error(w, "bad", 400)
		return
	}
	st := o.status[req.SerialNumber.String()]
	w.Header().Set("Content-Type", "application/ocsp-response")
	if st == -1 {
		io.WriteString(w, "not an OCSP response")
		return
	}
	signer, key := o.ca.Cert, o.ca.Key
	if st == -2 {
		signer, key, st = o.signer.Cert, o.signer.Key, ocsp.Good
	}
	resp, err := ocsp.CreateResponse(o.ca.Cert, signer, ocsp.Response{
		Status: st, SerialNumber: req.SerialNumber, ThisUpdate: time.Now().Add(-time.Hour),
		NextUpdate: time.Now().Add(time.Hour), RevokedAt: time.Now().Add(-time.Minute), Certificate: signer,
	}, key)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Write(resp)
}

// issueOCSP signs a client certificate naming responder in its AIA.
func issueOCSP(t *testing.T, ca *harness.CA, cn, responder string) (tls.Certificate, *big.Int) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		OCSPServer: []string{responder}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, serial
}

func TestServeTLSOCSP(t *testing.T) {
	t.Parallel()
	nginx, gon := serveNginx(t), serveUnderTest(t)
	ca := harness.NewCA("ocsp root")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp := &ocspResponder{ca: ca, status: map[string]int{}, signer: harness.NewCA("foreign signer")}
	srv := &http.Server{Handler: resp}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + ln.Addr().String() + "/ocsp"
	certs := map[string]tls.Certificate{}
	for name, st := range map[string]int{"good": ocsp.Good, "revoked": ocsp.Revoked, "unknown": ocsp.Unknown,
		"garbage": -1, "foreign signer": -2} {
		c, serial := issueOCSP(t, ca, name, url)
		certs[name] = c
		resp.status[serial.String()] = st
	}
	certs["no responder"], _ = issueOCSP(t, ca, "no responder", "http://127.0.0.1:1/")
	certs["named responder"], _ = issueOCSP(t, ca, "named responder", "http://ocsp.invalid/")
	c := harness.Case{
		Name: "ssl_ocsp",
		Config: `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name leaf.test;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_verify_client on;
    ssl_client_certificate ca.pem;
    ssl_ocsp leaf;
    return 200 "v=$ssl_client_verify c=$connection\n";
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name optional.test;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_verify_client optional;
    ssl_client_certificate ca.pem;
    ssl_ocsp on;
    ssl_ocsp_responder ` + url + `;
    error_page 495 /err;
    location / { return 200 "v=$ssl_client_verify c=$connection\n"; }
    location /err { return 200 "error page v=$ssl_client_verify\n"; }
}
`,
		Files:   serveArticleFiles,
		Content: map[string]string{"ca.pem": ca.PEM},
		TLS:     true,
		SNI:     "leaf.test",
	}
	for _, sni := range []string{"leaf.test", "optional.test"} {
		for _, name := range []string{"", "good", "revoked", "unknown", "garbage", "foreign signer", "no responder", "named responder"} {
			r := serveRaw(sni+": "+name, "GET / HTTP/1.1\r\nHost: "+sni+"\r\nConnection: close\r\n\r\n")
			r.SNI = sni
			if name != "" {
				cert := certs[name]
				r.ClientCert = &cert
			}
			c.Requests = append(c.Requests, r)
		}
	}
	harness.Compare(t, c, nginx, gon, serveAssets(t))
}

// ssl_stapling asking a responder: nginx connects to it within the
// handshake that found no response, and that connection takes a number
// ($connection) before the next client's.
func TestServeTLSStaplingConnNumbers(t *testing.T) {
	t.Parallel()
	nginx, gon := serveNginx(t), serveUnderTest(t)
	ca := harness.NewCA("stapling root")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert := ca.Issue(harness.CertSpec{CN: "stapled.test", DNS: []string{"stapled.test"}})
	// One response, signed once: its length (which the client sees with
	// the staple) is the same for both servers.
	der, err := ocsp.CreateResponse(ca.Cert, ca.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: cert.Serial,
		ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour), Certificate: ca.Cert}, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(der)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := staplingCase("ssl_stapling connection numbers", "", ln.Addr().String(), cert, ca)
	for _, name := range []string{"first", "second", "third"} {
		r := tlsGet(name, "stapled.test")
		r.Settle = 200 * time.Millisecond // the responder's answer is in before the next
		c.Requests = append(c.Requests, r)
	}
	harness.Compare(t, c, nginx, gon, serveAssets(t))
}

// A responder's answer whose signer is neither in it nor in the
// certificate's chain: nginx's OCSP_basic_verify finds no signer and the
// staple is not taken, even with ssl_stapling_verify off.
func TestServeTLSStaplingNoSigner(t *testing.T) {
	t.Parallel()
	nginx, gon := serveNginx(t), serveUnderTest(t)
	ca := harness.NewCA("stapling root")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert := ca.Issue(harness.CertSpec{CN: "stapled.test", DNS: []string{"stapled.test"}})
	der, err := ocsp.CreateResponse(ca.Cert, ca.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: cert.Serial,
		ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour)}, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(der)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := staplingCase("ssl_stapling without the signer", "error_log stderr;\n", ln.Addr().String(), cert, ca)
	c.ErrorLog = true
	for _, name := range []string{"first", "second"} {
		r := tlsGet(name, "stapled.test")
		r.Settle = 200 * time.Millisecond
		c.Requests = append(c.Requests, r)
	}
	harness.Compare(t, c, nginx, gon, serveAssets(t))
}

// staplingCase serves stapled.test with ssl_stapling from the responder
// at addr, answering "c=$connection"; head comes before the server.
func staplingCase(name, head, addr string, cert harness.Issued, ca *harness.CA) harness.Case {
	return harness.Case{
		Name: name,
		Config: head + `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name stapled.test;
    ssl_certificate s.crt;
    ssl_certificate_key s.key;
    ssl_stapling on;
    ssl_stapling_responder http://` + addr + `/ocsp;
    ssl_trusted_certificate ca.pem;
    return 200 "c=$connection\n";
}
`,
		Content: map[string]string{"s.crt": cert.CertPEM, "s.key": cert.KeyPEM, "ca.pem": ca.PEM},
		TLS:     true,
		SNI:     "stapled.test",
	}
}
