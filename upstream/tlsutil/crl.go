package tlsutil

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"time"
)

// CRL is what verification needs of a certificate revocation list.
// crypto/x509 parses version 2 lists only, and "openssl ca -gencrl"
// without a crlnumber writes version 1 ones, which OpenSSL takes.
type CRL struct {
	RawIssuer  []byte
	ThisUpdate time.Time
	NextUpdate time.Time // zero when absent
	Revoked    []*big.Int
	tbs        []byte
	sigAlg     x509.SignatureAlgorithm
	sig        []byte
}

type crlDER struct {
	TBS    asn1.RawValue
	SigAlg pkix.AlgorithmIdentifier
	Sig    asn1.BitString
}

type revokedDER struct {
	Serial *big.Int
	Date   asn1.RawValue
	Ext    asn1.RawValue `asn1:"optional"`
}

// ParseCRL parses a DER CertificateList of version 1 or 2.
func ParseCRL(der []byte) (*CRL, error) {
	var outer crlDER
	if rest, err := asn1.Unmarshal(der, &outer); err != nil {
		return nil, err
	} else if len(rest) > 0 {
		return nil, errors.New("trailing data")
	}
	l := &CRL{tbs: outer.TBS.FullBytes, sig: outer.Sig.RightAlign(), sigAlg: sigAlgOf(outer.SigAlg.Algorithm)}
	var fields []asn1.RawValue
	rest := outer.TBS.Bytes
	for len(rest) > 0 {
		var f asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			return nil, err
		}
		fields = append(fields, f)
	}
	// [version INTEGER] signature issuer thisUpdate [nextUpdate] [revoked] [0 extensions]
	if len(fields) > 0 && fields[0].Tag == asn1.TagInteger && fields[0].Class == asn1.ClassUniversal {
		fields = fields[1:]
	}
	if len(fields) < 3 {
		return nil, errors.New("short CRL")
	}
	l.RawIssuer = fields[1].FullBytes
	var err error
	if l.ThisUpdate, err = parseASN1Time(fields[2]); err != nil {
		return nil, err
	}
	for _, f := range fields[3:] {
		switch {
		case f.Class == asn1.ClassUniversal && (f.Tag == asn1.TagUTCTime || f.Tag == asn1.TagGeneralizedTime):
			if l.NextUpdate, err = parseASN1Time(f); err != nil {
				return nil, err
			}
		case f.Class == asn1.ClassUniversal && f.Tag == asn1.TagSequence:
			var entries []revokedDER
			if _, err := asn1.Unmarshal(f.FullBytes, &entries); err != nil {
				return nil, err
			}
			for _, e := range entries {
				l.Revoked = append(l.Revoked, e.Serial)
			}
		}
	}
	return l, nil
}

func parseASN1Time(v asn1.RawValue) (time.Time, error) {
	var t time.Time
	_, err := asn1.Unmarshal(v.FullBytes, &t)
	return t, err
}

// SignedBy checks the list's signature with the issuer's key only (its
// CA-ness is check_extensions' business).
func (l *CRL) SignedBy(issuer *x509.Certificate) bool {
	return l.sigAlg != x509.UnknownSignatureAlgorithm && issuer.CheckSignature(l.sigAlg, l.tbs, l.sig) == nil
}

// sigAlgOf maps the signature algorithms CAs sign CRLs with.
func sigAlgOf(oid asn1.ObjectIdentifier) x509.SignatureAlgorithm {
	switch oid.String() {
	case "1.2.840.113549.1.1.4":
		return x509.MD5WithRSA
	case "1.2.840.113549.1.1.5":
		return x509.SHA1WithRSA
	case "1.2.840.113549.1.1.11":
		return x509.SHA256WithRSA
	case "1.2.840.113549.1.1.12":
		return x509.SHA384WithRSA
	case "1.2.840.113549.1.1.13":
		return x509.SHA512WithRSA
	case "1.2.840.10045.4.1":
		return x509.ECDSAWithSHA1
	case "1.2.840.10045.4.3.2":
		return x509.ECDSAWithSHA256
	case "1.2.840.10045.4.3.3":
		return x509.ECDSAWithSHA384
	case "1.2.840.10045.4.3.4":
		return x509.ECDSAWithSHA512
	case "1.3.101.112":
		return x509.PureEd25519
	}
	return x509.UnknownSignatureAlgorithm
}
