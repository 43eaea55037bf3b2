package location

import (
	"crypto/tls"
	"encoding/hex"

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
		for i, id := range t.ciphers {
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
	}))
	rc.AddVariable("ssl_curve", done(func(t *tlsInfo, dst []byte) []byte {
		if t.state.CurveID == 0 {
			return dst
		}
		return appendGroup(dst, t.state.CurveID)
	}))
	rc.AddVariable("ssl_curves", get(func(t *tlsInfo, dst []byte) []byte {
		for i, id := range t.curves {
			if i > 0 {
				dst = append(dst, ':')
			}
			dst = appendGroup(dst, id)
		}
		return dst
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
	// Client certificates are not requested (ssl_verify_client refuses to
	// start), so nginx's values for "no certificate" hold.
	rc.AddVariable("ssl_client_verify", get(func(t *tlsInfo, dst []byte) []byte {
		return append(dst, "NONE"...)
	}))
	for _, name := range []string{"ssl_client_cert", "ssl_client_raw_cert", "ssl_client_escaped_cert",
		"ssl_client_s_dn", "ssl_client_i_dn", "ssl_client_s_dn_legacy", "ssl_client_i_dn_legacy",
		"ssl_client_serial", "ssl_client_fingerprint", "ssl_client_v_start", "ssl_client_v_end",
		"ssl_client_v_remain"} {
		rc.AddVariable(name, func(s *rewrite.State, dst []byte) []byte { return dst })
	}
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
