package location

import (
	"bytes"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// stapler is one certificate's OCSP stapling, as ngx_event_openssl_stapling.c:
// a response from ssl_stapling_file is sent as is; otherwise the
// responder is asked when a handshake finds no valid response (that
// handshake goes without one), and again before the response expires.
type stapler struct {
	leaf, issuer *x509.Certificate
	chain        []*x509.Certificate // the certificate file's others: where a response's signer is looked for
	responder    *url.URL            // nil: no OCSP request (a file, or no responder)
	verify       *x509.CertPool
	name         string // certificate path, for the error log
	log          *Logger
	number       func() // draws a connection number (the responder's)

	mu      sync.Mutex
	staple  []byte
	valid   time.Time // the staple is sent until then
	refresh time.Time // no request before then
	loading bool
}

// newStapler prepares stapling for the certificate at index i of t, or
// returns nil when nginx ignores stapling for it (the warnings were
// given when the configuration was loaded).
func newStapler(ssl *SSLConfig, pair *tls.Certificate, certPath string, log *Logger, number func()) (*stapler, error) {
	if pair.Leaf == nil {
		return nil, nil
	}
	s := &stapler{leaf: pair.Leaf, name: certPath, log: log, number: number}
	if ssl.StaplingFile != "" {
		der, err := os.ReadFile(ssl.StaplingFile)
		if err != nil {
			return nil, fmt.Errorf("BIO_new_file(\"%s\") failed (SSL: error:80000002:system library::No such file or directory)", ssl.StaplingFile)
		}
		s.staple, s.valid = der, time.Unix(1<<62, 0)
		return s, nil
	}
	store := ssl.trustedCerts()
	for _, der := range pair.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			store = append(store, c)
			s.chain = append(s.chain, c)
		}
	}
	for _, c := range store {
		if bytes.Equal(c.RawSubject, s.leaf.RawIssuer) {
			s.issuer = c
			break
		}
	}
	if s.issuer == nil {
		return nil, nil
	}
	raw := ssl.StaplingResponder
	if raw == "" {
		if len(s.leaf.OCSPServer) == 0 {
			return nil, nil
		}
		raw = s.leaf.OCSPServer[0]
	}
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "http") || u.Host == "" {
		return nil, fmt.Errorf("invalid URL prefix in OCSP responder \"%s\" in \"ssl_stapling_responder\"", raw)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	s.responder = u
	if ssl.StaplingVerify {
		s.verify = x509.NewCertPool()
		for _, c := range ssl.trustedCerts() {
			s.verify.AddCert(c)
		}
	}
	return s, nil
}

// current is ngx_ssl_certificate_status_callback: the staple to send (nil
// when none is valid), starting a refresh when one is due.
func (s *stapler) current() []byte {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []byte
	if len(s.staple) > 0 && !now.After(s.valid) {
		out = s.staple
	}
	if s.responder != nil && !s.loading && !s.refresh.After(now) {
		s.loading = true
		if net.ParseIP(s.responder.Hostname()) != nil && s.number != nil {
			// nginx connects to the responder within the handshake
			// (ngx_ssl_stapling_update): its connection's number comes
			// before the next client's. A name is not resolved (request).
			s.number()
		}
		go s.update()
	}
	return out
}

