package upstream

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// backendTLS is a location's proxy_ssl_* settings, compiled once, as
// ngx_http_proxy_set_ssl builds the upstream SSL context.
type backendTLS struct {
	// base has what every connection shares: versions, cipher suites, the
	// client certificate and the session cache. Verification is ours
	// (after the handshake, as nginx checks SSL_get_verify_result), so Go
	// never verifies by itself.
	base       *tls.Config
	verify     bool
	roots      []*x509.Certificate
	depth      int
	crls       []*tlsutil.CRL
	name       *rewrite.Complex // proxy_ssl_name; nil: the proxy_pass host
	serverName bool             // proxy_ssl_server_name: send SNI
	reuse      bool             // proxy_ssl_session_reuse
	// certVar and keyVar: proxy_ssl_certificate with variables, loaded
	// per connection (with keyDir, passwords and confPrefix).
	certVar, keyVar *rewrite.Complex
	keyDir          *nginxconf.Directive
	passwords       []string
	confPrefix      string
	secLevel0       bool   // "@SECLEVEL=0" in proxy_ssl_ciphers
	module          string // "proxy" or "uwsgi", the directives' prefix
	// configs holds, for a group and an SNI name known at compile time,
	// the config to use: a handshake to a fixed backend clones nothing.
	configs map[tlsKey]*tls.Config
}

type tlsKey struct {
	g   *Group
	sni string
}

// compileTLS reads the proxy_ssl_* directives inherited by a location
// whose proxy_pass may speak https, with nginx's defaults and -t errors.
// module is the directives' prefix: "proxy", or "uwsgi" for suwsgi://.
func compileTLS(module string, blocks [][]*nginxconf.Directive, confPrefix string, c *rewrite.Compiler) (*backendTLS, error) {
	bt := &backendTLS{depth: 1, base: &tls.Config{InsecureSkipVerify: true}, module: module}
	full := func(name string) string {
		if filepath.IsAbs(name) {
			return name
		}
		return filepath.Join(confPrefix, name)
	}
	bt.verify = flag(blocks, module+"_ssl_verify", false)
	bt.serverName = flag(blocks, module+"_ssl_server_name", false)
	if d := last(blocks, module+"_ssl_verify_depth"); d != nil {
		n, err := strconv.Atoi(d.Args[0])
		if err != nil || n < 0 {
			return nil, confErr(d, `"%s" directive invalid number`, d.Name)
		}
		bt.depth = n
	}
	if d := last(blocks, module+"_ssl_name"); d != nil {
		cv, err := c.Complex(d.Args[0])
		if err != nil {
			return nil, rewrite.At(err, d)
		}
		bt.name = cv
	}
	ciphers := "DEFAULT"
	var cipherDir *nginxconf.Directive
	if d := last(blocks, module+"_ssl_ciphers"); d != nil {
		ciphers, cipherDir = d.Args[0], d
	}
	if tlsutil.CipherInvalidCommand(ciphers) {
		return nil, bare(fmt.Sprintf(`SSL_CTX_set_cipher_list("%s") failed (SSL: error:0A000118:SSL routines::invalid command)`, ciphers))
	}
	suites, sec0, err := opensslCiphers(ciphers)
	switch {
	case err == errNoCipherMatch:
		return nil, bare(fmt.Sprintf(`SSL_CTX_set_cipher_list("%s") failed (SSL: error:0A0000B9:SSL routines::no cipher match)`, ciphers))
	case err != nil:
		return nil, confErr(cipherDir, "%s", strings.Replace(err.Error(), "proxy_ssl_ciphers", module+"_ssl_ciphers", 1))
	}
	bt.secLevel0 = sec0
	bt.base.CipherSuites = suites
	protocols := []string{"TLSv1", "TLSv1.1", "TLSv1.2"} // nginx 1.22's default for proxy_ssl_protocols
	if d := last(blocks, module+"_ssl_protocols"); d != nil {
		protocols = d.Args
	}
	bt.base.MinVersion, bt.base.MaxVersion = protocolRange(protocols)
	bt.reuse = flag(blocks, module+"_ssl_session_reuse", true)
	var passwords []string
	if pd := last(blocks, module+"_ssl_password_file"); pd != nil {
		if passwords, err = readPasswords(pd, full(pd.Args[0])); err != nil {
			return nil, err
		}
	}
	if d := last(blocks, module+"_ssl_certificate"); d != nil {
		key := last(blocks, module+"_ssl_certificate_key")
		if key == nil {
			return nil, bare(fmt.Sprintf(`no "%s_ssl_certificate_key" is defined for certificate "%s"`, module, d.Args[0]))
		}
		if strings.Contains(d.Args[0], "$") || strings.Contains(key.Args[0], "$") {
			// Loaded per connection, as nginx 1.22 does (no cache).
			if bt.certVar, err = c.Complex(d.Args[0]); err != nil {
				return nil, rewrite.At(err, d)
			}
			if bt.keyVar, err = c.Complex(key.Args[0]); err != nil {
				return nil, rewrite.At(err, key)
			}
			bt.keyDir, bt.passwords, bt.confPrefix = key, passwords, confPrefix
			bt.configs = map[tlsKey]*tls.Config{}
			if err := bt.confCommands(blocks, full, passwords); err != nil {
				return nil, err
			}
			return bt, bt.finishVerify(blocks, full)
		}
		cert, err := loadClientCert(key, full(d.Args[0]), full(key.Args[0]), passwords)
		if err != nil {
			return nil, err
		}
		bt.base.Certificates = []tls.Certificate{cert}
	}
	bt.configs = map[tlsKey]*tls.Config{}
	if err := bt.confCommands(blocks, full, passwords); err != nil {
		return nil, err
	}
	return bt, bt.finishVerify(blocks, full)
}

