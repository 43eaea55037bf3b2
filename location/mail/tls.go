package mail

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream"
	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// TLS (ngx_mail_ssl_module): "listen ... ssl" (or the obsolete "ssl on")
// handshakes first; "starttls on|only" offers STLS/STARTTLS.

// starttls values.
const (
	starttlsOff = iota
	starttlsOn
	starttlsOnly
)

// compileTLS reads the ssl_* directives of mail{} and srv, when the
// server needs TLS (a listen with ssl, "ssl on" or starttls).
func compileTLS(cfg *nginxconf.Config, rt *location.Router, opts location.Options, sv *server, main, srv *nginxconf.Directive, certsLoaded map[*nginxconf.Directive]bool) error {
	blocks := [][]*nginxconf.Directive{main.Block, srv.Block}
	if d := lookup(main, srv, "starttls"); d != nil && len(d.Args) > 0 {
		sv.starttls = map[string]int{"on": starttlsOn, "only": starttlsOnly}[d.Args[0]]
	}
	if d := lookup(main, srv, "ssl"); d != nil && len(d.Args) > 0 {
		sv.sslOn = d.Args[0] == "on"
	}
	need := sv.sslOn || sv.starttls != starttlsOff
	for _, d := range srv.Block {
		if d.Name == "listen" {
			for _, a := range d.Args[1:] {
				need = need || a == "ssl"
			}
		}
	}
	if !need {
		return nil
	}
	// Certificates and keys merge apart (ngx_mail_ssl_merge_conf): each
	// from the innermost level that has any.
	var certs, keys []*nginxconf.Directive
	for i := len(blocks) - 1; i >= 0 && len(certs) == 0; i-- {
		certs = all(blocks[i], "ssl_certificate")
	}
	for i := len(blocks) - 1; i >= 0 && len(keys) == 0; i-- {
		keys = all(blocks[i], "ssl_certificate_key")
	}
	if len(certs) == 0 || len(keys) < len(certs) {
		mode, at := tlsMode(sv, main, srv)
		in := ` directive in ` + at.File + ":" + strconv.Itoa(at.EndLine)
		switch {
		case len(certs) == 0:
			return &nginxconf.Error{Msg: `no "ssl_certificate" is defined for the "` + mode + `"` + in}
		case len(keys) == 0:
			return &nginxconf.Error{Msg: `no "ssl_certificate_key" is defined for the "` + mode + `"` + in}
		}
		last := certs[len(certs)-1]
		name := last.Args[0]
		if certsLoaded[last] {
			name = cfg.ConfPath(name)
		}
		return &nginxconf.Error{Msg: `no "ssl_certificate_key" is defined for certificate "` + name + `" and the "` + mode + `"` + in}
	}
	for _, cd := range certs {
		certsLoaded[cd] = true
	}
	var passwords []string
	if d := lookup(main, srv, "ssl_password_file"); d != nil {
		passwords = cfg.Passwords[cfg.ConfPath(d.Args[0])]
	}
	var cmdDirs []*nginxconf.Directive
	for i := len(blocks) - 1; i >= 0 && len(cmdDirs) == 0; i-- {
		cmdDirs = all(blocks[i], "ssl_conf_command")
	}
	cmds, err := location.ParseConfCommands(cmdDirs, cfg.ConfPath, opts.Serving)
	if err != nil {
		return err
	}
	// ssl_ciphers before the certificates (ngx_mail_ssl_merge_conf): its
	// @SECLEVEL is the level they are checked at.
	ciphers := "HIGH:!aNULL:!MD5"
	if d := lookup(main, srv, "ssl_ciphers"); d != nil {
		if _, err := upstream.CipherSuites(d.Args[0]); err != nil {
			return &nginxconf.Error{Msg: err.Error(), File: d.File, Line: d.EndLine}
		}
		ciphers = d.Args[0]
	}
	// nginx 1.22's default ssl_protocols are TLSv1 TLSv1.1 TLSv1.2, of
	// which OpenSSL 3 at its default security level keeps TLSv1.2.
	tc := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	if opts.LoadCerts {
		for i, cd := range certs {
			if err := location.CertSecurityCheck(cfg.ConfPath(cd.Args[0]), ciphers); err != nil {
				return err
			}
			pair, err := location.LoadCertPair(cfg.ConfPath(cd.Args[0]), cfg.ConfPath(keys[i].Args[0]), passwords)
			if err != nil {
				return err
			}
			tc.Certificates = append(tc.Certificates, pair)
		}
		if tc.Certificates, err = cmds.WithCert(tc.Certificates, passwords); err != nil {
			return err
		}
	}
	res := location.Resumption{Tickets: lookup(main, srv, "ssl_session_tickets"), Cache: lookup(main, srv, "ssl_session_cache"),
		Timeout: lookup(main, srv, "ssl_session_timeout"), TicketsCmd: cmds.Tickets}
	for i := len(blocks) - 1; i >= 0 && len(res.KeyFiles) == 0; i-- {
		for _, d := range all(blocks[i], "ssl_session_ticket_key") {
			if !opts.LoadCerts {
				break
			}
			b, err := os.ReadFile(cfg.ConfPath(d.Args[0]))
			if err != nil {
				return &nginxconf.Error{Msg: "open() \"" + cfg.ConfPath(d.Args[0]) + "\" failed (" + nginxconf.ErrnoText(err) + ")", File: d.File, Line: d.EndLine}
			}
			res.KeyFiles = append(res.KeyFiles, b)
		}
	}
	res.Apply(tc, rt.TicketSeed(), "mail", certs, keys)
	if d := lookup(main, srv, "ssl_protocols"); d != nil {
		tc.MinVersion, tc.MaxVersion = tlsutil.ProtocolRange(d.Args, tls.VersionTLS12)
	}
	curves := "auto"
	if d := lookup(main, srv, "ssl_ecdh_curve"); d != nil {
		curves = d.Args[0]
	}
	prefer := false
	if d := lookup(main, srv, "ssl_prefer_server_ciphers"); d != nil {
		prefer = d.Args[0] == "on"
	}
	if cmds.PreferServer != nil {
		prefer = *cmds.PreferServer
	}
	// ALPN: a client that offers protocols must offer this one
	// (ngx_mail_ssl_alpn_select).
	tc.NextProtos = []string{sv.proto.name}
	if err := compileVerify(cfg, opts, sv, main, srv, tc); err != nil {
		return err
	}
	sv.choice = location.NewServerChoice(ciphers, curves, prefer)
	tc.CurvePreferences = sv.choice.Curves()
	sv.tls = tc
	return nil
}

