package stream

import (
	"crypto/tls"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/rewrite"
)

// addVariables defines the stream variables that read the session
// itself (the others are rewrite's, fed through the State).
func addVariables(rc *rewrite.Compiler) {
	get := func(f func(ss *session, dst []byte) []byte) func(s *rewrite.State, dst []byte) []byte {
		return func(s *rewrite.State, dst []byte) []byte {
			ss, ok := s.Stream.(*session)
			if !ok {
				return dst
			}
			return f(ss, dst)
		}
	}
	rc.AddVariable("bytes_received", get(func(ss *session, dst []byte) []byte {
		return strconv.AppendInt(dst, ss.received, 10)
	}))
	rc.AddVariable("session_time", get(func(ss *session, dst []byte) []byte {
		return rewrite.AppendMillis(dst, time.Since(ss.start))
	}))
	rc.AddVariable("protocol", get(func(ss *session, dst []byte) []byte {
		if ss.udp {
			return append(dst, "UDP"...)
		}
		return append(dst, "TCP"...)
	}))
	preread := func(f func(h *clientHello) string) func(s *rewrite.State, dst []byte) []byte {
		return func(s *rewrite.State, dst []byte) []byte {
			ss, ok := s.Stream.(*session)
			if !ok || !ss.hello.ok {
				return dst // no hello read: not found
			}
			v := f(&ss.hello)
			s.FoundEmpty = v == ""
			return append(dst, v...)
		}
	}
	rc.AddVariable("ssl_preread_server_name", preread(func(h *clientHello) string { return h.serverName }))
	rc.AddVariable("ssl_preread_protocol", preread(func(h *clientHello) string { return h.protocol }))
	rc.AddVariable("ssl_preread_alpn_protocols", preread(func(h *clientHello) string { return h.alpn }))
	// The address the connection came from, before realip.
	rc.AddVariable("realip_remote_addr", get(func(ss *session, dst []byte) []byte {
		return append(dst, ss.peerAddr...)
	}))
	rc.AddVariable("realip_remote_port", get(func(ss *session, dst []byte) []byte {
		return append(dst, ss.peerPort...)
	}))
	rc.AddVariable("limit_conn_status", get(func(ss *session, dst []byte) []byte {
		return append(dst, ss.limitStatus...)
	}))
	tlsVar := func(f func(cs *tls.ConnectionState, dst []byte) []byte) func(s *rewrite.State, dst []byte) []byte {
		return get(func(ss *session, dst []byte) []byte {
			if ss.tls == nil {
				return dst
			}
			cs := ss.tls.ConnectionState()
			return f(&cs, dst)
		})
	}
	rc.AddVariable("ssl_protocol", tlsVar(func(cs *tls.ConnectionState, dst []byte) []byte {
		switch cs.Version {
		case tls.VersionTLS10:
			return append(dst, "TLSv1"...)
		case tls.VersionTLS11:
			return append(dst, "TLSv1.1"...)
		case tls.VersionTLS12:
			return append(dst, "TLSv1.2"...)
		case tls.VersionTLS13:
			return append(dst, "TLSv1.3"...)
		}
		return dst
	}))
	rc.AddVariable("ssl_server_name", get(func(ss *session, dst []byte) []byte {
		if ss.tls == nil {
			return append(dst, ss.sni...) // during the handshake
		}
		return append(dst, ss.tls.ConnectionState().ServerName...)
	}))
	rc.AddVariable("ssl_session_reused", tlsVar(func(cs *tls.ConnectionState, dst []byte) []byte {
		if cs.DidResume {
			return append(dst, 'r')
		}
		return append(dst, '.')
	}))
	rc.AddVariable("ssl_client_verify", get(func(ss *session, dst []byte) []byte {
		if ss.tls == nil {
			return dst
		}
		if ss.clientVerify == "" {
			return append(dst, "NONE"...)
		}
		return append(dst, ss.clientVerify...)
	}))
	// The client certificate's variables, in the HTTP module's forms.
	for _, name := range location.ClientCertVars {
		rc.AddVariable(name, tlsVar(func(cs *tls.ConnectionState, dst []byte) []byte {
			if len(cs.PeerCertificates) == 0 {
				return dst
			}
			return location.AppendClientCertVar(dst, name, cs.PeerCertificates[0])
		}))
	}
	// What the ClientHello offered (recorded by the handshake).
	rc.AddVariable("ssl_ciphers", get(func(ss *session, dst []byte) []byte {
		return location.AppendCipherList(dst, ss.helloCiphers)
	}))
	rc.AddVariable("ssl_curves", get(func(ss *session, dst []byte) []byte {
		return location.AppendCurveList(dst, ss.helloCurves)
	}))
	rc.AddVariable("ssl_curve", tlsVar(func(cs *tls.ConnectionState, dst []byte) []byte {
		return location.AppendCurve(dst, cs.CurveID)
	}))
	rc.AddVariable("ssl_session_id", tlsVar(func(cs *tls.ConnectionState, dst []byte) []byte {
		return dst // Go keeps no session IDs: TLS 1.3 has none, tickets carry 1.2's
	}))
	rc.AddVariable("ssl_cipher", tlsVar(func(cs *tls.ConnectionState, dst []byte) []byte {
		return append(dst, location.OpenSSLCipherName(cs.CipherSuite)...)
	}))
	rc.AddVariable("ssl_alpn_protocol", tlsVar(func(cs *tls.ConnectionState, dst []byte) []byte {
		return append(dst, cs.NegotiatedProtocol...)
	}))
}

func itoa(n int) string { return strconv.Itoa(n) }
