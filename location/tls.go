package location

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
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
		keyPath := ssl.Keys[i]
		certPEM, err := os.ReadFile(certPath)
		if err != nil {
			return nil, &nginxconf.Error{Msg: fmt.Sprintf("cannot load certificate %q: %s", certPath, fopenErr(certPath, err))}
		}
		if !hasPEMBlock(certPEM, "CERTIFICATE") {
			return nil, &nginxconf.Error{Msg: fmt.Sprintf("cannot load certificate %q: PEM_read_bio_X509_AUX() failed (SSL: error:0480006C:PEM routines::no start line:Expecting: TRUSTED CERTIFICATE)", certPath)}
		}
		keyPEM, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, &nginxconf.Error{Msg: fmt.Sprintf("cannot load certificate key %q: %s", keyPath, fopenErr(keyPath, err))}
		}
		if !hasPEMBlock(keyPEM, "PRIVATE KEY") {
			return nil, &nginxconf.Error{Msg: fmt.Sprintf("cannot load certificate key %q: PEM_read_bio_PrivateKey() failed (SSL: error:1E08010C:DECODER routines::unsupported:No supported data to decode. Input type: PEM)", keyPath)}
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, &nginxconf.Error{Msg: fmt.Sprintf("SSL_CTX_use_PrivateKey(%q) failed (SSL: %v)", keyPath, err)}
		}
		if pair.Leaf == nil && len(pair.Certificate) > 0 {
			pair.Leaf, _ = x509.ParseCertificate(pair.Certificate[0])
		}
		out = append(out, pair)
	}
	return out, nil
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

// tlsVersions maps ssl_protocols to crypto/tls versions (TLSv1 and
// TLSv1.1 are honoured as written; SSLv2/v3 are not available).
func tlsVersions(protocols []string) (min, max uint16) {
	vers := map[string]uint16{"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}
	for _, p := range protocols {
		v, ok := vers[p]
		if !ok {
			continue
		}
		if min == 0 || v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	if min == 0 {
		min, max = tls.VersionTLS12, tls.VersionTLS13
	}
	return min, max
}
