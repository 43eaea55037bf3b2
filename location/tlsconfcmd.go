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
// type); any other refuses to start naming file:line.

// confCommands applies a server's ssl_conf_command directives (inherited
// as a whole from http when it has none) to ssl.
func (c *compiler) confCommands(server *nginxconf.Directive, ssl *SSLConfig) error {
	for _, d := range c.sslDirectives(server, "ssl_conf_command") {
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
					ssl.Tickets = on
				case "ServerPreference":
					ssl.PreferServer = on
				default:
					if c.opts.Serving {
						return confErr(d, "%q option of \"ssl_conf_command Options\" is not supported by gonginx", opt)
					}
				}
			}
		case "certificate":
			ssl.confCert = c.cfg.ConfPath(value)
		case "privatekey":
			ssl.confKey = c.cfg.ConfPath(value)
		default:
			if c.opts.Serving {
				return confErr(d, "%q command of \"ssl_conf_command\" is not supported by gonginx", name)
			}
		}
	}
	if ssl.confCert != "" && ssl.dynamic() && c.opts.Serving {
		return &nginxconf.Error{Msg: `"ssl_conf_command Certificate" with variables in "ssl_certificate" is not supported by gonginx`}
	}
	return nil
}

// withConfCert is the certificates once ssl_conf_command's Certificate
// (with its PrivateKey) is loaded: it replaces the certificate of its key
// type, as SSL_CTX_use_certificate does, or is added.
func withConfCert(ssl *SSLConfig, certs []tls.Certificate) ([]tls.Certificate, error) {
	if ssl.confCert == "" {
		return certs, nil
	}
	key := ssl.confKey
	if key == "" {
		key = ssl.confCert
	}
	pair, err := loadPair(ssl.confCert, key, ssl.Passwords)
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
