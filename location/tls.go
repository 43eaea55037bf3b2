package location

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// loadCertCheck loads every certificate/key pair of a server, failing with
// the message nginx (OpenSSL 3) prints for the common mistakes.
func loadCertCheck(ssl *SSLConfig) error {
	_, err := loadCerts(ssl)
	return err
}

func loadCerts(ssl *SSLConfig) ([]tls.Certificate, error) {
	var out []tls.Certificate
	for i, certPath := range ssl.Certificates {
		if err := certSecurityCheck(certPath, ssl.Ciphers); err != nil {
			return nil, err
		}
		pair, err := loadPair(certPath, ssl.Keys[i], ssl.Passwords)
		if err != nil {
			return nil, err
		}
		out = append(out, pair)
	}
	return withConfCert(ssl, out)
}

// loadPair loads one certificate and its key; an encrypted key is tried
// with each password of ssl_password_file in turn, as nginx does.
func loadPair(certPath, keyPath string, passwords []string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, &nginxconf.Error{Msg: fmt.Sprintf("cannot load certificate \"%s\": %s", certPath, fopenErr(certPath, err))}
	}
	if !hasPEMBlock(certPEM, "CERTIFICATE") {
		return tls.Certificate{}, &nginxconf.Error{Msg: fmt.Sprintf("cannot load certificate \"%s\": PEM_read_bio_X509_AUX() failed (SSL: error:0480006C:PEM routines::no start line:Expecting: TRUSTED CERTIFICATE)", certPath)}
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, &nginxconf.Error{Msg: fmt.Sprintf("cannot load certificate key \"%s\": %s", keyPath, fopenErr(keyPath, err))}
	}
	if !hasPEMBlock(keyPEM, "PRIVATE KEY") {
		return tls.Certificate{}, &nginxconf.Error{Msg: fmt.Sprintf("cannot load certificate key \"%s\": PEM_read_bio_PrivateKey() failed (SSL: error:1E08010C:DECODER routines::unsupported:No supported data to decode. Input type: PEM)", keyPath)}
	}
	if plain, ok := decryptKeyPEM(keyPEM, passwords); ok {
		keyPEM = plain
	} else {
		return tls.Certificate{}, &nginxconf.Error{Msg: fmt.Sprintf("cannot load certificate key \"%s\": PEM_read_bio_PrivateKey() failed (SSL: error:1C800064:Provider routines::bad decrypt)", keyPath)}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, &nginxconf.Error{Msg: fmt.Sprintf("SSL_CTX_use_PrivateKey(\"%s\") failed (SSL: %v)", keyPath, err)}
	}
	if pair.Leaf == nil && len(pair.Certificate) > 0 {
		pair.Leaf, _ = x509.ParseCertificate(pair.Certificate[0])
	}
	return pair, nil
}

func hasPEMBlock(data []byte, suffix string) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if strings.HasSuffix(b.Type, suffix) {
			return true
		}
	}
}

func fopenErr(path string, err error) string {
	reason := "No such file or directory"
	lib := "no such file"
	switch {
	case errors.Is(err, fs.ErrPermission):
		reason, lib = "Permission denied", "system lib"
	case errors.Is(err, fs.ErrNotExist):
	default:
		reason = err.Error()
	}
	code := "80000002"
	if reason == "Permission denied" {
		code = "8000000D"
	}
	return fmt.Sprintf("BIO_new_file() failed (SSL: error:%s:system library::%s:calling fopen(%s, r) error:10000080:BIO routines::%s)", code, reason, path, lib)
}

