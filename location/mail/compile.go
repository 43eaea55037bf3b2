package mail

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream"
	"github.com/gonginx/gonginx/upstream/resolver"
)

// Config is a compiled mail{} block.
type Config struct {
	sockets []*socket
	// groups holds the resolvers (no upstream{} in mail{}).
	groups *upstream.Groups
}

// Listens are the mail{} sockets, for the master to bind.
func (c *Config) Listens() []*location.Listen {
	out := make([]*location.Listen, len(c.sockets))
	for i, s := range c.sockets {
		out[i] = s.listen
	}
	return out
}

// socket is one listening address and the server{} it belongs to.
type socket struct {
	listen *location.Listen
	server *server
	// text is the address as the log's "server:" shows it.
	text string
}

// server is one mail server{} with mail{}'s values merged in.
type server struct {
	proto      *protocol
	timeout    time.Duration
	serverName string
	maxErrors  int
	errorLogs  []*location.ErrorLog

	auth authHTTP

	passErrorMessage bool
	proxyTimeout     time.Duration
	proxyBuffer      int

	// authMethods are the methods pop3_auth, imap_auth or smtp_auth
	// enable (the auth* bits).
	authMethods uint
	// The protocol's canned replies, built once as nginx's merge does.
	capability     []byte
	authCapability []byte
	clientBuffer   int

	// SMTP's.
	greeting      []byte
	heloReply     []byte
	greetingDelay time.Duration
	xclient       bool
	smtpAuth      bool // proxy_smtp_auth

	// proxyProtocol: a PROXY header goes to the backend; realip are
	// set_real_ip_from's networks.
	proxyProtocol bool
	realip        []*net.IPNet

	resolver        *resolver.Resolver
	resolverTimeout time.Duration

	// TLS: tls is nil without any.
	tls      *tls.Config
	choice   *location.ServerChoice
	sslOn    bool // the obsolete "ssl on"
	starttls int
	// The capability replies when STARTTLS is offered ("on") or
	// required ("only") on a plain connection.
	starttlsCapability, starttlsOnlyCapability []byte
	verify                                     *clientVerify
}

// The auth method bits, in nginx's order (NGX_MAIL_AUTH_*_ENABLED).
const (
	authPlain uint = 1 << (iota + 1)
	authLogin
	authAPOP
	authCramMD5
	authExternal
	authNone
)

var authBits = map[string]uint{
	"plain": authPlain, "login": authLogin, "apop": authAPOP,
	"cram-md5": authCramMD5, "external": authExternal, "none": authNone,
}

// Compile compiles the mail{} block of cfg (nil when there is none); rt
// is the http side's configuration, which gets the error_log files.
func Compile(cfg *nginxconf.Config, rt *location.Router, opts location.Options) (*Config, error) {
	var block *nginxconf.Directive
	for _, d := range cfg.Tree {
		if d.Name == "mail" {
			block = d
		}
	}
	if block == nil {
		return nil, nil
	}
	c := &Config{groups: &upstream.Groups{}}
	host, _ := os.Hostname()
	mainLogs, err := errorLogs(cfg, rt, block.Block)
	if err != nil {
		return nil, err
	}
	// ssl_certificate directives a server loaded: nginx made their
	// names full paths in place, which later servers' errors show.
	certsLoaded := map[*nginxconf.Directive]bool{}
	for _, d := range block.Block {
		if d.Name != "server" {
			continue
		}
		sv, err := compileServer(cfg, rt, opts, block, d, host, mainLogs, certsLoaded)
		if err != nil {
			return nil, err
		}
		// resolver: the SMTP client's name (nginx asks for it only
		// there); "resolver off" is none.
		if rd := lookup(block, d, "resolver"); rd == nil || len(rd.Args) == 0 || rd.Args[0] != "off" {
			if sv.resolver, sv.resolverTimeout, err = c.groups.ResolverFor([][]*nginxconf.Directive{block.Block, d.Block}); err != nil {
				return nil, err
			}
		}
		for _, ld := range d.Block {
			if ld.Name != "listen" {
				continue
			}
			ls, err := location.ParseStreamListen(ld)
			if err != nil {
				return nil, &nginxconf.Error{Msg: err.Error(), File: ld.File, Line: ld.EndLine}
			}
			for _, l := range ls {
				c.sockets = append(c.sockets, &socket{listen: l, server: sv, text: l.Addr})
			}
		}
	}
	return c, nil
}

