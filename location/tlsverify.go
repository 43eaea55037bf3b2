package location

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"time"

	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// verifyMode is ssl_verify_client, in nginx's numbering (sscf->verify).
type verifyMode uint8

const (
	verifyOff verifyMode = iota
	verifyOn
	verifyOptional
	verifyOptionalNoCA
)

func parseVerifyMode(s string) verifyMode {
	switch s {
	case "on":
		return verifyOn
	case "optional":
		return verifyOptional
	case "optional_no_ca":
		return verifyOptionalNoCA
	}
	return verifyOff
}

// OpenSSL's X509_V_ERR_* codes gonginx's verification reports.
const (
	x509OK                  = 0
	x509NoIssuer            = 2
	x509NoCRL               = 3
	x509CertSignature       = 7
	x509CRLSignature        = 8
	x509NotYetValid         = 9
	x509Expired             = 10
	x509CRLNotYetValid      = 11
	x509CRLExpired          = 12
	x509DepthZeroSelfSigned = 18
	x509SelfSignedInChain   = 19
	x509NoLocalIssuer       = 20
	x509CannotVerifyLeaf    = 21
	x509ChainTooLong        = 22
	x509Revoked             = 23
	x509InvalidCA           = 24
	x509PathLength          = 25
	x509InvalidPurpose      = 26
	x509Untrusted           = 27
	x509NoCRLIssuer         = 33
	x509UnhandledCritical   = 34
)

// x509ErrorText is OpenSSL 3.0's X509_verify_cert_error_string.
func x509ErrorText(code int) string {
	switch code {
	case x509OK:
		return "ok"
	case x509NoIssuer:
		return "unable to get issuer certificate"
	case x509NoCRL:
		return "unable to get certificate CRL"
	case x509CertSignature:
		return "certificate signature failure"
	case x509CRLSignature:
		return "CRL signature failure"
	case x509NotYetValid:
		return "certificate is not yet valid"
	case x509Expired:
		return "certificate has expired"
	case x509CRLNotYetValid:
		return "CRL is not yet valid"
	case x509CRLExpired:
		return "CRL has expired"
	case x509DepthZeroSelfSigned:
		return "self-signed certificate"
	case x509SelfSignedInChain:
		return "self-signed certificate in certificate chain"
	case x509NoLocalIssuer:
		return "unable to get local issuer certificate"
	case x509CannotVerifyLeaf:
		return "unable to verify the first certificate"
	case x509ChainTooLong:
		return "certificate chain too long"
	case x509Revoked:
		return "certificate revoked"
	case x509InvalidCA:
		return "invalid CA certificate"
	case x509PathLength:
		return "path length constraint exceeded"
	case x509InvalidPurpose:
		return "unsuitable certificate purpose"
	case x509Untrusted:
		return "certificate not trusted"
	case x509NoCRLIssuer:
		return "unable to get CRL issuer certificate"
	case x509UnhandledCritical:
		return "unhandled critical extension"
	}
	return "unknown certificate verification error"
}

// verifyErrorOptional is ngx_ssl_verify_error_optional: the errors
// "ssl_verify_client optional_no_ca" lets pass.
func verifyErrorOptional(code int) bool {
	switch code {
	case x509DepthZeroSelfSigned, x509SelfSignedInChain, x509NoLocalIssuer, x509Untrusted, x509CannotVerifyLeaf:
		return true
	}
	return false
}

// clientVerifier is an SSL context's client certificate verification,
// as ngx_ssl_client_certificate, ngx_ssl_trusted_certificate and
// ngx_ssl_crl set up OpenSSL's: the certificate is requested (never
// required: nginx's verify callback accepts every chain), and the
// result of OpenSSL's X509_verify_cert is kept for the request.
type clientVerifier struct {
	mode  verifyMode
	depth int
	// names are ssl_client_certificate's subjects, the CA list of the
	// CertificateRequest (ssl_trusted_certificate's are not sent).
	names *x509.CertPool
	store []*x509.Certificate // ssl_client_certificate and ssl_trusted_certificate
	crls  []*tlsutil.CRL
	crl   bool // ssl_crl is set: every certificate of the chain is checked
	ocsp  *ocspChecker
}

