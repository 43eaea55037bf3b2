package upstream

import (
	"bytes"
	"crypto/x509"
	"strings"
	"time"

	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// OpenSSL's X509_V_ERR_* codes that proxy_ssl_verify can report, with
// X509_verify_cert_error_string's text (OpenSSL 3, as Debian's nginx).
const (
	vUnspecified        = 1
	vNoIssuer           = 2
	vNoCRL              = 3
	vCertSignature      = 7
	vCRLSignature       = 8
	vNotYetValid        = 9
	vExpired            = 10
	vCRLNotYetValid     = 11
	vCRLExpired         = 12
	vSelfSignedLeaf     = 18
	vSelfSignedInChain  = 19
	vNoLocalIssuer      = 20
	vUnverifiableLeaf   = 21
	vChainTooLong       = 22
	vRevoked            = 23
	vInvalidCA          = 24
	vUnsupportedPurpose = 26
	vPermittedSubtree   = 47
)

var verifyText = map[int]string{
	vUnspecified:        "unspecified certificate verification error",
	vNoIssuer:           "unable to get issuer certificate",
	vNoCRL:              "unable to get certificate CRL",
	vCertSignature:      "certificate signature failure",
	vCRLSignature:       "CRL signature failure",
	vNotYetValid:        "certificate is not yet valid",
	vExpired:            "certificate has expired",
	vCRLNotYetValid:     "CRL is not yet valid",
	vCRLExpired:         "CRL has expired",
	vSelfSignedLeaf:     "self-signed certificate",
	vSelfSignedInChain:  "self-signed certificate in certificate chain",
	vNoLocalIssuer:      "unable to get local issuer certificate",
	vUnverifiableLeaf:   "unable to verify the first certificate",
	vChainTooLong:       "certificate chain too long",
	vRevoked:            "certificate revoked",
	vInvalidCA:          "invalid CA certificate",
	vUnsupportedPurpose: "unsuitable certificate purpose",
	vPermittedSubtree:   "permitted subtree violation",
}

// verifyChain checks the backend's certificates against
// proxy_ssl_trusted_certificate as OpenSSL does under nginx, whose verify
// callback lets every check run: the chain is built (trusted issuers
// first, at most depth intermediates), then the purpose, the CRLs and the
// signatures and times are checked, and the result is the last error
// met, or 0.
func (bt *backendTLS) verifyChain(certs []*x509.Certificate, now time.Time) int {
	if len(certs) == 0 {
		return vUnspecified
	}
	code := 0
	chain := []*x509.Certificate{certs[0]}
	trusted := -1 // index in chain of the first certificate from the store
	if bt.isTrusted(certs[0]) {
		trusted = 0
	}
	for !selfSigned(chain[len(chain)-1]) {
		top := chain[len(chain)-1]
		if len(chain) > bt.depth+1 {
			code = vChainTooLong
			break
		}
		issuer := findIssuer(top, bt.roots)
		if issuer != nil {
			if trusted < 0 {
				trusted = len(chain)
			}
		} else if trusted < 0 {
			issuer = findIssuer(top, certs[1:])
		}
		if issuer == nil {
			break
		}
		chain = append(chain, issuer)
	}
	top := chain[len(chain)-1]
	// A missing issuer ends the checks (nginx 1.22 with OpenSSL 3 logs
	// it even when a CRL would be missing too); a self-signed certificate
	// that is not trusted lets them go on.
	switch {
	case !selfSigned(top) && trusted >= 0:
		return vNoIssuer
	case !selfSigned(top) && len(chain) == 1:
		return vUnverifiableLeaf
	case !selfSigned(top):
		return vNoLocalIssuer
	case trusted < 0 && len(chain) == 1:
		code = vSelfSignedLeaf
	case trusted < 0:
		code = vSelfSignedInChain
	}
	if !usableForServer(chain[0]) {
		code = vUnsupportedPurpose
	}
	for _, c := range chain[1:] {
		if !c.BasicConstraintsValid || !c.IsCA {
			code = vInvalidCA
		}
	}
	if len(bt.crls) > 0 {
		if c := bt.checkCRLs(chain, now); c != 0 {
			code = c
		}
	}
	// internal_verify: from the top down, each signature and each
	// validity period.
	for i := len(chain) - 1; i >= 0; i-- {
		c := chain[i]
		if i < len(chain)-1 && c.CheckSignatureFrom(chain[i+1]) != nil &&
			chain[i+1].CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
			code = vCertSignature
		}
		switch {
		case now.Before(c.NotBefore):
			code = vNotYetValid
		case now.After(c.NotAfter):
			code = vExpired
		}
	}
	return code
}