func errorLogs(cfg *nginxconf.Config, rt *location.Router, block []*nginxconf.Directive) ([]*location.ErrorLog, error) {
	var out []*location.ErrorLog
	for _, d := range block {
		if d.Name != "error_log" {
			continue
		}
		l, err := location.CompileErrorLog(cfg, rt, d)
		if err != nil {
			return nil, err
		}
		if l != nil {
			out = append(out, l)
		}
	}
	return out, nil
}

// lookup finds a directive in the server block, else in mail{} (nginx's
// merge of a srv conf with its main conf).
func lookup(main, srv *nginxconf.Directive, name string) *nginxconf.Directive {
	for _, b := range []*nginxconf.Directive{srv, main} {
		for _, d := range b.Block {
			if d.Name == name {
				return d
			}
		}
	}
	return nil
}

func compileServer(cfg *nginxconf.Config, rt *location.Router, opts location.Options, main, srv *nginxconf.Directive, host string, mainLogs []*location.ErrorLog, certsLoaded map[*nginxconf.Directive]bool) (*server, error) {
	sv := &server{timeout: time.Minute, serverName: host, maxErrors: 5,
		proxyTimeout: 24 * time.Hour, proxyBuffer: os.Getpagesize()}
	str := func(name string) (string, bool) {
		if d := lookup(main, srv, name); d != nil && len(d.Args) > 0 {
			return d.Args[0], true
		}
		return "", false
	}
	msec := func(name string, dst *time.Duration) {
		if v, ok := str(name); ok {
			if ms, ok := nginxconf.ParseTime(v, false); ok {
				*dst = time.Duration(ms) * time.Millisecond
			}
		}
	}
	flag := func(name string, dst *bool) {
		if v, ok := str(name); ok {
			*dst = v == "on"
		}
	}
	msec("timeout", &sv.timeout)
	msec("proxy_timeout", &sv.proxyTimeout)
	if v, ok := str("server_name"); ok && v != "" {
		sv.serverName = v
	}
	if v, ok := str("max_errors"); ok {
		sv.maxErrors, _ = strconv.Atoi(v)
	}
	if v, ok := str("proxy_buffer"); ok {
		if n, ok := nginxconf.ParseSize(v); ok {
			sv.proxyBuffer = int(n)
		}
	}
	flag("proxy_pass_error_message", &sv.passErrorMessage)
	sv.xclient = true
	flag("xclient", &sv.xclient)
	flag("proxy_smtp_auth", &sv.smtpAuth)
	flag("proxy_protocol", &sv.proxyProtocol)
	if err := compileRealip(sv, main, srv); err != nil {
		return nil, err
	}
	logs, err := errorLogs(cfg, rt, srv.Block)
	if err != nil {
		return nil, err
	}
	if sv.errorLogs = logs; len(logs) == 0 {
		sv.errorLogs = mainLogs
	}
	// The protocol: written, or guessed from a listen port as
	// ngx_mail_core_listen does (-t has reported a server with neither).
	name, _ := str("protocol")
	if d := lookup(srv, srv, "protocol"); d == nil {
		name = guessProtocol(srv)
	}
	sv.proto = protocols[name]
	if sv.proto == nil {
		return nil, &nginxconf.Error{Msg: "unknown mail protocol for server", File: srv.File, Line: srv.Line}
	}
	if err := sv.auth.compile(lookup(main, srv, "auth_http"), main, srv); err != nil {
		return nil, err
	}
	msec("auth_http_timeout", &sv.auth.timeout)
	flag("auth_http_pass_client_cert", &sv.auth.passClientCert)
	if err := compileTLS(cfg, rt, opts, sv, main, srv, certsLoaded); err != nil {
		return nil, err
	}
	sv.proto.compile(sv, main, srv)
	return sv, nil
}