// confCommands applies proxy_ssl_conf_command (uwsgi_, grpc_), the
// directives of the innermost level that has any, in order, after the
// other settings as ngx_ssl_conf_commands: Options SessionTicket (with
// "-" to clear; ServerPreference changes nothing for a client) and
// Certificate/PrivateKey, the client certificate; any other command is
// not supported.
func (bt *backendTLS) confCommands(blocks [][]*nginxconf.Directive, full func(string) string, passwords []string) error {
	name := bt.module + "_ssl_conf_command"
	var cmds []*nginxconf.Directive
	for _, b := range blocks {
		var level []*nginxconf.Directive
		for _, d := range b {
			if d.Name == name && len(d.Args) == 2 {
				level = append(level, d)
			}
		}
		if len(level) > 0 {
			cmds = level
		}
	}
	var certPath, keyPath string
	var certDir *nginxconf.Directive
	for _, d := range cmds {
		switch strings.ToLower(d.Args[0]) {
		case "options":
			for _, opt := range strings.Split(d.Args[1], ",") {
				opt = strings.TrimSpace(opt)
				switch strings.TrimPrefix(opt, "-") {
				case "SessionTicket":
					bt.base.SessionTicketsDisabled = strings.HasPrefix(opt, "-")
				case "ServerPreference":
				default:
					return confErr(d, `"%s" option of "%s Options" is not supported by gonginx`, opt, name)
				}
			}
		case "certificate":
			certPath, certDir = full(d.Args[1]), d
		case "privatekey":
			keyPath = full(d.Args[1])
		default:
			return confErr(d, `"%s" command of "%s" is not supported by gonginx`, d.Args[0], name)
		}
	}
	if certPath == "" {
		return nil
	}
	if keyPath == "" {
		keyPath = certPath
	}
	cert, err := loadClientCert(certDir, certPath, keyPath, passwords)
	if err != nil {
		return err
	}
	bt.base.Certificates = []tls.Certificate{cert}
	return nil
}

