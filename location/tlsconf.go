package location

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/upstream/resolver"
)

// SSLConfig is a server's ssl_* configuration, merged http → server as
// ngx_http_ssl_merge_srv_conf does. A server has one (VirtualServer.SSL
// is not nil) when nginx makes it an SSL context: it has certificates or
// "ssl_reject_handshake on".
type SSLConfig struct {
	// Enable is "ssl on": connections to an address whose default server
	// this is are TLS, as if its listen had "ssl".
	Enable       bool
	Certificates []string // resolved paths (as written when they have variables)
	Keys         []string
	Protocols    []string // ssl_protocols
	Ciphers      string   // ssl_ciphers, an OpenSSL cipher string
	PreferServer bool     // ssl_prefer_server_ciphers
	Curves       string   // ssl_ecdh_curve
	Tickets      bool     // ssl_session_tickets
	// SessionCache is ssl_session_cache ("none" by default); a shared
	// one's zone is sharedSessions.
	SessionCache   sessionCacheConf
	sharedSessions *sessionCache
	// SessionTimeout is ssl_session_timeout: a session older than this is
	// not resumed.
	SessionTimeout time.Duration
	Reject         bool     // ssl_reject_handshake
	Passwords      []string // lines of ssl_password_file, tried in order
	// OCSP stapling: ssl_stapling, ssl_stapling_file, _responder, _verify,
	// and ssl_trusted_certificate (issuers and response signers).
	Stapling          bool
	StaplingFile      string
	StaplingResponder string
	StaplingVerify    bool
	Trusted           string
	// Client certificates: ssl_verify_client, ssl_verify_depth,
	// ssl_client_certificate and ssl_crl (paths resolved).
	Verify      verifyMode
	VerifyDepth int
	ClientCA    string
	CRL         string
	// ssl_ocsp (off, on, leaf), ssl_ocsp_responder and ssl_ocsp_cache's
	// zone, with the server's resolver for responders' names.
	OCSP            string
	OCSPResponder   *url.URL
	ocspCache       *ocspCache
	resolver        *resolver.Resolver
	resolverTimeout time.Duration
	// TicketKeys are the ssl_session_ticket_key files' contents (the
	// first encrypts, all decrypt); none means keys of the process.
	TicketKeys [][]byte
	// confCert and confKey are ssl_conf_command's Certificate and
	// PrivateKey (resolved paths).
	confCert, confKey string
	File              string // listen ... ssl or ssl directive, for errors
	Line              int

	// certValues/keyValues are set when a certificate or key names
	// variables: both are then evaluated at each handshake.
	certValues, keyValues []*rewrite.Complex
}

// nginx 1.22's defaults (ngx_http_ssl_module.c); TLSv1.3 is not among
// the default protocols before 1.23.4.
var defaultSSLProtocols = []string{"TLSv1", "TLSv1.1", "TLSv1.2"}

const defaultSSLCiphers = "HIGH:!aNULL:!MD5"

