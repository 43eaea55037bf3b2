package upstream

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// A cipher suite as OpenSSL names and classifies it, for reading
// proxy_ssl_ciphers. Only TLS 1.2-and-below suites: the cipher list does
// not touch TLS 1.3's, in OpenSSL as in Go.
type sslSuite struct {
	name  string // OpenSSL's name
	id    uint16 // Go's, 0 when Go does not implement it
	attrs string // OpenSSL's aliases it belongs to, space separated
}

// sslSuites are the suites OpenSSL 3 knows in TLS 1.2 and below, with the
// aliases that select them. Those Go lacks are listed so that naming one
// explicitly is refused rather than dropped.
var sslSuites = []sslSuite{
	{"ECDHE-ECDSA-AES256-GCM-SHA384", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "kECDHE ECDHE EECDH aECDSA ECDSA AES AES256 AESGCM AEAD HIGH TLSv1.2"},
	{"ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "kECDHE ECDHE EECDH aRSA RSA AES AES256 AESGCM AEAD HIGH TLSv1.2"},
	{"ECDHE-ECDSA-CHACHA20-POLY1305", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "kECDHE ECDHE EECDH aECDSA ECDSA CHACHA20 HIGH TLSv1.2"},
	{"ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "kECDHE ECDHE EECDH aRSA RSA CHACHA20 HIGH TLSv1.2"},
	{"ECDHE-ECDSA-AES128-GCM-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "kECDHE ECDHE EECDH aECDSA ECDSA AES AES128 AESGCM AEAD HIGH TLSv1.2"},
	{"ECDHE-RSA-AES128-GCM-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "kECDHE ECDHE EECDH aRSA RSA AES AES128 AESGCM AEAD HIGH TLSv1.2"},
	{"ECDHE-ECDSA-AES128-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "kECDHE ECDHE EECDH aECDSA ECDSA AES AES128 SHA256 HIGH TLSv1.2"},
	{"ECDHE-RSA-AES128-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "kECDHE ECDHE EECDH aRSA RSA AES AES128 SHA256 HIGH TLSv1.2"},
	{"ECDHE-ECDSA-AES256-SHA384", 0, "kECDHE ECDHE EECDH aECDSA ECDSA AES AES256 SHA384 HIGH TLSv1.2"},
	{"ECDHE-RSA-AES256-SHA384", 0, "kECDHE ECDHE EECDH aRSA RSA AES AES256 SHA384 HIGH TLSv1.2"},
	{"ECDHE-ECDSA-AES256-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "kECDHE ECDHE EECDH aECDSA ECDSA AES AES256 SHA1 SHA HIGH SSLv3"},
	{"ECDHE-RSA-AES256-SHA", tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "kECDHE ECDHE EECDH aRSA RSA AES AES256 SHA1 SHA HIGH SSLv3"},
	{"ECDHE-ECDSA-AES128-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "kECDHE ECDHE EECDH aECDSA ECDSA AES AES128 SHA1 SHA HIGH SSLv3"},
	{"ECDHE-RSA-AES128-SHA", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "kECDHE ECDHE EECDH aRSA RSA AES AES128 SHA1 SHA HIGH SSLv3"},
	{"AES256-GCM-SHA384", tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "kRSA aRSA RSA AES AES256 AESGCM AEAD HIGH TLSv1.2"},
	{"AES128-GCM-SHA256", tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "kRSA aRSA RSA AES AES128 AESGCM AEAD HIGH TLSv1.2"},
	{"AES256-SHA256", 0, "kRSA aRSA RSA AES AES256 SHA256 HIGH TLSv1.2"},
	{"AES128-SHA256", tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "kRSA aRSA RSA AES AES128 SHA256 HIGH TLSv1.2"},
	{"AES256-SHA", tls.TLS_RSA_WITH_AES_256_CBC_SHA, "kRSA aRSA RSA AES AES256 SHA1 SHA HIGH SSLv3"},
	{"AES128-SHA", tls.TLS_RSA_WITH_AES_128_CBC_SHA, "kRSA aRSA RSA AES AES128 SHA1 SHA HIGH SSLv3"},
	{"DHE-RSA-AES256-GCM-SHA384", 0, "kDHE kEDH DHE EDH aRSA RSA AES AES256 AESGCM AEAD HIGH TLSv1.2"},
	{"DHE-RSA-AES128-GCM-SHA256", 0, "kDHE kEDH DHE EDH aRSA RSA AES AES128 AESGCM AEAD HIGH TLSv1.2"},
	{"DHE-RSA-CHACHA20-POLY1305", 0, "kDHE kEDH DHE EDH aRSA RSA CHACHA20 HIGH TLSv1.2"},
	{"DHE-RSA-AES256-SHA256", 0, "kDHE kEDH DHE EDH aRSA RSA AES AES256 SHA256 HIGH TLSv1.2"},
	{"DHE-RSA-AES128-SHA256", 0, "kDHE kEDH DHE EDH aRSA RSA AES AES128 SHA256 HIGH TLSv1.2"},
	{"DHE-RSA-AES256-SHA", 0, "kDHE kEDH DHE EDH aRSA RSA AES AES256 SHA1 SHA HIGH SSLv3"},
	{"DHE-RSA-AES128-SHA", 0, "kDHE kEDH DHE EDH aRSA RSA AES AES128 SHA1 SHA HIGH SSLv3"},
	{"ECDHE-RSA-DES-CBC3-SHA", tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "kECDHE ECDHE EECDH aRSA RSA 3DES SHA1 SHA MEDIUM SSLv3"},
	{"DES-CBC3-SHA", tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "kRSA aRSA RSA 3DES SHA1 SHA MEDIUM SSLv3"},
}

// sslDefaultOut are the aliases OpenSSL 3's DEFAULT ("ALL:!COMPLEMENTOFDEFAULT:!eNULL")
// leaves out among the suites above: 3DES is in COMPLEMENTOFDEFAULT.
const sslDefaultOut = "3DES"

// errNoCipherMatch is nginx's error (without file:line, as nginx logs it).
var errNoCipherMatch = errors.New("no cipher match")

// opensslCiphers reads an OpenSSL cipher string as SSL_CTX_set_cipher_list
// does, for the suites above: "A:B", "!X" (never), "-X" (remove), "+X"
// (move: order only), "A+B" (both), ALL, DEFAULT, COMPLEMENTOFDEFAULT,
// @STRENGTH and @SECLEVEL=N. Unknown words select nothing, as in OpenSSL;
// selecting nothing at all is nginx's error. It returns Go's suites in
// OpenSSL's order (Go orders its ClientHello by its own preference: the
// set is honoured, the order is not), and whether @SECLEVEL=0 was given.
// A string that selects by name a suite Go does not implement, or only
// suites Go lacks, is refused: the backend could be reached by nginx and
// not by gonginx.
func opensslCiphers(spec string) (suites []uint16, secLevel0 bool, err error) {
	var order []int
	banned := map[int]bool{}
	in := map[int]bool{}
	for _, elem := range tlsutil.CipherElems(spec) {
		op := byte(0)
		if elem[0] == '!' || elem[0] == '-' || elem[0] == '+' {
			op, elem = elem[0], elem[1:]
		}
		if strings.HasPrefix(elem, "@") {
			if strings.HasPrefix(elem, "@SECLEVEL=") {
				secLevel0 = elem == "@SECLEVEL=0"
			}
			continue
		}
		sel, explicit := selectSuites(elem)
		if op == 0 && explicit >= 0 && sslSuites[explicit].id == 0 {
			return nil, false, fmt.Errorf(`cipher "%s" in "proxy_ssl_ciphers" is not supported by gonginx`, elem)
		}
		for _, i := range sel {
			switch op {
			case '!':
				banned[i], in[i] = true, false
			case '-':
				in[i] = false
			case '+':
				// moves selected suites to the end: order only
			default:
				if !banned[i] && !in[i] {
					in[i] = true
					order = append(order, i)
				}
			}
		}
	}
	lacking := 0
	for _, i := range order {
		if !in[i] {
			continue
		}
		if sslSuites[i].id == 0 {
			lacking++
			continue
		}
		suites = append(suites, sslSuites[i].id)
	}
	if len(suites) == 0 {
		if lacking > 0 {
			return nil, false, fmt.Errorf(`"proxy_ssl_ciphers" "%s" selects only ciphers gonginx does not support`, spec)
		}
		return nil, false, errNoCipherMatch
	}
	return suites, secLevel0, nil
}

// selectSuites returns the suites an element ("HIGH", "ECDHE+AESGCM",
// "AES128-SHA") selects, and the index of the suite it names exactly
// (-1 for an alias).
func selectSuites(elem string) (sel []int, explicit int) {
	for i, s := range sslSuites {
		if s.name == elem {
			return []int{i}, i
		}
	}
	parts := strings.Split(elem, "+")
	for i, s := range sslSuites {
		ok := true
		for _, p := range parts {
			if !suiteHas(s, p) {
				ok = false
				break
			}
		}
		if ok {
			sel = append(sel, i)
		}
	}
	return sel, -1
}

func suiteHas(s sslSuite, alias string) bool {
	switch alias {
	case "ALL":
		return true
	case "DEFAULT":
		return !suiteHas(s, sslDefaultOut)
	case "COMPLEMENTOFDEFAULT":
		return suiteHas(s, sslDefaultOut)
	case "COMPLEMENTOFALL", "aNULL", "eNULL", "NULL", "MD5", "RC4", "EXP", "EXPORT", "LOW", "DES", "PSK", "SRP", "ADH", "AECDH":
		return false
	}
	for _, a := range strings.Fields(s.attrs) {
		if a == alias {
			return true
		}
	}
	return false
}