// finishVerify loads what proxy_ssl_verify needs.
func (bt *backendTLS) finishVerify(blocks [][]*nginxconf.Directive, full func(string) string) (err error) {
	if bt.verify {
		d := last(blocks, bt.module+"_ssl_trusted_certificate")
		if d == nil || d.Args[0] == "" {
			return bare(fmt.Sprintf("no %s_ssl_trusted_certificate for %s_ssl_verify", bt.module, bt.module))
		}
		if bt.roots, err = loadRoots(full(d.Args[0])); err != nil {
			return err
		}
		if d := last(blocks, bt.module+"_ssl_crl"); d != nil && d.Args[0] != "" {
			if bt.crls, err = loadCRLs(full(d.Args[0])); err != nil {
				return err
			}
		}
	}
	return nil
}

// protocolRange maps proxy_ssl_protocols onto Go's version range (SSLv2
// and SSLv3 are not built into OpenSSL 3). A gap (TLSv1 TLSv1.2) cannot
// be expressed in Go and takes the range.
func protocolRange(args []string) (lo, hi uint16) {
	if lo, hi = tlsutil.ProtocolRange(args, tls.VersionTLS10); lo == 0 {
		// Nothing usable: every handshake fails, as nginx's does.
		return tls.VersionTLS13, tls.VersionTLS12
	}
	return lo, hi
}

func readPasswords(d *nginxconf.Directive, path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, confErr(d, `open() "%s" failed (%s)`, path, nginxconf.ErrnoText(err))
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line != "" {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil, confErr(d, `empty file "%s"`, path)
	}
	return out, nil
}

// loadClientCert loads proxy_ssl_certificate and its key, decrypting a
// legacy-encrypted PEM key with the password_file's lines in turn.
func loadClientCert(keyDir *nginxconf.Directive, certPath, keyPath string, passwords []string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, bare(fmt.Sprintf(`cannot load certificate "%s": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(%s, r) error:10000080:BIO routines::no such file)`, certPath, certPath))
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, bare(fmt.Sprintf(`cannot load certificate key "%s": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(%s, r) error:10000080:BIO routines::no such file)`, keyPath, keyPath))
	}
	if !bytes.Contains(certPEM, []byte("-----BEGIN ")) {
		return tls.Certificate{}, bare(fmt.Sprintf(`cannot load certificate "%s": PEM_read_bio_X509_AUX() failed (SSL: error:0480006C:PEM routines::no start line:Expecting: TRUSTED CERTIFICATE)`, certPath))
	}
	return parseClientCert(keyDir, certPEM, keyPEM, keyPath, passwords)
}

// parseClientCert makes the certificate from PEM data, decrypting the
// key with the password file's lines in turn.
func parseClientCert(keyDir *nginxconf.Directive, certPEM, keyPEM []byte, keyPath string, passwords []string) (tls.Certificate, error) {
	if block, _ := pem.Decode(keyPEM); block != nil && tlsutil.Encrypted(block) {
		k, err := tlsutil.DecryptKey(block, passwords)
		if errors.Is(err, tlsutil.ErrUnsupported) {
			return tls.Certificate{}, confErr(keyDir, `the encryption of key "%s" is not supported by gonginx`, keyPath)
		}
		if err != nil {
			return tls.Certificate{}, bare(fmt.Sprintf(`cannot load certificate key "%s": PEM_read_bio_PrivateKey() failed (SSL: error:1C800064:Provider routines::bad decrypt)`, keyPath))
		}
		keyPEM = pem.EncodeToMemory(k)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, bare(fmt.Sprintf(`SSL_CTX_use_PrivateKey("%s") failed (SSL: %v)`, keyPath, err))
	}
	return pair, nil
}

func loadRoots(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	var roots []*x509.Certificate
	for rest := data; err == nil; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if c, perr := x509.ParseCertificate(b.Bytes); perr == nil && b.Type == "CERTIFICATE" {
			roots = append(roots, c)
		}
	}
	if len(roots) > 0 {
		return roots, nil
	}
	if err == nil {
		return nil, bare(fmt.Sprintf(`SSL_CTX_load_verify_locations("%s") failed (SSL: error:05800088:x509 certificate routines::no certificate or crl found)`, path))
	}
	reason := "No such file or directory"
	if os.IsPermission(err) {
		reason = "Permission denied"
	}
	return nil, bare(fmt.Sprintf(`SSL_CTX_load_verify_locations("%s") failed (SSL: error:80000002:system library::%s:calling fopen(%s, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib)`, path, reason, path))
}

