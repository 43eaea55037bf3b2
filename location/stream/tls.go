package stream

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/upstream"
	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// serverTLS compiles the TLS of a server with a "listen ... ssl"
// (ngx_stream_ssl_module) into srv: its certificates, protocols, ciphers
// and ssl_conf_command.
func (cc *compiler) serverTLS(srv *server, blocks [][]*nginxconf.Directive, srvDir *nginxconf.Directive) error {
	// Certificates and keys merge apart (ngx_stream_ssl_merge_conf):
	// each from the innermost level that has any.
	var certs, keys []*nginxconf.Directive
	for i := len(blocks) - 1; i >= 0 && len(certs) == 0; i-- {
		certs = all(blocks[i], "ssl_certificate")
	}
	for i := len(blocks) - 1; i >= 0 && len(keys) == 0; i-- {
		keys = all(blocks[i], "ssl_certificate_key")
	}
	// The line of the server's last "listen ... ssl" (ngx_stream_core_listen
	// keeps it for these errors).
	listenAt := srvDir
	for _, d := range srvDir.Block {
		if d.Name == "listen" && slices.Contains(d.Args[1:], "ssl") {
			listenAt = d
		}
	}
	at := " directive in " + listenAt.File + ":" + itoa(listenAt.EndLine)
	switch {
	case len(certs) == 0:
		return &nginxconf.Error{Msg: `no "ssl_certificate" is defined for the "listen ... ssl"` + at}
	case len(keys) == 0:
		return &nginxconf.Error{Msg: `no "ssl_certificate_key" is defined for the "listen ... ssl"` + at}
	case len(keys) < len(certs):
		return &nginxconf.Error{Msg: `no "ssl_certificate_key" is defined for certificate "` + cc.certName(certs[len(certs)-1]) + `" and the "listen ... ssl"` + at}
	}
	var passwords []string
	if d := last(blocks, "ssl_password_file"); d != nil {
		passwords = cc.cfg.Passwords[cc.cfg.ConfPath(d.Args[0])]
	}
	// ssl_conf_command: the innermost level's lines, applied last.
	var cmdDirs []*nginxconf.Directive
	for i := len(blocks) - 1; i >= 0 && len(cmdDirs) == 0; i-- {
		cmdDirs = all(blocks[i], "ssl_conf_command")
	}
	cmds, err := location.ParseConfCommands(cmdDirs, cc.cfg.ConfPath, cc.opts.Serving)
	if err != nil {
		return err
	}
	// ssl_ciphers before the certificates (ngx_stream_ssl_merge_conf): its
	// @SECLEVEL is the level they are checked at.
	ciphers := "HIGH:!aNULL:!MD5"
	if d := last(blocks, "ssl_ciphers"); d != nil {
		if _, err := upstream.CipherSuites(d.Args[0]); err != nil {
			return confErr(d, "%s", err)
		}
		ciphers = d.Args[0]
	}
	// nginx 1.22's default ssl_protocols are TLSv1 TLSv1.1 TLSv1.2, of
	// which OpenSSL 3 at its default security level keeps TLSv1.2.
	tc := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	dynamic := false
	for i, cd := range certs {
		dynamic = dynamic || strings.Contains(cd.Args[0], "$") || strings.Contains(keys[i].Args[0], "$")
	}
	if !dynamic {
		if cc.certsLoaded == nil {
			cc.certsLoaded = map[*nginxconf.Directive]bool{}
		}
		for _, cd := range certs {
			cc.certsLoaded[cd] = true
		}
	}
	var dyn *dynamicCerts
	switch {
	case dynamic:
		if cmds.Cert != "" && cc.opts.Serving {
			return confErr(cmdDirs[0], `"ssl_conf_command Certificate" with variables in "ssl_certificate" is not supported by gonginx`)
		}
		// Loaded at each handshake, as nginx 1.22 does (no cache).
		dyn = &dynamicCerts{passwords: passwords, prefix: cc.cfg.ConfPath("")}
		for i, cd := range certs {
			cv, err := cc.c.rc.Complex(cd.Args[0])
			if err != nil {
				return rewrite.At(err, cd)
			}
			kv, err := cc.c.rc.Complex(keys[i].Args[0])
			if err != nil {
				return rewrite.At(err, keys[i])
			}
			dyn.certs = append(dyn.certs, [2]*rewrite.Complex{cv, kv})
		}
	case cc.opts.LoadCerts:
		for i, cd := range certs {
			if err := location.CertSecurityCheck(cc.cfg.ConfPath(cd.Args[0]), ciphers); err != nil {
				return err
			}
			pair, err := location.LoadCertPair(cc.cfg.ConfPath(cd.Args[0]), cc.cfg.ConfPath(keys[i].Args[0]), passwords)
			if err != nil {
				return err
			}
			tc.Certificates = append(tc.Certificates, pair)
		}
		if tc.Certificates, err = cmds.WithCert(tc.Certificates, passwords); err != nil {
			return err
		}
	}
	// Session resumption as location.Resumption sets it, with the
	// ticket key files of the innermost level that names any.
	res := location.Resumption{Tickets: last(blocks, "ssl_session_tickets"), Cache: last(blocks, "ssl_session_cache"),
		Timeout: last(blocks, "ssl_session_timeout"), TicketsCmd: cmds.Tickets}
	for i := len(blocks) - 1; i >= 0 && len(res.KeyFiles) == 0; i-- {
		for _, d := range all(blocks[i], "ssl_session_ticket_key") {
			if !cc.opts.LoadCerts {
				break
			}
			b, err := os.ReadFile(cc.cfg.ConfPath(d.Args[0]))
			if err != nil {
				return confErr(d, "open() \"%s\" failed (%s)", cc.cfg.ConfPath(d.Args[0]), nginxconf.ErrnoText(err))
			}
			res.KeyFiles = append(res.KeyFiles, b)
		}
	}
	res.Apply(tc, cc.rt.TicketSeed(), "stream", certs, keys)
	if d := last(blocks, "ssl_protocols"); d != nil {
		tc.MinVersion, tc.MaxVersion = tlsutil.ProtocolRange(d.Args, tls.VersionTLS12)
	}
	curves := "auto"
	if d := last(blocks, "ssl_ecdh_curve"); d != nil {
		curves = d.Args[0]
	}
	prefer := false
	if d := last(blocks, "ssl_prefer_server_ciphers"); d != nil {
		prefer = d.Args[0] == "on"
	}
	if cmds.PreferServer != nil {
		prefer = *cmds.PreferServer
	}
	srv.choice = location.NewServerChoice(ciphers, curves, prefer)
	tc.CurvePreferences = srv.choice.Curves()
	if len(tc.CurvePreferences) == 0 && cc.opts.Serving {
		return confErr(last(blocks, "ssl_ecdh_curve"), "\"%s\" value of \"ssl_ecdh_curve\" directive is not supported by gonginx (no group it implements)", curves)
	}
	if d := last(blocks, "ssl_alpn"); d != nil {
		// The server's list, in its order of preference; a client
		// offering none of them fails the handshake (500 in the log).
		tc.NextProtos = d.Args
	}
	srv.tls, srv.dynCerts = tc, dyn
	return nil
}

