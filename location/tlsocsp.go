package location

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gonginx/gonginx/upstream/resolver"
	"golang.org/x/crypto/ocsp"
)

// ocspChecker is ssl_ocsp: once a client's chain verified, the status of
// its certificate (leaf) or of each but the root (on) is asked of the
// OCSP responder, as ngx_ssl_ocsp_validate; a request fails with 495
// when a status is not good or cannot be had.
type ocspChecker struct {
	leafOnly  bool
	responder *url.URL // ssl_ocsp_responder; nil: the certificate's
	store     []*x509.Certificate
	cache     *ocspCache // ssl_ocsp_cache; nil: none
	resolver  *resolver.Resolver
	timeout   time.Duration // resolver_timeout
	log       *Logger
	// number draws a connection number for each connection to a
	// responder, as ngx_event_connect_peer does ($connection).
	number func()
}

// ocspCache is an ssl_ocsp_cache zone: statuses by certificate ID until
// the response's nextUpdate (an hour when it has none).
type ocspCache struct {
	mu      sync.Mutex
	entries map[string]ocspCached
}

type ocspCached struct {
	status int
	valid  time.Time
}

// ocspCaches are the zones by name, so that the servers naming one
// share it.
type ocspCaches map[string]*ocspCache

func (cs *ocspCaches) zone(name string) *ocspCache {
	if *cs == nil {
		*cs = ocspCaches{}
	}
	if c := (*cs)[name]; c != nil {
		return c
	}
	c := &ocspCache{entries: map[string]ocspCached{}}
	(*cs)[name] = c
	return c
}

// ocspKey is ngx_ssl_ocsp_create_key: the issuer's name and key hashes
// and the serial.
func ocspKey(cert, issuer *x509.Certificate) string {
	name := sha1.Sum(issuer.RawSubject)
	key := sha1.Sum(subjectKeyBits(issuer))
	return string(name[:]) + string(key[:]) + string(cert.SerialNumber.Bytes())
}

// subjectKeyBits is the public key's bit string of a certificate's
// SubjectPublicKeyInfo, what X509_pubkey_digest hashes.
func subjectKeyBits(c *x509.Certificate) []byte {
	var spki struct {
		Algorithm asn1.RawValue
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil
	}
	return spki.Key.Bytes
}

// check is what the OCSP check leaves for the request: "" when every
// status asked is good, else $ssl_client_verify's reason.
func (o *ocspChecker) check(chain []*x509.Certificate, connID uint64, client string) string {
	n := len(chain) - 1
	if o.leafOnly {
		n = min(n, 1)
	}
	for i := 0; i < n; i++ {
		cert, issuer := chain[i], chain[i+1]
		status, err := o.status(cert, issuer)
		if err != nil {
			// The OCSP request's own log context (ngx_ssl_ocsp_log_error):
			// the responder and, once connected, the peer.
			msg := "*" + strconv.FormatUint(connID, 10) + " " + err.Error()
			var re *ocspRequestError
			if errors.As(err, &re) {
				msg += " while requesting certificate status, responder: " + re.responder
				if re.peer != "" {
					msg += ", peer: " + re.peer
				}
			} else {
				msg += " while SSL handshaking, client: " + client
			}
			o.log.Log("error", msg)
			return "certificate status request failed"
		}
		switch status {
		case ocsp.Good:
		case ocsp.Revoked:
			return "certificate revoked"
		default:
			return "certificate status unknown"
		}
	}
	return ""
}

// ocspRequestError is a failure of the request to a responder, logged
// with the responder's name and address.
type ocspRequestError struct {
	err             error
	responder, peer string
}

func (e *ocspRequestError) Error() string { return e.err.Error() }

// status is one certificate's status: from the cache, else from the
// responder (then cached), as ngx_ssl_ocsp_validate_next.
func (o *ocspChecker) status(cert, issuer *x509.Certificate) (int, error) {
	var key string
	if o.cache != nil {
		key = ocspKey(cert, issuer)
		o.cache.mu.Lock()
		e, ok := o.cache.entries[key]
		if ok && !e.valid.After(time.Now()) {
			delete(o.cache.entries, key)
			ok = false
		}
		o.cache.mu.Unlock()
		if ok {
			return e.status, nil
		}
	}
	status, valid, err := o.request(cert, issuer)
	if err != nil {
		return 0, err
	}
	if o.cache != nil {
		now := time.Now()
		if valid.IsZero() {
			valid = now.Add(time.Hour)
		}
		if !valid.Before(now) {
			o.cache.mu.Lock()
			o.cache.entries[key] = ocspCached{status: status, valid: valid}
			o.cache.mu.Unlock()
		}
	}
	return status, nil
}