func loadCRLs(path string) ([]*tlsutil.CRL, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, bare(fmt.Sprintf(`X509_LOOKUP_load_file("%s") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(%s, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib)`, path, path))
	}
	var out []*tlsutil.CRL
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		// Version 1 lists too ("openssl ca -gencrl" without crlnumber),
		// which crypto/x509 does not parse.
		crl, err := tlsutil.ParseCRL(b.Bytes)
		if err != nil {
			return nil, bare(fmt.Sprintf(`X509_LOOKUP_load_file("%s") failed (%v)`, path, err))
		}
		out = append(out, crl)
	}
	if len(out) == 0 {
		return nil, bare(fmt.Sprintf(`X509_LOOKUP_load_file("%s") failed (SSL: error:05800088:x509 certificate routines::no certificate or crl found)`, path))
	}
	return out, nil
}

// sslName is ngx_http_upstream_ssl_name: proxy_ssl_name, else the
// proxy_pass host, without a port.
func (bt *backendTLS) sslName(s *rewrite.State, host string, buf []byte) string {
	name := host
	if bt.name != nil {
		if v, ok := bt.name.Static(); ok {
			name = v
		} else {
			name = string(bt.name.Eval(s, buf[:0]))
		}
	}
	i := 0
	if strings.HasPrefix(name, "[") {
		if j := strings.IndexByte(name, ']'); j >= 0 {
			i = j
		}
	}
	if j := strings.IndexByte(name[i:], ':'); j >= 0 {
		name = name[:i+j]
	}
	return name
}

// sni is the SNI name sent for name: only with proxy_ssl_server_name on,
// and never an IP address literal (RFC 6066).
func (bt *backendTLS) sni(name string) string {
	if !bt.serverName || name == "" || name[0] == '[' || net.ParseIP(name) != nil {
		return ""
	}
	return name
}

// config makes the config for connections to g with SNI name sni.
// Sessions are kept per group, as nginx keeps one per upstream peer
// whichever location used it.
func (bt *backendTLS) config(g *Group, sni string) *tls.Config {
	tc := bt.base.Clone()
	tc.ServerName = sni
	if bt.reuse {
		tc.ClientSessionCache = g.sessionCache()
	}
	return tc
}

// prepare makes, at compile time, the config for a group and a proxy
// host known then.
func (bt *backendTLS) prepare(g *Group, host string) {
	if g == nil || bt.name != nil && (bt.name.HasVariables() || bt.name.HasCaptures()) {
		return
	}
	sni := bt.sni(bt.sslName(nil, host, nil))
	key := tlsKey{g, sni}
	if bt.configs[key] == nil {
		bt.configs[key] = bt.config(g, sni)
	}
}

// client starts TLS on nc to a server of g for name. An error is a
// certificate named by variables that does not load: nginx answers 500.
func (bt *backendTLS) client(nc net.Conn, g *Group, name string, s *rewrite.State) (*tls.Conn, error) {
	sni := bt.sni(name)
	tc := bt.configs[tlsKey{g, sni}]
	if tc == nil {
		// Known only per request: proxy_ssl_name with variables, or a
		// proxy_pass URL with variables.
		tc = bt.config(g, sni)
	}
	if bt.certVar != nil {
		certName := string(bt.certVar.Eval(s, nil))
		if certName != "" { // an empty name: no client certificate
			cert, err := bt.loadVarCert(certName, string(bt.keyVar.Eval(s, nil)))
			if err != nil {
				return nil, err
			}
			tc = tc.Clone()
			tc.Certificates = []tls.Certificate{cert}
		}
	}
	return tls.Client(nc, tc), nil
}