// newClientVerifier loads a server's verification files; nil when its
// ssl_verify_client is off.
func newClientVerifier(ssl *SSLConfig) (*clientVerifier, error) {
	if ssl.Verify == verifyOff {
		return nil, nil
	}
	v := &clientVerifier{mode: ssl.Verify, depth: ssl.VerifyDepth}
	if ssl.ClientCA != "" {
		certs, crls, err := readPEMStore(ssl.ClientCA)
		if err != nil {
			return nil, err
		}
		v.names = x509.NewCertPool()
		seen := map[string]bool{}
		for _, c := range certs {
			// SSL_load_client_CA_file keeps one entry per name.
			if !seen[string(c.RawSubject)] {
				seen[string(c.RawSubject)] = true
				v.names.AddCert(c)
			}
		}
		v.store = append(v.store, certs...)
		v.crls = append(v.crls, crls...)
	}
	if ssl.Trusted != "" {
		certs, crls, err := readPEMStore(ssl.Trusted)
		if err != nil {
			return nil, err
		}
		v.store = append(v.store, certs...)
		v.crls = append(v.crls, crls...)
	}
	if ssl.CRL != "" {
		_, crls, err := readPEMStore(ssl.CRL)
		if err != nil {
			return nil, err
		}
		v.crls = append(v.crls, crls...)
		v.crl = true
	}
	return v, nil
}

// readPEMStore reads the certificates and CRLs of a PEM file, as
// X509_LOOKUP_load_file does.
func readPEMStore(path string) ([]*x509.Certificate, []*tlsutil.CRL, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var certs []*x509.Certificate
	var crls []*tlsutil.CRL
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return certs, crls, nil
		}
		switch b.Type {
		case "CERTIFICATE", "TRUSTED CERTIFICATE":
			if c, err := x509.ParseCertificate(b.Bytes); err == nil {
				certs = append(certs, c)
			}
		case "X509 CRL":
			if l, err := tlsutil.ParseCRL(b.Bytes); err == nil {
				crls = append(crls, l)
			}
		}
	}
}

// issuedBy is OpenSSL's check_issued: the names chain and the key
// identifiers, when both are present, agree.
func issuedBy(cert, issuer *x509.Certificate) bool {
	if !bytes.Equal(cert.RawIssuer, issuer.RawSubject) {
		return false
	}
	if len(cert.AuthorityKeyId) > 0 && len(issuer.SubjectKeyId) > 0 && !bytes.Equal(cert.AuthorityKeyId, issuer.SubjectKeyId) {
		return false
	}
	return true
}

func selfIssued(c *x509.Certificate) bool { return issuedBy(c, c) }

func timeValid(c *x509.Certificate, now time.Time) bool {
	return !now.Before(c.NotBefore) && !now.After(c.NotAfter)
}

// verify is X509_verify_cert with nginx's callback, which lets every
// check go on: the result is the last error met (0 for none), with the
// chain built. peer is the chain the client sent, its certificate first.
func (v *clientVerifier) verify(peer []*x509.Certificate, now time.Time) (int, []*x509.Certificate) {
	result := x509OK
	fail := func(code int) { result = code }
	chain, numUntrusted, buildErr := v.buildChain(peer, now)
	if buildErr != x509OK {
		fail(buildErr)
	}
	v.checkExtensions(chain, numUntrusted, fail)
	if v.crl {
		v.checkRevocation(chain, now, fail)
	}
	internalVerify(chain, now, fail)
	return result, chain
}

