package mail

import (
	"crypto/tls"
	"os"
	"strconv"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
)

// Client certificates: ssl_verify_client checks the client's certificate
// after the handshake (ngx_mail_verify_cert); with it the auth_http
// request says what was found (Auth-SSL-Verify, -Subject, -Issuer,
// -Serial, -Fingerprint, and -Cert with auth_http_pass_client_cert).

type clientVerify struct {
	mode string // on, optional, optional_no_ca
	v    *location.ClientVerifier
}

func compileVerify(cfg *nginxconf.Config, opts location.Options, sv *server, main, srv *nginxconf.Directive, tc *tls.Config) error {
	d := lookup(main, srv, "ssl_verify_client")
	if d == nil || d.Args[0] == "off" {
		return nil
	}
	v := &clientVerify{mode: d.Args[0]}
	depth := 1
	if dd := lookup(main, srv, "ssl_verify_depth"); dd != nil {
		depth, _ = strconv.Atoi(dd.Args[0])
	}
	tc.ClientAuth = tls.RequestClientCert
	sv.verify = v
	if !opts.LoadCerts {
		return nil
	}
	var files [3]string // client CA, trusted, CRL
	for i, name := range []string{"ssl_client_certificate", "ssl_trusted_certificate", "ssl_crl"} {
		if fd := lookup(main, srv, name); fd != nil && fd.Args[0] != "" {
			p := cfg.ConfPath(fd.Args[0])
			if _, err := os.Stat(p); err != nil {
				return &nginxconf.Error{Msg: "SSL_CTX_load_verify_locations(\"" + p + "\") failed (" + nginxconf.ErrnoText(err) + ")"}
			}
			files[i] = p
		}
	}
	cv, err := location.NewClientVerifier(v.mode, depth, files[0], files[1], files[2])
	if err != nil {
		return err
	}
	v.v = cv
	if cas := cv.CAs(); cas != nil {
		tc.ClientCAs = cas
	}
	return nil
}

// verifyCert checks the client's certificate after a handshake: false
// when the session ends with the protocol's certificate error (set as
// s.out, to be sent).
func (s *session) verifyCert() bool {
	v := s.sv.verify
	if v == nil {
		return true
	}
	certs := s.tls.ConnectionState().PeerCertificates
	s.certVerify = "NONE"
	if len(certs) > 0 {
		s.certVerify = "SUCCESS"
		if v.v != nil {
			code, reason, optional := v.v.Verify(certs)
			if code != 0 {
				s.certVerify = "FAILED:" + reason
				if v.mode != "optional_no_ca" || !optional {
					s.logf("info", "client SSL certificate verify error: ("+strconv.Itoa(code)+":"+reason+")", "")
					s.out = s.sv.proto.certError
					s.quit = true
					return false
				}
			}
		}
	}
	if v.mode == "on" && len(certs) == 0 {
		s.logf("info", "client sent no required SSL certificate", "")
		s.out = s.sv.proto.noCert
		s.quit = true
		return false
	}
	return true
}

// appendCertHeaders writes the Auth-SSL-* headers of the client's
// certificate.
func (s *session) appendCertHeaders(b []byte) []byte {
	if s.sv.verify == nil {
		return b
	}
	b = append(b, "Auth-SSL-Verify: "+s.certVerify+"\r\n"...)
	certs := s.tls.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return b
	}
	c := certs[0]
	for _, h := range []struct{ name, v string }{
		{"Auth-SSL-Subject: ", "ssl_client_s_dn"}, {"Auth-SSL-Issuer: ", "ssl_client_i_dn"},
		{"Auth-SSL-Serial: ", "ssl_client_serial"}, {"Auth-SSL-Fingerprint: ", "ssl_client_fingerprint"},
	} {
		b = append(b, h.name...)
		b = location.AppendClientCertVar(b, h.v, c)
		b = append(b, "\r\n"...)
	}
	if s.sv.auth.passClientCert {
		b = append(b, "Auth-SSL-Cert: "...)
		b = append(b, escapeAuth(location.AppendClientCertVar(nil, "ssl_client_raw_cert", c))...)
		b = append(b, "\r\n"...)
	}
	return b
}