// guessProtocol is the protocol of a server{} without "protocol", by its
// listen ports (ngx_mail_core_listen).
func guessProtocol(srv *nginxconf.Directive) string {
	for _, d := range srv.Block {
		if d.Name != "listen" || len(d.Args) == 0 {
			continue
		}
		a := d.Args[0]
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			a = a[i+1:]
		}
		switch a {
		case "110", "995":
			return "pop3"
		case "143", "993":
			return "imap"
		case "25", "587", "465":
			return "smtp"
		}
	}
	return ""
}

// authMethodsOf reads pop3_auth/imap_auth/smtp_auth (the default when
// absent), bits as nginx's bitmask slot sets them.
func authMethodsOf(main, srv *nginxconf.Directive, name string, def uint) uint {
	d := lookup(main, srv, name)
	if d == nil {
		return def
	}
	var m uint
	for _, a := range d.Args {
		m |= authBits[strings.ToLower(a)]
	}
	return m
}

// capabilitiesOf reads pop3_capabilities and the like: each argument is
// one capability line (nil when absent).
func capabilitiesOf(main, srv *nginxconf.Directive, name string) []string {
	if d := lookup(main, srv, name); d != nil {
		return d.Args
	}
	return nil
}

// authHTTP is auth_http and its settings.
type authHTTP struct {
	addr       string // host:port to connect to
	network    string
	name       string // the peer's name in log lines
	uri        string
	hostHeader string
	timeout    time.Duration
	headers    []byte // auth_http_header lines, "Name: value\r\n" each
	// passClientCert: auth_http_pass_client_cert.
	passClientCert bool
}

func (a *authHTTP) compile(d, main, srv *nginxconf.Directive) error {
	a.timeout = time.Minute
	for _, b := range []*nginxconf.Directive{srv, main} {
		found := false
		for _, h := range b.Block {
			if h.Name == "auth_http_header" && len(h.Args) == 2 {
				a.headers = append(a.headers, h.Args[0]+": "+h.Args[1]+"\r\n"...)
				found = true
			}
		}
		if found {
			break
		}
	}
	if d == nil || len(d.Args) == 0 {
		return nil
	}
	// -t has checked the address (ngx_parse_url's errors).
	u := strings.TrimPrefix(d.Args[0], "http://")
	if rest, ok := strings.CutPrefix(u, "unix:"); ok {
		path, uri, _ := strings.Cut(rest, ":")
		if path == "" {
			return &nginxconf.Error{Msg: fmt.Sprintf("no path in the unix domain socket in auth_http \"%s\"", u), File: d.File, Line: d.EndLine}
		}
		a.network, a.addr, a.name, a.hostHeader, a.uri = "unix", path, "unix:"+path, "localhost", uri
	} else {
		hostport := u
		if i := strings.IndexAny(u, "/?"); i >= 0 {
			hostport, a.uri = u[:i], u[i:]
		}
		host, port := hostport, "80"
		if h, p, err := net.SplitHostPort(hostport); err == nil {
			host, port = h, p
		} else if strings.HasPrefix(hostport, "[") {
			host = strings.Trim(hostport, "[]")
		}
		// The Host header is the url's host without the port (u.host).
		a.network, a.hostHeader = "tcp", host
		if strings.Contains(host, ":") {
			a.hostHeader = "[" + host + "]"
		}
		if ip := net.ParseIP(host); ip == nil {
			// nginx resolves the name when it reads the config; the
			// first address is the one asked.
			ips, err := nginxconf.LookupIP(host)
			if err != nil || len(ips) == 0 {
				return &nginxconf.Error{Msg: fmt.Sprintf("host not found in auth_http \"%s\"", u), File: d.File, Line: d.EndLine}
			}
			host = ips[0].String()
		}
		a.addr = net.JoinHostPort(host, port)
		a.name = a.addr
	}
	if a.uri == "" {
		a.uri = "/"
	}
	return nil
}

// CompileOption is Compile as location.Options.CompileMail wants it (no
// mail{} block: a nil interface).
func CompileOption(cfg *nginxconf.Config, rt *location.Router, opts location.Options) (location.MailConfig, error) {
	c, err := Compile(cfg, rt, opts)
	if err != nil || c == nil {
		return nil, err
	}
	return c, nil
}