// request asks the responder for cert's status and checks the answer as
// ngx_ssl_ocsp_verify: a successful response signed by the issuer (or a
// responder it delegated to) that chains to the trusted certificates,
// naming the certificate, current within five minutes. valid is its
// nextUpdate (zero when it has none).
func (o *ocspChecker) request(cert, issuer *x509.Certificate) (status int, valid time.Time, err error) {
	u := o.responder
	if u == nil {
		if len(cert.OCSPServer) == 0 {
			return 0, time.Time{}, errors.New("no OCSP responder URL in certificate")
		}
		raw := cert.OCSPServer[0]
		if len(raw) <= 7 || !strings.EqualFold(raw[:7], "http://") {
			return 0, time.Time{}, fmt.Errorf("invalid URL prefix in OCSP responder \"%s\" in certificate", raw)
		}
		if u, err = url.Parse(raw); err != nil || u.Host == "" {
			return 0, time.Time{}, errors.New("empty host in OCSP responder in certificate")
		}
	}
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return 0, time.Time{}, err
	}
	host, port := u.Hostname(), u.Port()
	status, valid, err = o.fetch(u, host, port, req, cert, issuer)
	return status, valid, err
}

// fetch resolves the responder, sends the request and checks the answer.
func (o *ocspChecker) fetch(u *url.URL, host, port string, req []byte, cert, issuer *x509.Certificate) (status int, valid time.Time, err error) {
	peer := ""
	defer func() {
		if err != nil {
			err = &ocspRequestError{err: err, responder: host, peer: peer}
		}
	}()
	if port == "" {
		port = "80"
	}
	addr := host
	if _, perr := netip.ParseAddr(host); perr != nil && u == o.responder {
		// ssl_ocsp_responder's name is resolved as nginx resolves it
		// when it reads the configuration: by the system.
		ips, lerr := net.DefaultResolver.LookupHost(context.Background(), host)
		if lerr != nil || len(ips) == 0 {
			return 0, time.Time{}, fmt.Errorf("host not found in OCSP responder \"%s\"", host)
		}
		addr = ips[0]
	} else if perr != nil {
		if o.resolver == nil {
			return 0, time.Time{}, fmt.Errorf("no resolver defined to resolve %s", host)
		}
		addrs, rerr := o.resolver.Resolve(host, o.timeout)
		if rerr != nil || len(addrs) == 0 {
			return 0, time.Time{}, fmt.Errorf("%s could not be resolved", host)
		}
		addr = addrs[0].String()
	}
	peer = net.JoinHostPort(addr, port)
	o.number()
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	// The request in the path as nginx sends it, base64 escaped as a URI
	// component.
	target := "http://" + net.JoinHostPort(addr, port) + strings.TrimSuffix(path, "/") + "/" +
		url.QueryEscape(base64.StdEncoding.EncodeToString(req))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, "GET", target, nil)
	if err != nil {
		return 0, time.Time{}, err
	}
	hreq.Host = u.Host
	resp, err := ocspClient.Do(hreq)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("OCSP responder: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, time.Time{}, fmt.Errorf("OCSP responder sent invalid status: %d", resp.StatusCode)
	}
	der, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, time.Time{}, err
	}
	// Parsed without the issuer: a response carrying its signer (the
	// issuer itself, as "openssl ocsp -rsigner" sends it) is checked
	// against that one, which must be the issuer or a responder the
	// issuer delegated to (OpenSSL's ocsp_check_issuer).
	r, err := ocsp.ParseResponseForCert(der, cert, nil)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("d2i_OCSP_RESPONSE() failed (%v)", err)
	}
	switch signer := r.Certificate; {
	case signer == nil:
		err = r.CheckSignatureFrom(issuer)
	case signer.Equal(issuer):
	case !o.delegated(signer, issuer):
		err = errors.New("not the issuer nor a responder it delegated to")
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("OCSP_basic_verify() failed (%v)", err)
	}
	now := time.Now()
	if r.ThisUpdate.After(now.Add(5*time.Minute)) || !r.NextUpdate.IsZero() && r.NextUpdate.Before(now.Add(-5*time.Minute)) {
		return 0, time.Time{}, errors.New("OCSP_check_validity() failed")
	}
	return r.Status, r.NextUpdate, nil
}

// delegated reports a responder certificate the issuer signed for OCSP
// signing.
func (o *ocspChecker) delegated(resp, issuer *x509.Certificate) bool {
	for _, u := range resp.ExtKeyUsage {
		if u == x509.ExtKeyUsageOCSPSigning {
			return issuedBy(resp, issuer) &&
				issuer.CheckSignature(resp.SignatureAlgorithm, resp.RawTBSCertificate, resp.Signature) == nil
		}
	}
	return false
}

// ocspClient talks to responders as nginx does: straight (no proxy from
// the environment), one request per connection, no redirects followed.
var ocspClient = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// numberConn draws a connection number for a connection of the server's
// own (an OCSP responder's), as nginx's ngx_event_connect_peer does.
func (rt *Router) numberConn() {
	if rt.groups != nil {
		rt.groups.Slots.Number()
	}
}
