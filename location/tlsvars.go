package location

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/rewrite"
)

// addSSLVariables defines the $ssl_* variables of ngx_http_ssl_module
// (nginx 1.22), read from what the handshake recorded. On plain
// connections they are empty, as in nginx.
func addSSLVariables(rc *rewrite.Compiler) {
	get := func(f func(t *tlsInfo, dst []byte) []byte) func(s *rewrite.State, dst []byte) []byte {
		return func(s *rewrite.State, dst []byte) []byte {
			if s.Req == nil || s.Req.Conn == nil {
				return dst
			}
			t, ok := s.Req.Conn.SSL.(*tlsInfo)
			if !ok {
				return dst
			}
			return f(t, dst)
		}
	}
	done := func(f func(t *tlsInfo, dst []byte) []byte) func(s *rewrite.State, dst []byte) []byte {
		return get(func(t *tlsInfo, dst []byte) []byte {
			if t.state.Version == 0 { // during the handshake (certificate variables)
				return dst
			}
			return f(t, dst)
		})
	}
	rc.AddVariable("ssl_protocol", done(func(t *tlsInfo, dst []byte) []byte {
		return append(dst, protocolName(t.state.Version)...)
	}))
	rc.AddVariable("ssl_cipher", done(func(t *tlsInfo, dst []byte) []byte {
		return append(dst, opensslCipherNames[t.state.CipherSuite]...)
	}))
	rc.AddVariable("ssl_ciphers", get(func(t *tlsInfo, dst []byte) []byte {
		return AppendCipherList(dst, t.ciphers)
	}))
	rc.AddVariable("ssl_curve", done(func(t *tlsInfo, dst []byte) []byte {
		if t.state.CurveID == 0 {
			return dst
		}
		return appendGroup(dst, t.state.CurveID)
	}))
	rc.AddVariable("ssl_curves", get(func(t *tlsInfo, dst []byte) []byte {
		return AppendCurveList(dst, t.curves)
	}))
	rc.AddVariable("ssl_session_id", done(func(t *tlsInfo, dst []byte) []byte {
		return hex.AppendEncode(dst, t.sessionID[:])
	}))
	rc.AddVariable("ssl_session_reused", done(func(t *tlsInfo, dst []byte) []byte {
		if t.state.DidResume {
			return append(dst, 'r')
		}
		return append(dst, '.')
	}))
	// crypto/tls accepts no early data: the request never arrives in it.
	rc.AddVariable("ssl_early_data", func(s *rewrite.State, dst []byte) []byte { return dst })
	rc.AddVariable("ssl_server_name", get(func(t *tlsInfo, dst []byte) []byte {
		return append(dst, t.serverName...)
	}))
	rc.AddVariable("ssl_alpn_protocol", done(func(t *tlsInfo, dst []byte) []byte {
		return append(dst, t.state.NegotiatedProtocol...)
	}))
	// The client certificate, when the handshake requested one (an
	// SSL context with ssl_verify_client).
	rc.AddVariable("ssl_client_verify", get(func(t *tlsInfo, dst []byte) []byte {
		switch {
		case t.peer() == nil:
			return append(dst, "NONE"...)
		case t.verifyCode != x509OK:
			dst = append(dst, "FAILED:"...)
			return append(dst, x509ErrorText(t.verifyCode)...)
		case t.ocspError != "":
			dst = append(dst, "FAILED:"...)
			return append(dst, t.ocspError...)
		}
		return append(dst, "SUCCESS"...)
	}))
	peer := func(f func(t *tlsInfo, c *x509.Certificate, dst []byte) []byte) func(s *rewrite.State, dst []byte) []byte {
		return get(func(t *tlsInfo, dst []byte) []byte {
			if c := t.peer(); c != nil {
				return f(t, c, dst)
			}
			return dst
		})
	}
	for _, name := range ClientCertVars {
		f := clientCertFormat[name]
		rc.AddVariable(name, peer(func(_ *tlsInfo, c *x509.Certificate, dst []byte) []byte { return f(c, dst) }))
	}
}

// clientCertFormat prints each of ClientCertVars from the certificate.
var clientCertFormat = map[string]func(c *x509.Certificate, dst []byte) []byte{
	"ssl_client_raw_cert": func(c *x509.Certificate, dst []byte) []byte { return appendPEM(dst, c.Raw) },
	// The deprecated form: a tab after each line break but the last.
	"ssl_client_cert": func(c *x509.Certificate, dst []byte) []byte {
		p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		for _, b := range p[:len(p)-1] {
			dst = append(dst, b)
			if b == '\n' {
				dst = append(dst, '\t')
			}
		}
		return dst
	},
	"ssl_client_escaped_cert": func(c *x509.Certificate, dst []byte) []byte {
		return appendEscapedCert(dst, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	},
	"ssl_client_s_dn":        func(c *x509.Certificate, dst []byte) []byte { return appendDN2253(dst, c.RawSubject) },
	"ssl_client_i_dn":        func(c *x509.Certificate, dst []byte) []byte { return appendDN2253(dst, c.RawIssuer) },
	"ssl_client_s_dn_legacy": func(c *x509.Certificate, dst []byte) []byte { return appendDNOneline(dst, c.RawSubject) },
	"ssl_client_i_dn_legacy": func(c *x509.Certificate, dst []byte) []byte { return appendDNOneline(dst, c.RawIssuer) },
	"ssl_client_serial":      func(c *x509.Certificate, dst []byte) []byte { return appendSerial(dst, c.SerialNumber) },
	"ssl_client_fingerprint": func(c *x509.Certificate, dst []byte) []byte {
		sum := sha1.Sum(c.Raw)
		return hex.AppendEncode(dst, sum[:])
	},
	"ssl_client_v_start": func(c *x509.Certificate, dst []byte) []byte { return appendASN1Time(dst, c.NotBefore) },
	"ssl_client_v_end":   func(c *x509.Certificate, dst []byte) []byte { return appendASN1Time(dst, c.NotAfter) },
	// Whole days left, "0" within the last one (ngx_ssl_get_client_v_remain).
	"ssl_client_v_remain": func(c *x509.Certificate, dst []byte) []byte {
		end, now := c.NotAfter.Unix(), time.Now().Unix()
		if end < now+86400 {
			return append(dst, '0')
		}
		return strconv.AppendInt(dst, (end-now)/86400, 10)
	},
}

// appendPEM appends a certificate as PEM_write_bio_X509 writes it.
func appendPEM(dst, der []byte) []byte {
	return append(dst, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
}

// protocolName is OpenSSL's SSL_get_version text.
func protocolName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return "unknown"
}

// appendGroup appends a TLS group's OpenSSL name, or "0x%04x" for one
// OpenSSL 3.0 does not know.
func appendGroup(dst []byte, id tls.CurveID) []byte {
	if n, ok := opensslGroupNames[uint16(id)]; ok {
		return append(dst, n...)
	}
	dst = append(dst, "0x"...)
	return hex.AppendEncode(dst, []byte{byte(id >> 8), byte(id)})
}
