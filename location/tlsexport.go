package location

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"time"
)

// What the stream module's $ssl_* variables share with the HTTP ones, so
// that both print nginx's (OpenSSL's) forms.

// ClientCertVars are the $ssl_client_* variables read from the client's
// certificate (ngx_stream_ssl_module has the same as the HTTP one).
var ClientCertVars = []string{"ssl_client_raw_cert", "ssl_client_cert", "ssl_client_escaped_cert",
	"ssl_client_s_dn", "ssl_client_i_dn", "ssl_client_s_dn_legacy", "ssl_client_i_dn_legacy",
	"ssl_client_serial", "ssl_client_fingerprint", "ssl_client_v_start", "ssl_client_v_end", "ssl_client_v_remain"}

// AppendClientCertVar appends the value of one of ClientCertVars for c.
func AppendClientCertVar(dst []byte, name string, c *x509.Certificate) []byte {
	if f, ok := clientCertFormat[name]; ok {
		return f(c, dst)
	}
	return dst
}

// AppendCipherList appends a ClientHello's suites as $ssl_ciphers does.
func AppendCipherList(dst []byte, ids []uint16) []byte {
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, ':')
		}
		if n, ok := opensslCipherNames[id]; ok {
			dst = append(dst, n...)
		} else {
			dst = append(dst, "0x"...)
			dst = hex.AppendEncode(dst, []byte{byte(id >> 8), byte(id)})
		}
	}
	return dst
}

// AppendCurveList appends a ClientHello's groups as $ssl_curves does.
func AppendCurveList(dst []byte, ids []tls.CurveID) []byte {
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = appendGroup(dst, id)
	}
	return dst
}

// AppendCurve appends the negotiated group as $ssl_curve does.
func AppendCurve(dst []byte, id tls.CurveID) []byte {
	if id == 0 {
		return dst
	}
	return appendGroup(dst, id)
}

// ClientVerifier is ssl_verify_client's check of a client's certificate
// as the http side makes it (OpenSSL's X509_verify_cert under nginx's
// callback: chain building, depth, purposes, ssl_crl), for the stream
// module.
type ClientVerifier struct{ v *clientVerifier }

// NewClientVerifier loads ssl_client_certificate, ssl_trusted_certificate
// and ssl_crl (resolved paths, "" when unset) for mode (on, optional,
// optional_no_ca) and ssl_verify_depth.
func NewClientVerifier(mode string, depth int, clientCA, trusted, crl string) (*ClientVerifier, error) {
	v, err := newClientVerifier(&SSLConfig{Verify: parseVerifyMode(mode), VerifyDepth: depth,
		ClientCA: clientCA, Trusted: trusted, CRL: crl})
	if err != nil || v == nil {
		return nil, err
	}
	return &ClientVerifier{v: v}, nil
}

// CAs are the names the CertificateRequest sends (ssl_client_certificate's).
func (c *ClientVerifier) CAs() *x509.CertPool { return c.v.names }

// Verify checks the chain the client sent (its certificate first): code
// is 0 or OpenSSL's X509_V_ERR_* with its text; optional says whether
// optional_no_ca lets that code pass.
func (c *ClientVerifier) Verify(peer []*x509.Certificate) (code int, text string, optional bool) {
	code, _ = c.v.verify(peer, time.Now())
	if code == x509OK {
		return 0, "", true
	}
	return code, x509ErrorText(code), verifyErrorOptional(code)
}
