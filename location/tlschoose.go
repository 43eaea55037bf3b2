package location

import (
	"crypto/tls"
	"errors"
)

// ServerChoice is how a server terminating TLS picks what OpenSSL would
// pick, shared with the stream module: crypto/tls ignores the order of
// CipherSuites and its PreferServerCipherSuites, so the suite (and the
// certificate for it) is chosen here from ssl_ciphers in OpenSSL's order,
// the client's order or, with ssl_prefer_server_ciphers, the server's;
// ssl_ecdh_curve's groups likewise.
type ServerChoice struct {
	suites []uint16
	curves []tls.CurveID
	prefer bool
}

// NewServerChoice compiles ssl_ciphers (an OpenSSL cipher string),
// ssl_ecdh_curve ("auto" or a list) and ssl_prefer_server_ciphers.
func NewServerChoice(ciphers, curves string, preferServer bool) *ServerChoice {
	suites, _ := opensslSuites(ciphers)
	return &ServerChoice{suites: suites, curves: tlsCurves(curves), prefer: preferServer}
}

// Curves is the server's groups (CurvePreferences).
func (sc *ServerChoice) Curves() []tls.CurveID { return sc.curves }

// Config narrows base for one handshake with hello, serving certs: the
// chosen suite and its certificate below TLS 1.3 (an error when nothing
// is shared: OpenSSL's "no shared cipher"), the certificate for the
// client's signature algorithms in TLS 1.3, and the group order.
func (sc *ServerChoice) Config(base *tls.Config, hello *tls.ClientHelloInfo, certs []tls.Certificate) (*tls.Config, error) {
	version := negotiatedVersion(hello.SupportedVersions, base.MinVersion, base.MaxVersion)
	cfg := base.Clone()
	cfg.GetConfigForClient = nil
	cfg.CurvePreferences = groupOrder(hello.SupportedCurves, sc.curves, version < tls.VersionTLS13 && sc.prefer)
	if len(certs) == 0 {
		return cfg, nil // loaded at the handshake (variables)
	}
	if version == tls.VersionTLS13 {
		cert := chooseCert13(certs, hello.SignatureSchemes, sc.prefer)
		if cert == nil {
			return nil, errors.New("no suitable signature algorithm")
		}
		cfg.Certificates = []tls.Certificate{*cert}
		return cfg, nil
	}
	suite, cert := chooseSuite12(sc.suites, hello.CipherSuites, certs, sc.prefer, hello.SupportedCurves, sc.curves)
	if cert == nil {
		return nil, errors.New("no shared cipher")
	}
	cfg.CipherSuites = []uint16{suite}
	cfg.Certificates = []tls.Certificate{*cert}
	return cfg, nil
}