// sslDirectives returns the directives named name of the server block, or
// of http when the server has none (nginx merges each setting so).
func (c *compiler) sslDirectives(server *nginxconf.Directive, name string) []*nginxconf.Directive {
	for _, block := range [][]*nginxconf.Directive{server.Block, c.httpBlock.Block} {
		var out []*nginxconf.Directive
		for _, d := range block {
			if d.Name == name && len(d.Args) > 0 {
				out = append(out, d)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// certName is an ssl_certificate's name as nginx's errors give it: the
// full path once a server sharing the directive (an http-level one) has
// loaded it.
func (c *compiler) certName(d *nginxconf.Directive) string {
	if c.certsLoaded[d] {
		return c.cfg.ConfPath(d.Args[0])
	}
	return d.Args[0]
}

// sslLast is the directive named name that applies to the server.
func (c *compiler) sslLast(server *nginxconf.Directive, name string) *nginxconf.Directive {
	ds := c.sslDirectives(server, name)
	if len(ds) == 0 {
		return nil
	}
	return ds[len(ds)-1]
}

// compileSSL merges a server's ssl_* settings and makes nginx's merge
// checks; it returns nil when the server is no SSL context. listenSSL is
// the server's first "listen ... ssl", if any.
func (c *compiler) compileSSL(server *nginxconf.Directive, listenSSL *nginxconf.Directive) (*SSLConfig, error) {
	ssl := &SSLConfig{Protocols: defaultSSLProtocols, Ciphers: defaultSSLCiphers, Curves: "auto", Tickets: true}
	if listenSSL != nil {
		ssl.File, ssl.Line = listenSSL.File, endLine(listenSSL)
	}
	var enableAt *nginxconf.Directive
	if d := c.sslLast(server, "ssl"); d != nil && d.Args[0] == "on" {
		ssl.Enable, enableAt = true, d
		ssl.File, ssl.Line = d.File, endLine(d)
	}
	if d := c.sslLast(server, "ssl_protocols"); d != nil {
		ssl.Protocols = d.Args
	}
	if d := c.sslLast(server, "ssl_ciphers"); d != nil {
		ssl.Ciphers = d.Args[0]
		// Suites crypto/tls lacks (DHE, CCM, ARIA, CAMELLIA) are not
		// offered; a list of nothing else would fail every TLS 1.2
		// handshake nginx serves.
		suites, level := opensslSuites(ssl.Ciphers)
		lo, _ := protocolRange(ssl.Protocols, level)
		if c.opts.Serving && len(suites) == 0 && lo != 0 && lo <= tls.VersionTLS12 && cipherListOK(ssl.Ciphers) {
			return nil, confErr(d, "\"%s\" value of \"ssl_ciphers\" directive is not supported by gonginx (no cipher suite it implements)", ssl.Ciphers)
		}
	}
	if d := c.sslLast(server, "ssl_ecdh_curve"); d != nil {
		ssl.Curves = d.Args[0]
		if c.opts.Serving && len(tlsCurves(ssl.Curves)) == 0 {
			return nil, confErr(d, "\"%s\" value of \"ssl_ecdh_curve\" directive is not supported by gonginx (no group it implements)", ssl.Curves)
		}
	}
	ssl.PreferServer = onOff(c.sslLast(server, "ssl_prefer_server_ciphers"))
	if d := c.sslLast(server, "ssl_session_tickets"); d != nil {
		ssl.Tickets = onOff(d)
	}
	if d := c.sslLast(server, "ssl_session_cache"); d != nil {
		ssl.SessionCache = parseSessionCache(d)
		if sc := ssl.SessionCache; sc.sharedName != "" {
			ssl.sharedSessions = c.sessionZones.zone(sc.sharedName, sc.sharedSize)
		}
	}
	ssl.SessionTimeout = 300 * time.Second
	if d := c.sslLast(server, "ssl_session_timeout"); d != nil {
		if sec, ok := nginxconf.ParseTime(d.Args[0], true); ok {
			ssl.SessionTimeout = time.Duration(sec) * time.Second
		}
	}
	ssl.Reject = onOff(c.sslLast(server, "ssl_reject_handshake"))
	ssl.Stapling = onOff(c.sslLast(server, "ssl_stapling"))
	ssl.StaplingVerify = onOff(c.sslLast(server, "ssl_stapling_verify"))
	if d := c.sslLast(server, "ssl_stapling_file"); d != nil {
		ssl.StaplingFile = c.cfg.ConfPath(d.Args[0])
	}
	if d := c.sslLast(server, "ssl_stapling_responder"); d != nil {
		ssl.StaplingResponder = d.Args[0]
	}
	if d := c.sslLast(server, "ssl_trusted_certificate"); d != nil {
		ssl.Trusted = c.cfg.ConfPath(d.Args[0])
	}
	ssl.Verify = c.sslVerifyMode(server)
	ssl.VerifyDepth = 1
	if d := c.sslLast(server, "ssl_verify_depth"); d != nil {
		ssl.VerifyDepth, _ = strconv.Atoi(d.Args[0])
	}
	if d := c.sslLast(server, "ssl_client_certificate"); d != nil {
		ssl.ClientCA = c.cfg.ConfPath(d.Args[0])
	}
	if d := c.sslLast(server, "ssl_crl"); d != nil {
		ssl.CRL = c.cfg.ConfPath(d.Args[0])
	}
	if err := c.compileOCSP(server, ssl); err != nil {
		return nil, err
	}
	var certs, keys []string
	certDirs := c.sslDirectives(server, "ssl_certificate")
	for _, d := range certDirs {
		certs = append(certs, d.Args[0])
	}
	for _, d := range c.sslDirectives(server, "ssl_certificate_key") {
		keys = append(keys, d.Args[0])
	}
	last := ""
	if len(certs) > 0 {
		last = c.certName(certDirs[len(certDirs)-1])
	}
	switch {
	case ssl.Enable && len(certs) > 0 && len(keys) == 0:
		return nil, &nginxconf.Error{Msg: fmt.Sprintf("no \"ssl_certificate_key\" is defined for the \"ssl\" directive in %s:%d", enableAt.File, endLine(enableAt))}
	case ssl.Enable && len(keys) < len(certs):
		return nil, &nginxconf.Error{Msg: fmt.Sprintf("no \"ssl_certificate_key\" is defined for certificate \"%s\" and the \"ssl\" directive in %s:%d", last, enableAt.File, endLine(enableAt))}
	case ssl.Enable && len(certs) == 0 && !ssl.Reject:
		return nil, &nginxconf.Error{Msg: fmt.Sprintf("no \"ssl_certificate\" is defined for the \"ssl\" directive in %s:%d", enableAt.File, endLine(enableAt))}
	case len(keys) < len(certs):
		return nil, &nginxconf.Error{Msg: fmt.Sprintf("no \"ssl_certificate_key\" is defined for certificate \"%s\"", last)}
	case len(certs) == 0 && !ssl.Reject:
		return nil, nil
	}
	keys = keys[:len(certs)]
	if err := c.compileCertificates(ssl, certs, keys); err != nil {
		return nil, err
	}
	if !ssl.dynamic() {
		if c.certsLoaded == nil {
			c.certsLoaded = map[*nginxconf.Directive]bool{}
		}
		for _, d := range certDirs {
			c.certsLoaded[d] = true
		}
	}
	if err := c.confCommands(server, ssl); err != nil {
		return nil, err
	}
	if c.opts.LoadCerts {
		for _, d := range c.sslDirectives(server, "ssl_session_ticket_key") {
			key, err := os.ReadFile(c.cfg.ConfPath(d.Args[0]))
			if err != nil {
				return nil, confErr(d, "open() \"%s\" failed (%s)", c.cfg.ConfPath(d.Args[0]), nginxconf.ErrnoText(err))
			}
			ssl.TicketKeys = append(ssl.TicketKeys, key)
		}
	}
	if d := c.sslLast(server, "ssl_password_file"); d != nil {
		ssl.Passwords = c.cfg.Passwords[c.cfg.ConfPath(d.Args[0])]
	}
	return ssl, nil
}

// compileOCSP reads ssl_ocsp, ssl_ocsp_responder and ssl_ocsp_cache with
// ngx_http_ssl_merge_srv_conf's and ngx_ssl_ocsp's checks.
func (c *compiler) compileOCSP(server *nginxconf.Directive, ssl *SSLConfig) error {
	ssl.OCSP = "off"
	d := c.sslLast(server, "ssl_ocsp")
	if d != nil {
		ssl.OCSP = d.Args[0]
	}
	if ssl.OCSP == "off" || ssl.Verify == verifyOff {
		return nil
	}
	if ssl.Verify == verifyOptionalNoCA {
		return &nginxconf.Error{Msg: `"ssl_ocsp" is incompatible with "ssl_verify_client optional_no_ca"`}
	}
	if r := c.sslLast(server, "ssl_ocsp_responder"); r != nil && r.Args[0] != "" {
		raw := r.Args[0]
		if len(raw) <= 7 || !strings.EqualFold(raw[:7], "http://") {
			return &nginxconf.Error{Msg: fmt.Sprintf("invalid URL prefix in OCSP responder \"%s\" in \"ssl_ocsp_responder\"", raw)}
		}
		u, err := url.Parse("http://" + raw[7:])
		if err != nil || u.Host == "" {
			return &nginxconf.Error{Msg: fmt.Sprintf("no host in OCSP responder \"%s\" in \"ssl_ocsp_responder\"", raw[7:])}
		}
		ssl.OCSPResponder = u
	}
	if z := c.sslLast(server, "ssl_ocsp_cache"); z != nil && z.Args[0] != "off" {
		name, _, _ := strings.Cut(strings.TrimPrefix(z.Args[0], "shared:"), ":")
		ssl.ocspCache = c.ocspZones.zone(name)
	}
	if c.rt.groups != nil {
		var err error
		ssl.resolver, ssl.resolverTimeout, err = c.rt.groups.ResolverFor([][]*nginxconf.Directive{c.httpBlock.Block, server.Block})
		if err != nil {
			return err
		}
	}
	return nil
}

// sslVerifyMode is the server's ssl_verify_client, which applies to its
// requests whether or not it has certificates of its own.
func (c *compiler) sslVerifyMode(server *nginxconf.Directive) verifyMode {
	if d := c.sslLast(server, "ssl_verify_client"); d != nil {
		return parseVerifyMode(d.Args[0])
	}
	return verifyOff
}

// compileCertificates keeps the certificate and key names, as
// ngx_http_ssl_compile_certificates: when any of them names a variable,
// all are complex values evaluated at each handshake; otherwise they are
// paths relative to the conf prefix.
func (c *compiler) compileCertificates(ssl *SSLConfig, certs, keys []string) error {
	vars := false
	for i := range certs {
		vars = vars || strings.Contains(certs[i], "$") || strings.Contains(keys[i], "$")
	}
	ssl.Certificates, ssl.Keys = make([]string, len(certs)), make([]string, len(keys))
	for i := range certs {
		if !vars {
			ssl.Certificates[i] = c.resolve(certs[i], c.cfg.ConfPrefix)
			ssl.Keys[i] = c.resolve(keys[i], c.cfg.ConfPrefix)
			continue
		}
		ssl.Certificates[i], ssl.Keys[i] = certs[i], keys[i]
		cv, err := c.rc.Complex(certs[i])
		if err != nil {
			return err
		}
		kv, err := c.rc.Complex(keys[i])
		if err != nil {
			return err
		}
		ssl.certValues = append(ssl.certValues, cv)
		ssl.keyValues = append(ssl.keyValues, kv)
	}
	return nil
}

// dynamic reports whether the certificates are loaded at each handshake.
func (ssl *SSLConfig) dynamic() bool { return len(ssl.certValues) > 0 }

// resolveConf makes a certificate name evaluated at a handshake a path,
// relative to the conf prefix as nginx's ngx_get_full_name.
func (rt *Router) resolveConf(p string) string {
	if p == "" || filepath.IsAbs(p) || rt.cfg == nil {
		return p
	}
	return filepath.Join(rt.cfg.ConfPrefix, p)
}
