package stream

import (
	"crypto/tls"
	"strings"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream"
	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// serverTLS is the TLS of a server with a "listen ... ssl"
// (ngx_stream_ssl_module): its certificates, protocols and ciphers.
func (cc *compiler) serverTLS(blocks [][]*nginxconf.Directive, srvDir *nginxconf.Directive) (*tls.Config, error) {
	var certs, keys []*nginxconf.Directive
	for i := len(blocks) - 1; i >= 0 && len(certs) == 0; i-- {
		certs, keys = all(blocks[i], "ssl_certificate"), all(blocks[i], "ssl_certificate_key")
	}
	if len(certs) == 0 {
		return nil, &nginxconf.Error{Msg: `no "ssl_certificate" is defined for the listen ... ssl directive in ` + srvDir.File + ":" + itoa(srvDir.Line)}
	}
	if len(keys) < len(certs) {
		return nil, &nginxconf.Error{Msg: `no "ssl_certificate_key" is defined for certificate "` + certs[len(keys)].Args[0] + `"`}
	}
	var passwords []string
	if d := last(blocks, "ssl_password_file"); d != nil {
		passwords = cc.cfg.Passwords[cc.cfg.ConfPath(d.Args[0])]
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}
	if cc.opts.LoadCerts {
		for i, cd := range certs {
			if strings.Contains(cd.Args[0], "$") {
				return nil, confErr(cd, `variables in "ssl_certificate" of a stream server are not supported by gonginx`)
			}
			pair, err := location.LoadCertPair(cc.cfg.ConfPath(cd.Args[0]), cc.cfg.ConfPath(keys[i].Args[0]), passwords)
			if err != nil {
				return nil, err
			}
			tc.Certificates = append(tc.Certificates, pair)
		}
	}
	if d := last(blocks, "ssl_protocols"); d != nil {
		tc.MinVersion, tc.MaxVersion = tlsutil.ProtocolRange(d.Args, tls.VersionTLS10)
	}
	if d := last(blocks, "ssl_ciphers"); d != nil {
		suites, err := upstream.CipherSuites(d.Args[0])
		if err != nil {
			return nil, confErr(d, "%s", err)
		}
		tc.CipherSuites = suites
	}
	if d := last(blocks, "ssl_prefer_server_ciphers"); d != nil {
		tc.PreferServerCipherSuites = d.Args[0] == "on"
	}
	return tc, nil
}