// update asks the responder, as ngx_ssl_stapling_update: a good response
// is kept until its nextUpdate and refreshed 5 minutes before, at least
// hourly; a failure is retried after 5 minutes.
func (s *stapler) update() {
	der, valid, err := s.request()
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loading = false
	if err != nil {
		s.refresh = now.Add(5 * time.Minute)
		// The peer is named once connected: an address, not a name
		// (which is not resolved: request).
		peer := ""
		if host := s.responder.Hostname(); net.ParseIP(host) != nil {
			port := s.responder.Port()
			if port == "" {
				port = "80"
			}
			peer = ", peer: " + net.JoinHostPort(host, port)
		}
		s.log.Log("error", err.Error()+" while requesting certificate status, responder: "+s.responder.Hostname()+
			peer+", certificate: \""+s.name+"\"")
		return
	}
	s.staple, s.valid = der, valid
	s.refresh = maxTime(minTime(valid.Add(-5*time.Minute), now.Add(time.Hour)), now.Add(5*time.Minute))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// request sends the OCSP request as nginx does (GET with the request in
// the path) and checks the answer as ngx_ssl_stapling_ocsp_handler.
func (s *stapler) request() ([]byte, time.Time, error) {
	req, err := ocsp.CreateRequest(s.leaf, s.issuer, nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	if net.ParseIP(s.responder.Hostname()) == nil {
		// nginx resolves responder names with "resolver", which gonginx
		// does not serve: as nginx without one.
		return nil, time.Time{}, fmt.Errorf("no resolver defined to resolve %s", s.responder.Hostname())
	}
	// nginx escapes the base64 as a URI component ("+", "/", "=").
	u := *s.responder
	u.RawQuery, u.Fragment = "", ""
	target := strings.TrimSuffix(u.String(), "/") + "/" + url.QueryEscape(base64.StdEncoding.EncodeToString(req))
	// Straight to the responder as nginx (no proxy from the environment),
	// one request per connection, no redirects followed.
	client := &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	resp, err := client.Get(target)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("OCSP responder: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, time.Time{}, fmt.Errorf("OCSP responder sent invalid status: %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.EqualFold(ct, "application/ocsp-response") {
		return nil, time.Time{}, fmt.Errorf("OCSP responder sent invalid \"Content-Type\" header: \"%s\"", ct)
	}
	der, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, time.Time{}, err
	}
	var issuer *x509.Certificate
	if s.verify != nil {
		issuer = s.issuer
	}
	r, err := ocsp.ParseResponseForCert(der, s.leaf, issuer)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("OCSP response not successful or not verified (%v)", err)
	}
	if err := s.checkSigner(r); err != nil {
		return nil, time.Time{}, err
	}
	if s.verify != nil {
		if _, err := s.issuer.Verify(x509.VerifyOptions{Roots: s.verify, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			return nil, time.Time{}, errors.New("OCSP_basic_verify() failed")
		}
	}
	if r.Status != ocsp.Good {
		return nil, time.Time{}, fmt.Errorf("certificate status \"%s\" in the OCSP response", ocspStatus(r.Status))
	}
	now := time.Now()
	if r.ThisUpdate.After(now.Add(5*time.Minute)) || !r.NextUpdate.IsZero() && r.NextUpdate.Before(now.Add(-5*time.Minute)) {
		return nil, time.Time{}, errors.New("OCSP_check_validity() failed")
	}
	valid := r.NextUpdate
	if valid.IsZero() {
		valid = time.Unix(1<<62, 0)
	}
	return der, valid, nil
}

// checkSigner is OCSP_basic_verify's first steps, which nginx's stapling
// runs whether or not ssl_stapling_verify is on: the response's signer,
// named by its responder ID, is looked for in the certificate file's
// chain and the response's own certificates (not in the trusted ones),
// and the response must carry its signature.
func (s *stapler) checkSigner(r *ocsp.Response) error {
	found := func(c *x509.Certificate) bool {
		if len(r.ResponderKeyHash) > 0 {
			h := sha1.Sum(subjectKeyBits(c))
			return bytes.Equal(h[:], r.ResponderKeyHash)
		}
		return bytes.Equal(c.RawSubject, r.RawResponderName)
	}
	var signer *x509.Certificate
	for _, c := range s.chain {
		if found(c) {
			signer = c
			break
		}
	}
	if signer == nil && r.Certificate != nil && found(r.Certificate) {
		signer = r.Certificate
	}
	if signer == nil {
		return errors.New("OCSP_basic_verify() failed (SSL: error:13800076:OCSP routines::signer certificate not found)")
	}
	if r.CheckSignatureFrom(signer) != nil {
		return errors.New("OCSP_basic_verify() failed (SSL: error:13800075:OCSP routines::signature failure)")
	}
	return nil
}

func ocspStatus(st int) string {
	switch st {
	case ocsp.Good:
		return "good"
	case ocsp.Revoked:
		return "revoked"
	}
	return "unknown"
}

// trustedCerts are the certificates of ssl_trusted_certificate, where
// nginx looks for issuers and verifies responses.
func (ssl *SSLConfig) trustedCerts() []*x509.Certificate {
	return pemCerts(ssl.Trusted)
}
