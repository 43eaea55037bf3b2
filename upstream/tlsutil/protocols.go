package tlsutil

import "crypto/tls"

// ProtocolRange is the range of versions the protocol names (TLSv1,
// TLSv1.1, TLSv1.2, TLSv1.3) enable, leaving out those below lowest and
// names OpenSSL 3 is not built with (SSLv2, SSLv3). A gap (TLSv1 TLSv1.2)
// cannot be expressed in Go and takes the range. Both are 0 when nothing
// is enabled.
func ProtocolRange(names []string, lowest uint16) (lo, hi uint16) {
	for _, n := range names {
		var v uint16
		switch n {
		case "TLSv1":
			v = tls.VersionTLS10
		case "TLSv1.1":
			v = tls.VersionTLS11
		case "TLSv1.2":
			v = tls.VersionTLS12
		case "TLSv1.3":
			v = tls.VersionTLS13
		default:
			continue
		}
		if v < lowest {
			continue
		}
		if lo == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	return lo, hi
}
