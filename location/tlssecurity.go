package location

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// dhParamCheck is what ngx_ssl_dhparam's OpenSSL calls refuse in an
// ssl_dhparam file that opens: no DH parameters block
// (PEM_read_bio_DHparams), or a prime weaker than the security level
// (SSL_CTX_set_tmp_dh: 1024 bits pass @SECLEVEL=1, not Debian's default
// 2). crypto/tls does no DHE, so nothing else reads the file.
func dhParamCheck(path, ciphers string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil // BIO_new_file's own message is checked before
	}
	var params []byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type == "DH PARAMETERS" || b.Type == "X9.42 DH PARAMETERS" {
			params = b.Bytes
			if b.Type == "X9.42 DH PARAMETERS" {
				params = append([]byte{'x'}, params...) // marks q as the third integer
			}
			break
		}
	}
	if params == nil {
		return &nginxconf.Error{Msg: fmt.Sprintf("PEM_read_bio_DHparams(\"%s\") failed (SSL: error:0480006C:PEM routines::no start line:Expecting: DH PARAMETERS)", path)}
	}
	x942 := params[0] == 'x'
	if x942 {
		params = params[1:]
	}
	pBits, nBits, ok := dhSizes(params, x942)
	if !ok {
		return nil // malformed parameters: not checked further
	}
	if ffcSecurityBits(pBits, nBits) < minSecurityBits(secLevelOf(ciphers)) {
		return &nginxconf.Error{Msg: fmt.Sprintf("SSL_CTX_set_tmp_dh(\"%s\") failed (SSL: error:0A00018A:SSL routines::dh key too small)", path)}
	}
	return nil
}

// dhSizes reads the prime's bits and N, the subgroup's (X9.42's q) or
// PKCS #3's privateValueLength, -1 without one (DH_security_bits).
func dhSizes(der []byte, x942 bool) (pBits, nBits int, ok bool) {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(der, &seq); err != nil || seq.Tag != asn1.TagSequence {
		return 0, 0, false
	}
	rest := seq.Bytes
	var ints []asn1.RawValue
	for len(rest) > 0 && len(ints) < 3 {
		var v asn1.RawValue
		r, err := asn1.Unmarshal(rest, &v)
		if err != nil || v.Tag != asn1.TagInteger {
			break
		}
		ints, rest = append(ints, v), r
	}
	if len(ints) < 2 {
		return 0, 0, false
	}
	nBits = -1
	if len(ints) == 3 {
		if x942 {
			nBits = intBits(ints[2].Bytes)
		} else {
			var l int64
			if _, err := asn1.Unmarshal(ints[2].FullBytes, &l); err == nil && l > 0 {
				nBits = int(l)
			}
		}
	}
	return intBits(ints[0].Bytes), nBits, true
}

// intBits is the bit length of a DER INTEGER's (non-negative) content.
func intBits(b []byte) int {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0
	}
	n := (len(b) - 1) * 8
	for top := b[0]; top != 0; top >>= 1 {
		n++
	}
	return n
}

// ffcSecurityBits is OpenSSL's BN_security_bits for a finite field group
// of an L-bit prime and an N-bit subgroup (-1: unknown).
func ffcSecurityBits(l, n int) int {
	bits := 0
	switch {
	case l >= 15360:
		bits = 256
	case l >= 7680:
		bits = 192
	case l >= 3072:
		bits = 128
	case l >= 2048:
		bits = 112
	case l >= 1024:
		bits = 80
	}
	if n >= 0 && n/2 < bits {
		return n / 2
	}
	return bits
}

// minSecurityBits is the least security a level allows (OpenSSL's
// ssl_security_default_callback); level 0 allows anything.
func minSecurityBits(level int) int {
	return [...]int{0, 80, 112, 128, 192, 256}[level]
}

// secLevelOf is the security level an ssl_ciphers string sets with
// "@SECLEVEL=n" (the last one), or the one Debian's OpenSSL 3 is built
// with, 2.
func secLevelOf(ciphers string) int {
	level := 2
	for _, e := range tlsutil.CipherElems(ciphers) {
		if n, ok := strings.CutPrefix(e, "@SECLEVEL="); ok && len(n) == 1 && n[0] >= '0' && n[0] <= '5' {
			level = int(n[0] - '0')
		}
	}
	return level
}

// certSecurityCheck is the security check OpenSSL makes of a server's
// certificate file (ssl_security_cert), at the level ssl_ciphers sets:
// the first certificate's key strength and the digest of its issuer's
// signature unless it signed itself (SSL_CTX_use_certificate), then the
// same of each chain certificate after it (SSL_CTX_set0_chain, whose
// errors say "ca"). A file without a certificate, or one that does not
// parse, is left to loadPair.
func certSecurityCheck(certPath, ciphers string) error {
	data, err := os.ReadFile(certPath)
	if err != nil {
		return nil
	}
	least := minSecurityBits(secLevelOf(ciphers))
	leaf := true
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return nil
		}
		if !strings.HasSuffix(b.Type, "CERTIFICATE") {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil
		}
		call, keyReason := "SSL_CTX_use_certificate", "0A00018F:SSL routines::ee key too small"
		if !leaf {
			call, keyReason = "SSL_CTX_set0_chain", "0A00018D:SSL routines::ca key too small"
		}
		if keySecurityBits(c.PublicKey) < least {
			return &nginxconf.Error{Msg: fmt.Sprintf("%s(\"%s\") failed (SSL: error:%s)", call, certPath, keyReason)}
		}
		selfSigned := bytes.Equal(c.RawSubject, c.RawIssuer) &&
			(len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId))
		if !selfSigned && sigSecurityBits(c.SignatureAlgorithm) < least {
			return &nginxconf.Error{Msg: fmt.Sprintf("%s(\"%s\") failed (SSL: error:0A00018E:SSL routines::ca md too weak)", call, certPath)}
		}
		leaf = false
	}
}

// keySecurityBits is EVP_PKEY_get_security_bits for the keys crypto/tls
// loads; an unknown kind passes.
func keySecurityBits(pub any) int {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return ffcSecurityBits(k.N.BitLen(), -1)
	case *ecdsa.PublicKey:
		bits := k.Curve.Params().N.BitLen()
		switch {
		case bits >= 512:
			return 256
		case bits >= 384:
			return 192
		case bits >= 256:
			return 128
		case bits >= 224:
			return 112
		case bits >= 160:
			return 80
		}
		return bits / 2
	}
	return 256
}

// sigSecurityBits is what OpenSSL 3 counts for a certificate's signature
// (ossl_x509_init_sig_info): its digest's strength, MD5 39 and SHA-1 63
// so that neither passes level 1.
func sigSecurityBits(alg x509.SignatureAlgorithm) int {
	switch alg {
	case x509.MD2WithRSA, x509.MD5WithRSA:
		return 39
	case x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		return 63
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		return 192
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		return 256
	}
	return 128 // SHA-256 and Ed25519
}
