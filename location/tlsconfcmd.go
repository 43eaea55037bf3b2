package location

import (
	"crypto/tls"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

// ssl_conf_command hands OpenSSL's SSL_CONF_cmd a name and a value, in
// order, after everything else of the SSL context is set
// (ngx_ssl_conf_commands). gonginx serves the commands whose meaning it
// has: Options SessionTicket and ServerPreference (with "-" to clear),
// Certificate and PrivateKey (a certificate replacing the one of its key
// type); any other refuses to start naming file:line. The http and the
// stream ssl modules read them alike (ConfCommands).

// ConfCommands is what one level's ssl_conf_command lines set.
type ConfCommands struct {
	// Tickets and PreferServer are Options SessionTicket and
	// ServerPreference when named (nil: the other directives decide).
	Tickets, PreferServer *bool
	// Cert and Key are Certificate and PrivateKey (resolved paths).
	Cert, Key string
}

// ParseConfCommands reads the ssl_conf_command lines that apply (the
// innermost level's, inherited as a whole). confPath resolves a file
// name; serving refuses commands gonginx does not serve (-t accepts
// them, as nginx -t passes them to OpenSSL only when serving).
func ParseConfCommands(dirs []*nginxconf.Directive, confPath func(string) string, serving bool) (ConfCommands, error) {
	var cc ConfCommands
	for _, d := range dirs {
		if len(d.Args) != 2 {
			continue // -t reports the argument count
		}
		name, value := d.Args[0], d.Args[1]
		switch strings.ToLower(name) {
		case "options":
			for _, opt := range strings.Split(value, ",") {
				opt = strings.TrimSpace(opt)
				on := !strings.HasPrefix(opt, "-")
				switch strings.TrimPrefix(opt, "-") {
				case "SessionTicket":
					cc.Tickets = &on
				case "ServerPreference":
					cc.PreferServer = &on
				default:
					if serving {
						return cc, confErr(d, "\"%s\" option of \"ssl_conf_command Options\" is not supported by gonginx", opt)
					}
				}
			}
		case "certificate":
			cc.Cert = confPath(value)
		case "privatekey":
			cc.Key = confPath(value)
		default:
			if serving {
				return cc, confErr(d, "\"%s\" command of \"ssl_conf_command\" is not supported by gonginx", name)
			}
		}
	}
	return cc, nil
}

// confCommands applies a server's ssl_conf_command directives (inherited
// as a whole from http when it has none) to ssl.
func (c *compiler) confCommands(server *nginxconf.Directive, ssl *SSLConfig) error {
	cc, err := ParseConfCommands(c.sslDirectives(server, "ssl_conf_command"), c.cfg.ConfPath, c.opts.Serving)
	if err != nil {
		return err
	}
	if cc.Tickets != nil {
		ssl.Tickets = *cc.Tickets
	}
	if cc.PreferServer != nil {
		ssl.PreferServer = *cc.PreferServer
	}
	ssl.confCert, ssl.confKey = cc.Cert, cc.Key
	if ssl.confCert != "" && ssl.dynamic() && c.opts.Serving {
		return &nginxconf.Error{Msg: `"ssl_conf_command Certificate" with variables in "ssl_certificate" is not supported by gonginx`}
	}
	return nil
}

// withConfCert is the certificates once ssl_conf_command's Certificate
// (with its PrivateKey) is loaded.
func withConfCert(ssl *SSLConfig, certs []tls.Certificate) ([]tls.Certificate, error) {
	return ConfCommands{Cert: ssl.confCert, Key: ssl.confKey}.WithCert(certs, ssl.Passwords)
}

// WithCert is certs once Certificate (with its PrivateKey, else the key
// in the same file) is loaded: it replaces the certificate of its key
// type, as SSL_CTX_use_certificate does, or is added.
func (cc ConfCommands) WithCert(certs []tls.Certificate, passwords []string) ([]tls.Certificate, error) {
	if cc.Cert == "" {
		return certs, nil
	}
	key := cc.Key
	if key == "" {
		key = cc.Cert
	}
	pair, err := loadPair(cc.Cert, key, passwords)
	if err != nil {
		return nil, err
	}
	kind, _ := kindOf(&pair)
	for i := range certs {
		if k, _ := kindOf(&certs[i]); k == kind {
			certs[i] = pair
			return certs, nil
		}
	}
	return append(certs, pair), nil
}