// buildChain extends the client's certificate with issuers, from the
// trusted store first, then from what the client sent, as OpenSSL 3's
// build_chain: at most ssl_verify_depth intermediates; once a trusted
// issuer is in the chain only the store is searched. code is 0 when the
// chain ends in a self-signed certificate of the store.
func (v *clientVerifier) buildChain(peer []*x509.Certificate, now time.Time) (chain []*x509.Certificate, numUntrusted int, code int) {
	chain = []*x509.Certificate{peer[0]}
	untrusted := peer[1:]
	numUntrusted = 1
	limit := v.depth + 1
	inChain := func(c *x509.Certificate) bool {
		for _, x := range chain {
			if x.Equal(c) {
				return true
			}
		}
		return false
	}
	for {
		cur := chain[len(chain)-1]
		if len(chain) <= limit {
			if iss := v.storeIssuer(cur, now); iss != nil {
				if iss.Equal(cur) {
					// A self-signed certificate that is itself trusted.
					numUntrusted = len(chain) - 1
					return chain, numUntrusted, x509OK
				}
				if !inChain(iss) {
					chain = append(chain, iss)
					if selfIssued(iss) {
						return chain, numUntrusted, x509OK
					}
					continue
				}
			}
		}
		if numUntrusted < len(chain) || selfIssued(cur) {
			break // in the store's part, or at a root
		}
		var next *x509.Certificate
		for _, c := range untrusted {
			if issuedBy(cur, c) && !inChain(c) {
				next = c
				break
			}
		}
		if next == nil || len(chain) > limit {
			break
		}
		chain = append(chain, next)
		numUntrusted++
	}
	top := chain[len(chain)-1]
	switch {
	case len(chain) > limit:
		code = x509ChainTooLong
	case selfIssued(top) && len(chain) == 1:
		code = x509DepthZeroSelfSigned
	case selfIssued(top):
		code = x509SelfSignedInChain
	case numUntrusted < len(chain):
		code = x509NoIssuer
	default:
		code = x509NoLocalIssuer
	}
	return chain, numUntrusted, code
}

// storeIssuer is the trusted certificate that issued cert, preferring
// one valid now (X509_STORE_CTX_get1_issuer).
func (v *clientVerifier) storeIssuer(cert *x509.Certificate, now time.Time) *x509.Certificate {
	var found *x509.Certificate
	for _, c := range v.store {
		if issuedBy(cert, c) {
			if timeValid(c, now) {
				return c
			}
			if found == nil {
				found = c
			}
		}
	}
	return found
}

// checkExtensions is OpenSSL's check_extensions for the SSL client
// purpose: CA certificates above the client's, path lengths, and the
// purpose of the certificates the client sent.
func (v *clientVerifier) checkExtensions(chain []*x509.Certificate, numUntrusted int, fail func(int)) {
	plen := 0
	for i, c := range chain {
		if len(c.UnhandledCriticalExtensions) > 0 {
			fail(x509UnhandledCritical)
		}
		if i > 0 && !isCA(c) {
			fail(x509InvalidCA)
		}
		if i < numUntrusted && !clientPurpose(c, i > 0) {
			fail(x509InvalidPurpose)
		}
		if i > 1 && (c.MaxPathLen > 0 || c.MaxPathLenZero) && plen > c.MaxPathLen {
			fail(x509PathLength)
		}
		if i > 0 && !selfIssued(c) {
			plen++
		}
	}
}

// isCA is X509_check_ca's answer, not zero: basic constraints say CA,
// or, without them, a version 1 root or a key usage allowing signing
// certificates.
func isCA(c *x509.Certificate) bool {
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return false
	}
	if c.BasicConstraintsValid {
		return c.IsCA
	}
	if c.Version == 1 && selfIssued(c) {
		return true
	}
	return c.KeyUsage != 0
}