// sslMergeCheck makes the checks ngx_http_ssl_merge_srv_conf makes after
// loading a server's certificates, in its order: client verification
// needs a CA file, the CA, trusted, CRL and DH parameter files must
// exist (OpenSSL's messages), and "ssl_stapling" is ignored with a
// warning when a certificate's issuer or OCSP responder is unknown.
// server is the server block; http-level directives are inherited.
func (c *compiler) sslMergeCheck(server *nginxconf.Directive, ssl *SSLConfig) error {
	get := func(name string) string {
		v := ""
		for _, block := range [][]*nginxconf.Directive{c.httpBlock.Block, server.Block} {
			for _, d := range block {
				if d.Name == name && len(d.Args) > 0 {
					v = d.Args[0]
				}
			}
		}
		return v
	}
	path := func(name string) string {
		if v := get(name); v != "" {
			return c.resolve(v, c.cfg.ConfPrefix)
		}
		return ""
	}
	missing := func(p string) bool {
		_, err := os.Stat(p)
		return p != "" && errors.Is(err, fs.ErrNotExist)
	}
	x509Err := func(call, p string) error {
		return &nginxconf.Error{Msg: fmt.Sprintf("%s(\"%s\") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(%s, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib)", call, p, p)}
	}
	if list := get("ssl_ciphers"); list != "" && tlsutil.CipherInvalidCommand(list) {
		return &nginxconf.Error{Msg: fmt.Sprintf("SSL_CTX_set_cipher_list(\"%s\") failed (SSL: error:0A000118:SSL routines::invalid command)", list)}
	}
	if list := get("ssl_ciphers"); list != "" && !cipherListOK(list) {
		return &nginxconf.Error{Msg: fmt.Sprintf("SSL_CTX_set_cipher_list(\"%s\") failed (SSL: error:0A0000B9:SSL routines::no cipher match)", list)}
	}
	if verify := get("ssl_verify_client"); verify != "" && verify != "off" {
		ca := path("ssl_client_certificate")
		if ca == "" && verify != "optional_no_ca" {
			return &nginxconf.Error{Msg: "no ssl_client_certificate for ssl_verify_client"}
		}
		if missing(ca) {
			return x509Err("SSL_CTX_load_verify_locations", ca)
		}
	}
	if p := path("ssl_trusted_certificate"); missing(p) {
		return x509Err("SSL_CTX_load_verify_locations", p)
	}
	if p := path("ssl_crl"); missing(p) {
		return x509Err("X509_LOOKUP_load_file", p)
	}
	if p := path("ssl_dhparam"); missing(p) {
		return &nginxconf.Error{Msg: fmt.Sprintf("BIO_new_file(\"%s\") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(%s, r) error:10000080:BIO routines::no such file)", p, p)}
	} else if p != "" {
		if err := dhParamCheck(p, get("ssl_ciphers")); err != nil {
			return err
		}
	}
	if curves := get("ssl_ecdh_curve"); curves != "" && curves != "auto" {
		for _, g := range strings.Split(curves, ":") {
			if !tlsGroups[strings.ToLower(g)] {
				return &nginxconf.Error{Msg: fmt.Sprintf("SSL_CTX_set1_curves_list(\"%s\") failed (SSL: error:0A080106:SSL routines::passed invalid argument:group '%s' cannot be set)", curves, g)}
			}
		}
	}
	if get("ssl_stapling") == "on" {
		store := append(pemCerts(path("ssl_trusted_certificate")), pemCerts(path("ssl_client_certificate"))...)
		for _, certPath := range ssl.Certificates {
			chain := pemCerts(certPath)
			if len(chain) == 0 {
				continue
			}
			leaf, found := chain[0], false
			for _, ic := range append(chain[1:], store...) {
				if bytes.Equal(ic.RawSubject, leaf.RawIssuer) {
					found = true
				}
			}
			switch {
			case !found:
				c.warn(&nginxconf.Error{Msg: fmt.Sprintf("\"%s\" ignored, issuer certificate not found for certificate \"%s\"", "ssl_stapling", certPath), Warn: true})
			case len(leaf.OCSPServer) == 0 && get("ssl_stapling_responder") == "":
				c.warn(&nginxconf.Error{Msg: fmt.Sprintf("\"%s\" ignored, no OCSP responder URL in the certificate \"%s\"", "ssl_stapling", certPath), Warn: true})
			}
		}
	}
	return nil
}

// pemCerts parses the certificates of a PEM file; none if unreadable.
func pemCerts(path string) []*x509.Certificate {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		if b.Type == "CERTIFICATE" {
			if cert, err := x509.ParseCertificate(b.Bytes); err == nil {
				out = append(out, cert)
			}
		}
	}
}