func all(block []*nginxconf.Directive, name string) []*nginxconf.Directive {
	var out []*nginxconf.Directive
	for _, d := range block {
		if d.Name == name {
			out = append(out, d)
		}
	}
	return out
}

// handshake runs the TLS handshake on the client connection within
// timeout; the session then talks TLS.
func (s *session) handshake() bool {
	cfg := s.sv.tls.Clone()
	base := s.sv.tls
	cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		return s.sv.choice.Config(base, h, base.Certificates)
	}
	var under net.Conn = s.nc
	if we := newWriteEvents(s.nc); we != nil {
		// The proxied session's writes go through it (relay).
		s.events, under = we, we
	}
	tc := tls.Server(under, cfg)
	tc.SetDeadline(time.Now().Add(s.sv.timeout))
	if err := tc.Handshake(); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.logf("info", "client timed out", " (110: Connection timed out)")
		}
		return false
	}
	tc.SetDeadline(time.Time{})
	s.nc, s.tls = tc, tc
	return true
}

// tlsProtocolName is OpenSSL's name of a TLS version (Auth-SSL-Protocol).
func tlsProtocolName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return "unknown"
}

// tlsMode is what turned TLS on for nginx's merge errors: "listen ...
// ssl", else "ssl" (on), else "starttls", and the directive whose line
// they name: the server's last "listen ... ssl", else its last ssl or
// starttls before any such listen, else mail{}'s (ngx_mail_ssl_enable and
// ngx_mail_ssl_starttls keep their line unless a listen set one).
func tlsMode(sv *server, main, srv *nginxconf.Directive) (string, *nginxconf.Directive) {
	listen := false
	var at *nginxconf.Directive
	for _, d := range srv.Block {
		switch {
		case d.Name == "listen" && slices.Contains(d.Args[1:], "ssl"):
			listen, at = true, d
		case (d.Name == "ssl" || d.Name == "starttls") && !listen:
			at = d
		}
	}
	if at == nil {
		for _, d := range main.Block {
			if d.Name == "ssl" || d.Name == "starttls" {
				at = d
			}
		}
	}
	switch {
	case listen:
		return "listen ... ssl", at
	case sv.sslOn:
		return "ssl", at
	}
	return "starttls", at
}