// clientPurpose is OpenSSL's check_purpose_ssl_client: an extended key
// usage, when present, names clientAuth; a leaf's key usage, when
// present, allows signing or key agreement.
func clientPurpose(c *x509.Certificate, ca bool) bool {
	if len(c.ExtKeyUsage) > 0 || len(c.UnknownExtKeyUsage) > 0 {
		ok := false
		for _, u := range c.ExtKeyUsage {
			if u == x509.ExtKeyUsageClientAuth {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if ca {
		return isCA(c)
	}
	return c.KeyUsage == 0 || c.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageKeyAgreement) != 0
}

// checkRevocation is check_revocation with X509_V_FLAG_CRL_CHECK_ALL:
// each certificate of the chain, its root too, needs its issuer's CRL.
func (v *clientVerifier) checkRevocation(chain []*x509.Certificate, now time.Time, fail func(int)) {
	for i, c := range chain {
		var issuer *x509.Certificate
		switch {
		case i+1 < len(chain):
			issuer = chain[i+1]
		case selfIssued(c):
			issuer = c
		}
		var list *tlsutil.CRL
		for _, l := range v.crls {
			if !bytes.Equal(l.RawIssuer, c.RawIssuer) {
				continue
			}
			if list == nil || issuer != nil && l.SignedBy(issuer) {
				list = l
			}
		}
		if list == nil {
			fail(x509NoCRL)
			continue
		}
		switch {
		case issuer == nil:
			fail(x509NoCRLIssuer)
		case !list.SignedBy(issuer):
			fail(x509CRLSignature)
		}
		if now.Before(list.ThisUpdate) {
			fail(x509CRLNotYetValid)
		} else if !list.NextUpdate.IsZero() && now.After(list.NextUpdate) {
			fail(x509CRLExpired)
		}
		for _, serial := range list.Revoked {
			if serial.Cmp(c.SerialNumber) == 0 {
				fail(x509Revoked)
				break
			}
		}
	}
}

// internalVerify is OpenSSL's internal_verify: from the top of the chain
// down, each signature with its issuer's key (a root's own is not
// checked) and each validity period; a single certificate whose issuer
// is unknown cannot have its signature checked.
func internalVerify(chain []*x509.Certificate, now time.Time, fail func(int)) {
	n := len(chain) - 1
	issuer := chain[n]
	if !selfIssued(issuer) {
		if n > 0 {
			n--
		} else {
			fail(x509CannotVerifyLeaf)
		}
	}
	for ; n >= 0; n-- {
		c := chain[n]
		if c != issuer {
			if issuer.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
				fail(x509CertSignature)
			}
		}
		if now.Before(c.NotBefore) {
			fail(x509NotYetValid)
		} else if now.After(c.NotAfter) {
			fail(x509Expired)
		}
		issuer = c
	}
}

// checkClientCert makes the checks nginx makes of a TLS request once its
// head is read: a Host other than the SNI name the handshake selected a
// server by, naming a server that verifies clients, is misdirected
// (ngx_http_set_virtual_server, 421); then the request's server's
// ssl_verify_client against the handshake's result
// (ngx_http_process_request: 495, 496). It returns the status to answer
// with, or 0.
// Its first test is inlined at the callers (the rest is checkClientCertRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) checkClientCert(host []byte) int {
	if x.req.Conn == nil || x.req.Conn.SSL == nil {
		return 0
	}
	return x.checkClientCertRun(host)
}

// checkClientCertRun is checkClientCert past its first test.
func (x *exchange) checkClientCertRun(host []byte) int {
	if x.req.Conn == nil {
		return 0
	}
	t, ok := x.req.Conn.SSL.(*tlsInfo)
	if !ok || t.state.Version == 0 {
		return 0
	}
	if t.sniServer != nil && len(x.req.Host) > 0 && !equalLowerASCII(host, t.serverName) {
		if x.srv.sslVerify != verifyOff {
			x.log.Logf(x, "info", "client attempted to request the server name different from the one that was negotiated")
			x.srv = t.sniServer
			return 421
		}
	}
	mode := x.srv.sslVerify
	if mode == verifyOff {
		return 0
	}
	if code := t.verifyCode; code != x509OK && (mode != verifyOptionalNoCA || !verifyErrorOptional(code)) {
		x.log.Logf(x, "info", "client SSL certificate verify error: (%d:%s)", code, x509ErrorText(code))
		return 495
	}
	if mode == verifyOn && t.peer() == nil {
		x.log.Logf(x, "info", "client sent no required SSL certificate")
		return 496
	}
	if t.ocspError != "" {
		x.log.Logf(x, "info", "client SSL certificate verify error: %s", t.ocspError)
		return 495
	}
	return 0
}