// cipherAliases are the OpenSSL 3 cipher-string names that select at
// least one TLS 1.2 (or older) suite in Debian's default build; LOW,
// MEDIUM, EXPORT, RC4, DES, 3DES, IDEA, SEED and GOST select none.
var cipherAliases = map[string]bool{
	"ALL": true, "COMPLEMENTOFALL": true, "DEFAULT": true, "COMPLEMENTOFDEFAULT": true, "HIGH": true,
	"eNULL": true, "NULL": true, "aNULL": true, "kRSA": true, "aRSA": true, "RSA": true, "kDHE": true,
	"kEDH": true, "DH": true, "DHE": true, "EDH": true, "ADH": true, "kEECDH": true, "kECDHE": true,
	"ECDH": true, "ECDHE": true, "EECDH": true, "AECDH": true, "aDSS": true, "DSS": true, "aECDSA": true,
	"ECDSA": true, "TLSv1.2": true, "TLSv1.0": true, "TLSv1": true, "SSLv3": true, "AES128": true,
	"AES256": true, "AES": true, "AESGCM": true, "AESCCM": true, "AESCCM8": true, "ARIA128": true,
	"ARIA256": true, "ARIA": true, "ARIAGCM": true, "CAMELLIA128": true, "CAMELLIA256": true,
	"CAMELLIA": true, "CHACHA20": true, "MD5": true, "SHA1": true, "SHA": true, "SHA256": true,
	"SHA384": true, "PSK": true, "kPSK": true, "kECDHEPSK": true, "kDHEPSK": true, "kRSAPSK": true,
	"aPSK": true, "SRP": true, "kSRP": true, "aSRP": true, "SUITEB128": true, "SUITEB128ONLY": true,
	"SUITEB192": true,
}

// cipherSelects reports whether one cipher-string element names a TLS
// 1.2 suite ("ECDHE-RSA-AES128-GCM-SHA256") or aliases that all select
// something ("EECDH+AESGCM"). TLS 1.3 names ("TLS_...") select nothing
// here: ssl_ciphers does not set them.
func cipherSelects(e string) bool {
	if strings.HasPrefix(e, "TLS_") {
		return false
	}
	if cipherSuites[e] {
		return true
	}
	for _, p := range strings.Split(e, "+") {
		if !cipherAliases[p] {
			return false
		}
	}
	return true
}

// cipherListOK approximates SSL_CTX_set_cipher_list: whether the list
// leaves some suite selected ("X" adds, "-X" removes, "!X" bans, "+X"
// only reorders, "@..." are commands).
func cipherListOK(list string) bool {
	selected := map[string]bool{}
	banned := map[string]bool{}
	for _, e := range tlsutil.CipherElems(list) {
		if at := strings.IndexByte(e, '@'); at >= 0 {
			e = e[:at]
		}
		switch {
		case e == "":
		case e[0] == '!':
			banned[e[1:]] = true
			delete(selected, e[1:])
			if e[1:] == "ALL" {
				clear(selected)
			}
		case e[0] == '-':
			delete(selected, e[1:])
			if e[1:] == "ALL" {
				clear(selected)
			}
		case e[0] == '+':
		default:
			if cipherSelects(e) && !banned[e] && !banned["ALL"] {
				selected[e] = true
			}
		}
	}
	return len(selected) > 0
}

// cipherSuites are the TLS 1.2-and-older suite names of Debian's OpenSSL 3
// (openssl ciphers ALL:COMPLEMENTOFALL): the table's names but TLS 1.3's
// and the signalling values.
var cipherSuites = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range opensslCipherNames {
		if !strings.HasPrefix(n, "TLS_") {
			m[n] = true
		}
	}
	return m
}()

// tlsGroups are the TLS group names (lowercased) OpenSSL 3 accepts in
// SSL_CTX_set1_curves_list (secp192r1 and secp256r1 too: its aliases of
// prime192v1 and prime256v1).
var tlsGroups = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`secp160k1 secp160r1 secp160r2 secp192k1 secp224k1 secp224r1
		secp256k1 secp384r1 secp521r1 prime192v1 prime256v1 secp192r1 secp256r1 sect163k1 sect163r1 sect163r2 sect193r1
		sect193r2 sect233k1 sect233r1 sect239k1 sect283k1 sect283r1 sect409k1 sect409r1 sect571k1
		sect571r1 brainpoolp256r1 brainpoolp384r1 brainpoolp512r1 x25519 x448 ffdhe2048 ffdhe3072
		ffdhe4096 ffdhe6144 ffdhe8192 p-192 p-224 p-256 p-384 p-521`) {
		m[n] = true
	}
	return m
}()