// loadVarCert loads a certificate and key named at run time: a file
// name (relative to the conf prefix) or "data:" and the PEM itself.
// nginx loads them before its log says it is handshaking.
func (bt *backendTLS) loadVarCert(certName, keyName string) (tls.Certificate, error) {
	read := func(name string) (string, []byte, error) {
		if pem, ok := strings.CutPrefix(name, "data:"); ok {
			return name, []byte(pem), nil
		}
		if !filepath.IsAbs(name) {
			name = filepath.Join(bt.confPrefix, name)
		}
		data, err := os.ReadFile(name)
		return name, data, err
	}
	certPath, certPEM, err := read(certName)
	if err != nil {
		return tls.Certificate{}, serverError(fmt.Sprintf(`cannot load certificate "%s": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(%s, r) error:10000080:BIO routines::no such file) while connecting to upstream`, certPath, certPath))
	}
	keyPath, keyPEM, err := read(keyName)
	if err != nil {
		return tls.Certificate{}, serverError(fmt.Sprintf(`cannot load certificate key "%s": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(%s, r) error:10000080:BIO routines::no such file) while connecting to upstream`, keyPath, keyPath))
	}
	cert, err := parseClientCert(bt.keyDir, certPEM, keyPEM, keyPath, bt.passwords)
	if err != nil {
		return tls.Certificate{}, serverError(err.Error() + " while connecting to upstream")
	}
	return cert, nil
}

// serverError is a failure nginx ends the request with, 500, without
// trying another server.
type serverError string

func (e serverError) Error() string { return string(e) }

// handshake runs the TLS handshake within timeout and, with
// proxy_ssl_verify on, checks the chain and then the name, as
// ngx_http_upstream_ssl_handshake after OpenSSL's handshake.
func (bt *backendTLS) handshake(tc *tls.Conn, name string, timeout time.Duration) error {
	if timeout > 0 {
		tc.SetDeadline(time.Now().Add(timeout))
	}
	if err := tc.Handshake(); err != nil {
		if isTimeout(err) {
			return fmt.Errorf("upstream timed out (110: Connection timed out) while SSL handshaking to upstream: %w", err)
		}
		return fmt.Errorf("SSL_do_handshake() failed (%w) while SSL handshaking to upstream", err)
	}
	tc.SetDeadline(time.Time{})
	if cs := tc.ConnectionState(); cs.Version < tls.VersionTLS12 && !bt.secLevel0 && isECDHE(cs.CipherSuite) {
		// OpenSSL 3 offers TLS 1.0 and 1.1 but, at its default security
		// level, refuses the server's SHA-1 signed key exchange.
		return critError("SSL_do_handshake() failed (SSL: error:0A00014D:SSL routines::legacy sigalg disallowed or unsupported) while SSL handshaking to upstream")
	}
	if !bt.verify {
		return nil
	}
	certs := tc.ConnectionState().PeerCertificates
	if code := bt.verifyChain(certs, time.Now()); code != 0 {
		return fmt.Errorf("upstream SSL certificate verify error: (%d:%s) while SSL handshaking to upstream", code, verifyText[code])
	}
	if name == "" || !matchHost(certs[0], name) {
		return fmt.Errorf(`upstream SSL certificate does not match "%s" while SSL handshaking to upstream`, name)
	}
	return nil
}

// positionless is an error nginx logs without "in file:line" (those of
// the SSL library while the context is set up); rewrite.At leaves it so.
type positionless struct{ e *nginxconf.Error }

func (p positionless) Error() string { return p.e.Error() }
func (p positionless) Unwrap() error { return p.e }

func bare(msg string) error { return positionless{&nginxconf.Error{Msg: msg}} }

func isECDHE(suite uint16) bool {
	return strings.Contains(tls.CipherSuiteName(suite), "ECDHE")
}

// critError is an error nginx logs at "crit".
type critError string

func (e critError) Error() string    { return string(e) }
func (e critError) LogLevel() string { return "crit" }