// isTrusted reports whether c itself is in the trusted store.
func (bt *backendTLS) isTrusted(c *x509.Certificate) bool {
	for _, r := range bt.roots {
		if r.Equal(c) {
			return true
		}
	}
	return false
}

// usableForServer is OpenSSL's "sslserver" purpose as far as the
// extended key usage goes: absent, or naming serverAuth (or any).
func usableForServer(c *x509.Certificate) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// findIssuer is OpenSSL's check_issued: the subject names the issuer
// and the key identifiers, when both are there, agree.
func findIssuer(c *x509.Certificate, certs []*x509.Certificate) *x509.Certificate {
	for _, p := range certs {
		if p == c || !bytes.Equal(c.RawIssuer, p.RawSubject) {
			continue
		}
		if len(c.AuthorityKeyId) > 0 && len(p.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, p.SubjectKeyId) {
			continue
		}
		return p
	}
	return nil
}

// checkCRLs is OpenSSL's check with X509_V_FLAG_CRL_CHECK and
// X509_V_FLAG_CRL_CHECK_ALL (ngx_ssl_crl sets both): every certificate of
// the chain, the root included, needs a current CRL from its issuer.
func (bt *backendTLS) checkCRLs(chain []*x509.Certificate, now time.Time) int {
	code := 0
	for i, c := range chain {
		issuer := c
		if i+1 < len(chain) {
			issuer = chain[i+1]
		}
		var crl *tlsutil.CRL
		for _, l := range bt.crls {
			if bytes.Equal(l.RawIssuer, c.RawIssuer) {
				crl = l
				break
			}
		}
		if crl == nil {
			code = vNoCRL
			continue
		}
		if !crl.SignedBy(issuer) {
			code = vCRLSignature
		}
		if now.Before(crl.ThisUpdate) {
			code = vCRLNotYetValid
		} else if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			code = vCRLExpired
		}
		for _, serial := range crl.Revoked {
			if serial.Cmp(c.SerialNumber) == 0 {
				code = vRevoked
			}
		}
	}
	return code
}

// matchHost is X509_check_host(cert, name, 0, 0) as ngx_ssl_check_host
// calls it: the DNS subjectAltNames, or when there are none the subject's
// common names; case-insensitive; a "*" only in the leftmost label
// (partial wildcards such as "f*o" included), not matching across dots,
// and only with at least two labels after it. IP address SANs are not
// consulted.
func matchHost(cert *x509.Certificate, name string) bool {
	if len(cert.DNSNames) > 0 {
		for _, p := range cert.DNSNames {
			if matchPattern(p, name) {
				return true
			}
		}
		return false
	}
	for _, atv := range cert.Subject.Names {
		if atv.Type.Equal([]int{2, 5, 4, 3}) {
			if s, ok := atv.Value.(string); ok && matchPattern(s, name) {
				return true
			}
		}
	}
	return false
}

func matchPattern(pattern, name string) bool {
	pattern = strings.TrimSuffix(strings.ToLower(pattern), ".")
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == name
	}
	dot := strings.IndexByte(pattern, '.')
	if dot < 0 || star > dot || strings.Count(pattern, "*") > 1 || strings.Count(pattern[dot:], ".") < 2 ||
		strings.HasPrefix(pattern, "xn--") {
		return false
	}
	ndot := strings.IndexByte(name, '.')
	if ndot < 0 || name[ndot:] != pattern[dot:] {
		return false
	}
	prefix, suffix := pattern[:star], pattern[star+1:dot]
	label := name[:ndot]
	return len(label) >= len(prefix)+len(suffix) && strings.HasPrefix(label, prefix) && strings.HasSuffix(label, suffix) &&
		(label != "" || prefix+suffix != "")
}
