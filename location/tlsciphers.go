package location

import (
	"crypto/tls"
	"slices"
	"strings"

	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// goSuite is a TLS 1.2 cipher suite both OpenSSL 3.0 and crypto/tls
// implement, with the attributes OpenSSL's cipher strings select by.
type goSuite struct {
	id   uint16
	name string // OpenSSL's
	kx   string // "kRSA", "kECDHE"
	auth certKind
	enc  string // "AES128", "AES256", "AESGCM128", "AESGCM256", "CHACHA20"
	mac  string // "SHA1", "SHA256", "SHA384", "AEAD"
	min  string // lowest protocol: "SSLv3", "TLSv1", "TLSv1.2"
	bits int
}

// goSuiteOrder is OpenSSL 3.0's initial order of these suites (what
// `openssl ciphers -V ALL` lists); cipher strings reorder from it.
var goSuiteOrder = []*goSuite{
	{0xc02c, "ECDHE-ECDSA-AES256-GCM-SHA384", "kECDHE", kindECDSA, "AESGCM256", "AEAD", "TLSv1.2", 256},
	{0xc030, "ECDHE-RSA-AES256-GCM-SHA384", "kECDHE", kindRSA, "AESGCM256", "AEAD", "TLSv1.2", 256},
	{0xcca9, "ECDHE-ECDSA-CHACHA20-POLY1305", "kECDHE", kindECDSA, "CHACHA20", "AEAD", "TLSv1.2", 256},
	{0xcca8, "ECDHE-RSA-CHACHA20-POLY1305", "kECDHE", kindRSA, "CHACHA20", "AEAD", "TLSv1.2", 256},
	{0xc02b, "ECDHE-ECDSA-AES128-GCM-SHA256", "kECDHE", kindECDSA, "AESGCM128", "AEAD", "TLSv1.2", 128},
	{0xc02f, "ECDHE-RSA-AES128-GCM-SHA256", "kECDHE", kindRSA, "AESGCM128", "AEAD", "TLSv1.2", 128},
	{0xc023, "ECDHE-ECDSA-AES128-SHA256", "kECDHE", kindECDSA, "AES128", "SHA256", "TLSv1.2", 128},
	{0xc027, "ECDHE-RSA-AES128-SHA256", "kECDHE", kindRSA, "AES128", "SHA256", "TLSv1.2", 128},
	{0xc00a, "ECDHE-ECDSA-AES256-SHA", "kECDHE", kindECDSA, "AES256", "SHA1", "TLSv1", 256},
	{0xc014, "ECDHE-RSA-AES256-SHA", "kECDHE", kindRSA, "AES256", "SHA1", "TLSv1", 256},
	{0xc009, "ECDHE-ECDSA-AES128-SHA", "kECDHE", kindECDSA, "AES128", "SHA1", "TLSv1", 128},
	{0xc013, "ECDHE-RSA-AES128-SHA", "kECDHE", kindRSA, "AES128", "SHA1", "TLSv1", 128},
	{0x009d, "AES256-GCM-SHA384", "kRSA", kindRSA, "AESGCM256", "AEAD", "TLSv1.2", 256},
	{0x009c, "AES128-GCM-SHA256", "kRSA", kindRSA, "AESGCM128", "AEAD", "TLSv1.2", 128},
	{0x003c, "AES128-SHA256", "kRSA", kindRSA, "AES128", "SHA256", "TLSv1.2", 128},
	{0x0035, "AES256-SHA", "kRSA", kindRSA, "AES256", "SHA1", "SSLv3", 256},
	{0x002f, "AES128-SHA", "kRSA", kindRSA, "AES128", "SHA1", "SSLv3", 128},
}

var goSuites = func() map[uint16]*goSuite {
	m := map[uint16]*goSuite{}
	for _, s := range goSuiteOrder {
		m[s.id] = s
	}
	return m
}()

// matches reports whether one alias of a cipher string (one part of
// "A+B") selects s, as OpenSSL 3.0's ssl_cipher_aliases; known reports
// whether OpenSSL knows the word at all (unknown words are skipped).
func (s *goSuite) matches(alias string) (match, known bool) {
	switch alias {
	case "ALL", "HIGH", "DEFAULT", "kEECDH", "kECDHE", "ECDH", "ECDHE", "EECDH", "aRSA", "aECDSA", "ECDSA",
		"kRSA", "RSA", "AES", "AES128", "AES256", "AESGCM", "CHACHA20", "SHA1", "SHA", "SHA256", "SHA384",
		"TLSv1.2", "TLSv1", "TLSv1.0", "SSLv3":
	case "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT", "eNULL", "NULL", "aNULL", "ADH", "AECDH", "kDHE", "kEDH",
		"DH", "DHE", "EDH", "aDSS", "DSS", "MEDIUM", "LOW", "EXPORT", "RC4", "DES", "3DES", "IDEA", "SEED",
		"MD5", "AESCCM", "AESCCM8", "ARIA", "ARIA128", "ARIA256", "ARIAGCM", "CAMELLIA", "CAMELLIA128",
		"CAMELLIA256", "PSK", "kPSK", "kECDHEPSK", "kDHEPSK", "kRSAPSK", "aPSK", "SRP", "kSRP", "aSRP",
		"SUITEB128", "SUITEB128ONLY", "SUITEB192", "GOST94", "GOST89MAC", "aGOST", "kGOST", "FIPS":
		return false, true
	default:
		if _, ok := opensslCipherID(alias); ok {
			return alias == s.name, true
		}
		return false, false
	}
	switch alias {
	case "ALL", "HIGH", "DEFAULT":
		return true, true
	case "kEECDH", "kECDHE", "ECDH", "ECDHE", "EECDH":
		return s.kx == "kECDHE", true
	case "kRSA", "RSA":
		return s.kx == "kRSA", true
	case "aRSA":
		return s.auth == kindRSA, true
	case "aECDSA", "ECDSA":
		return s.auth == kindECDSA, true
	case "AES":
		return s.enc != "CHACHA20", true
	case "AES128":
		return s.enc == "AES128" || s.enc == "AESGCM128", true
	case "AES256":
		return s.enc == "AES256" || s.enc == "AESGCM256", true
	case "AESGCM":
		return strings.HasPrefix(s.enc, "AESGCM"), true
	case "CHACHA20":
		return s.enc == "CHACHA20", true
	case "SHA1", "SHA":
		return s.mac == "SHA1", true
	case "SHA256", "SHA384":
		return s.mac == alias, true
	case "TLSv1.0":
		return s.min == "TLSv1", true
	}
	return s.min == alias, true // TLSv1.2, TLSv1, SSLv3
}

// opensslCipherID finds a suite by its OpenSSL name.
func opensslCipherID(name string) (uint16, bool) {
	id, ok := cipherIDs[name]
	return id, ok
}

var cipherIDs = func() map[string]uint16 {
	m := map[string]uint16{}
	for id, n := range opensslCipherNames {
		m[n] = id
	}
	return m
}()

// opensslSuites evaluates an ssl_ciphers string as OpenSSL's
// ssl_create_cipher_list does, over the suites crypto/tls implements:
// "X" appends the suites X selects that are not active, "-X" deactivates
// (they may come back), "!X" removes for good, "+X" moves active ones to
// the end, "@STRENGTH" sorts by key length. It also gives the security
// level ("@SECLEVEL=n", 1 by default).
func opensslSuites(list string) (suites []uint16, secLevel int) {
	type entry struct {
		s      *goSuite
		active bool
	}
	order := make([]entry, len(goSuiteOrder))
	for i, s := range goSuiteOrder {
		order[i] = entry{s: s}
	}
	secLevel = 1
	if strings.HasPrefix(list, "DEFAULT") {
		list = "ALL" + list[len("DEFAULT"):]
	}
	for _, e := range tlsutil.CipherElems(list) {
		if strings.HasPrefix(e, "@") {
			switch {
			case e == "@STRENGTH":
				slices.SortStableFunc(order, func(a, b entry) int { return b.s.bits - a.s.bits })
			case strings.HasPrefix(e, "@SECLEVEL="):
				if n := e[len("@SECLEVEL="):]; len(n) == 1 && n[0] >= '0' && n[0] <= '5' {
					secLevel = int(n[0] - '0')
				}
			}
			continue
		}
		op := byte(0)
		if e[0] == '-' || e[0] == '!' || e[0] == '+' {
			op, e = e[0], e[1:]
		}
		match := func(s *goSuite) (bool, bool) {
			all, known := true, true
			for _, a := range strings.Split(e, "+") {
				m, k := s.matches(a)
				all, known = all && m, known && k
			}
			return all, known
		}
		if _, known := match(goSuiteOrder[0]); !known {
			continue // OpenSSL skips words it does not know
		}
		switch op {
		case 0: // append the inactive ones, in list order
			var moved []entry
			order = slices.DeleteFunc(order, func(en entry) bool {
				if m, _ := match(en.s); m && !en.active {
					moved = append(moved, entry{en.s, true})
					return true
				}
				return false
			})
			order = append(order, moved...)
		case '+': // move the active ones to the end
			var moved []entry
			order = slices.DeleteFunc(order, func(en entry) bool {
				if m, _ := match(en.s); m && en.active {
					moved = append(moved, en)
					return true
				}
				return false
			})
			order = append(order, moved...)
		case '-': // deactivate, moving them to the head (OpenSSL walks backwards)
			var moved []entry
			order = slices.DeleteFunc(order, func(en entry) bool {
				if m, _ := match(en.s); m && en.active {
					moved = append(moved, entry{en.s, false})
					return true
				}
				return false
			})
			order = append(moved, order...)
		case '!':
			order = slices.DeleteFunc(order, func(en entry) bool { m, _ := match(en.s); return m })
		}
	}
	for _, en := range order {
		if en.active {
			suites = append(suites, en.s.id)
		}
	}
	return suites, secLevel
}

// protocolRange is the range of versions ssl_protocols enables; below
// level 1 is OpenSSL 3.0's default security level, which refuses TLSv1
// and TLSv1.1 (level 0 allows them).
func protocolRange(protocols []string, secLevel int) (minV, maxV uint16) {
	lowest := uint16(tls.VersionTLS12)
	if secLevel < 1 {
		lowest = tls.VersionTLS10
	}
	return tlsutil.ProtocolRange(protocols, lowest)
}

// tlsCurves maps ssl_ecdh_curve to crypto/tls groups: "auto" is
// OpenSSL 3.0's default list (X448 aside, which crypto/tls lacks).
func tlsCurves(list string) []tls.CurveID {
	if list == "auto" || list == "" {
		return []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP521, tls.CurveP384}
	}
	var out []tls.CurveID
	for _, n := range strings.Split(list, ":") {
		switch strings.ToLower(n) {
		case "x25519":
			out = append(out, tls.X25519)
		case "prime256v1", "secp256r1", "p-256":
			out = append(out, tls.CurveP256)
		case "secp384r1", "p-384":
			out = append(out, tls.CurveP384)
		case "secp521r1", "p-521":
			out = append(out, tls.CurveP521)
		}
	}
	return out
}