// dynamicCerts are ssl_certificate and ssl_certificate_key with
// variables: evaluated for each handshake ($ssl_server_name is the SNI
// name then), the files read relative to the conf prefix.
type dynamicCerts struct {
	certs     [][2]*rewrite.Complex
	passwords []string
	prefix    string
}

// load returns the session's certificate; an error is nginx's "cannot
// load certificate" and fails the handshake.
func (dc *dynamicCerts) load(s *rewrite.State) (*tls.Certificate, error) {
	full := func(name string) string {
		if filepath.IsAbs(name) {
			return name
		}
		return filepath.Join(dc.prefix, name)
	}
	var first *tls.Certificate
	for _, p := range dc.certs {
		cert, key := string(p[0].Eval(s, nil)), string(p[1].Eval(s, nil))
		pair, err := location.LoadCertPair(full(cert), full(key), dc.passwords)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = &pair
		}
	}
	return first, nil
}

// clientVerify is ssl_verify_client with its CA files: the client's
// certificate is asked for during the handshake and checked after it, as
// nginx's verify callback accepts everything and the ssl phase decides
// (ngx_stream_ssl_handler), with the http side's verification.
type clientVerify struct {
	mode string // "on", "optional", "optional_no_ca"
	v    *location.ClientVerifier
}

// compileVerify reads ssl_verify_client, ssl_client_certificate (sent as
// the acceptable CAs, and trusted), ssl_trusted_certificate (trusted),
// ssl_crl and ssl_verify_depth.
func (cc *compiler) compileVerify(blocks [][]*nginxconf.Directive, tc *tls.Config) (*clientVerify, error) {
	d := last(blocks, "ssl_verify_client")
	if d == nil || d.Args[0] == "off" {
		return nil, nil
	}
	v := &clientVerify{mode: d.Args[0]}
	depth := 1
	if dd := last(blocks, "ssl_verify_depth"); dd != nil {
		depth, _ = strconv.Atoi(dd.Args[0])
	}
	path := func(name string) (string, error) {
		p := cc.cfg.ConfPath(name)
		if _, err := os.Stat(p); err != nil {
			return "", &nginxconf.Error{Msg: fmt.Sprintf("SSL_CTX_load_verify_locations(\"%s\") failed (%s)", p, nginxconf.ErrnoText(err))}
		}
		return p, nil
	}
	cd := last(blocks, "ssl_client_certificate")
	if cd == nil && v.mode != "optional_no_ca" {
		return nil, confErr(d, `no ssl_client_certificate for ssl_verify_client`)
	}
	tc.ClientAuth = tls.RequestClientCert
	if !cc.opts.LoadCerts {
		return v, nil
	}
	var files [3]string // client CA, trusted, CRL
	for i, name := range []string{"ssl_client_certificate", "ssl_trusted_certificate", "ssl_crl"} {
		if fd := last(blocks, name); fd != nil && fd.Args[0] != "" {
			p, err := path(fd.Args[0])
			if err != nil {
				return nil, err
			}
			files[i] = p
		}
	}
	cv, err := location.NewClientVerifier(v.mode, depth, files[0], files[1], files[2])
	if err != nil {
		return nil, err
	}
	v.v = cv
	if cas := cv.CAs(); cas != nil {
		tc.ClientCAs = cas
	}
	return v, nil
}

// check is the ssl phase's test of the client's certificate: "" when the
// session goes on, else the error nginx logs before it closes.
// verifyResult is $ssl_client_verify.
func (v *clientVerify) check(certs []*x509.Certificate) (logMsg, verifyResult string) {
	if len(certs) == 0 {
		if v.mode == "on" {
			return "client sent no required SSL certificate", "NONE"
		}
		return "", "NONE"
	}
	if v.v == nil {
		return "", "SUCCESS" // -t: nothing is served
	}
	code, reason, optional := v.v.Verify(certs)
	if code == 0 {
		return "", "SUCCESS"
	}
	if v.mode == "optional_no_ca" && optional {
		return "", "FAILED:" + reason
	}
	return "client SSL certificate verify error: (" + strconv.Itoa(code) + ":" + reason + ")", "FAILED:" + reason
}
