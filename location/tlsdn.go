package location

import (
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The client certificate variables print names, serials and times as
// OpenSSL does: X509_NAME_print_ex with XN_FLAG_RFC2253 ($ssl_client_s_dn),
// X509_NAME_oneline ($ssl_client_s_dn_legacy), i2a_ASN1_INTEGER and
// ASN1_TIME_print.

// dnAttr is one attribute of a name, its value as encoded.
type dnAttr struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// parseDN splits a DER Name into its RDNs, each a set of attributes;
// nil when it does not parse.
func parseDN(der []byte) [][]dnAttr {
	var seq []asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &seq); err != nil || len(rest) > 0 {
		return nil
	}
	out := make([][]dnAttr, 0, len(seq))
	for _, set := range seq {
		var rdn []dnAttr
		if _, err := asn1.UnmarshalWithParams(set.FullBytes, &rdn, "set"); err != nil {
			return nil
		}
		out = append(out, rdn)
	}
	return out
}

// oidShortNames are OpenSSL's short names (OBJ_nid2sn) of the name
// attributes certificates carry.
var oidShortNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
	"2.5.4.13": "description", "2.5.4.15": "businessCategory", "2.5.4.17": "postalCode",
	"2.5.4.18": "postOfficeBox", "2.5.4.41": "name", "2.5.4.42": "GN", "2.5.4.43": "initials",
	"2.5.4.44": "generationQualifier", "2.5.4.45": "x500UniqueIdentifier", "2.5.4.46": "dnQualifier",
	"2.5.4.65": "pseudonym", "2.5.4.72": "role", "2.5.4.97": "organizationIdentifier",
	"1.2.840.113549.1.9.1": "emailAddress", "1.2.840.113549.1.9.2": "unstructuredName",
	"0.9.2342.19200300.100.1.1": "UID", "0.9.2342.19200300.100.1.25": "DC",
	"1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL", "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
}

// ASN.1 string tags and how many bytes a character takes (OpenSSL's
// tag2nbyte; 0 is UTF-8, -1 not a string).
func stringWidth(tag int) int {
	switch tag {
	case asn1.TagUTF8String:
		return 0
	case 18, asn1.TagPrintableString, asn1.TagT61String, asn1.TagIA5String, asn1.TagUTCTime,
		asn1.TagGeneralizedTime, 26:
		return 1
	case 28: // UniversalString
		return 4
	case asn1.TagBMPString:
		return 2
	}
	return -1
}

// appendDN2253 appends a name as X509_NAME_print_ex(..., XN_FLAG_RFC2253):
// RDNs last first, "," between them and "+" inside one, short names,
// values converted to UTF-8 with RFC 2253's escapes and every byte above
// 0x7f as \XX; an unknown attribute's value is "#" and its DER in hex.
func appendDN2253(dst []byte, der []byte) []byte {
	rdns := parseDN(der)
	for i := len(rdns) - 1; i >= 0; i-- {
		// XN_FLAG_DN_REV reverses the attributes one by one, those of a
		// multi-valued RDN too.
		for j := len(rdns[i]) - 1; j >= 0; j-- {
			a := rdns[i][j]
			switch {
			case j < len(rdns[i])-1:
				dst = append(dst, '+')
			case i != len(rdns)-1:
				dst = append(dst, ',')
			}
			sn, known := oidShortNames[a.Type.String()]
			if !known {
				sn = a.Type.String()
			}
			dst = append(dst, sn...)
			dst = append(dst, '=')
			width := stringWidth(a.Value.Tag)
			if !known || a.Value.Class != asn1.ClassUniversal || width < 0 {
				dst = append(dst, '#')
				dst = hex.AppendEncode(dst, a.Value.FullBytes)
				continue
			}
			dst = appendEscaped2253(dst, a.Value.Bytes, width)
		}
	}
	return dst
}

func appendEscaped2253(dst, v []byte, width int) []byte {
	var chars []rune
	switch width {
	case 0:
		for len(v) > 0 {
			r, n := utf8.DecodeRune(v)
			chars, v = append(chars, r), v[n:]
		}
	case 1:
		for _, b := range v {
			chars = append(chars, rune(b))
		}
	case 2:
		u := make([]uint16, 0, len(v)/2)
		for i := 0; i+1 < len(v); i += 2 {
			u = append(u, uint16(v[i])<<8|uint16(v[i+1]))
		}
		chars = utf16.Decode(u)
	case 4:
		for i := 0; i+3 < len(v); i += 4 {
			chars = append(chars, rune(uint32(v[i])<<24|uint32(v[i+1])<<16|uint32(v[i+2])<<8|uint32(v[i+3])))
		}
	}
	var buf [4]byte
	for i, r := range chars {
		n := utf8.EncodeRune(buf[:], r)
		for _, b := range buf[:n] {
			switch {
			case b >= 0x80 || b < 0x20 || b == 0x7f:
				dst = append(dst, '\\')
				dst = append(dst, hexUpper[b>>4], hexUpper[b&15])
			case b == ',' || b == '+' || b == '"' || b == '\\' || b == '<' || b == '>' || b == ';':
				dst = append(dst, '\\', b)
			case b == '#' && i == 0, b == ' ' && (i == 0 || i == len(chars)-1):
				dst = append(dst, '\\', b)
			default:
				dst = append(dst, b)
			}
		}
	}
	return dst
}

const hexUpper = "0123456789ABCDEF"

// appendDNOneline appends a name as X509_NAME_oneline: "/SN=value" for
// each attribute in order ("+SN=value" inside a multi-valued RDN), bytes
// outside ' '..'~' as \xHH.
func appendDNOneline(dst []byte, der []byte) []byte {
	for _, rdn := range parseDN(der) {
		for j, a := range rdn {
			if j > 0 {
				dst = append(dst, '+')
			} else {
				dst = append(dst, '/')
			}
			if sn, ok := oidShortNames[a.Type.String()]; ok {
				dst = append(dst, sn...)
			} else {
				dst = append(dst, a.Type.String()...)
			}
			dst = append(dst, '=')
			v := a.Value.Bytes
			step, keep := 1, 0
			// A GeneralString made of 4-byte characters prints their
			// non-zero bytes only; the other types print every byte.
			if a.Value.Tag == 27 && len(v)%4 == 0 && len(v) > 0 {
				step = 4
				keep = 3
			}
			for j, b := range v {
				if step == 4 && j%4 != keep {
					continue
				}
				if b < ' ' || b > '~' {
					dst = append(dst, '\\', 'x', hexUpper[b>>4], hexUpper[b&15])
				} else {
					dst = append(dst, b)
				}
			}
		}
	}
	return dst
}

// appendSerial appends a serial number as i2a_ASN1_INTEGER: upper-case
// hex in whole bytes, "-" before a negative one, "00" for zero, a
// backslash-newline every 35 bytes.
func appendSerial(dst []byte, n *big.Int) []byte {
	if n.Sign() < 0 {
		dst = append(dst, '-')
	}
	b := new(big.Int).Abs(n).Bytes()
	if len(b) == 0 {
		return append(dst, "00"...)
	}
	for i, c := range b {
		if i > 0 && i%35 == 0 {
			dst = append(dst, '\\', '\n')
		}
		dst = append(dst, hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

var shortMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendASN1Time appends a certificate time as ASN1_TIME_print:
// "Dec  6 09:10:41 2026 GMT".
func appendASN1Time(dst []byte, t time.Time) []byte {
	t = t.UTC()
	dst = append(dst, shortMonths[t.Month()-1]...)
	dst = append(dst, ' ')
	if t.Day() < 10 {
		dst = append(dst, ' ')
	}
	dst = strconv.AppendInt(dst, int64(t.Day()), 10)
	dst = append(dst, ' ')
	dst = append2(dst, t.Hour())
	dst = append(dst, ':')
	dst = append2(dst, t.Minute())
	dst = append(dst, ':')
	dst = append2(dst, t.Second())
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(t.Year()), 10)
	return append(dst, " GMT"...)
}

func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// appendEscapedCert escapes a PEM certificate as ngx_escape_uri with
// NGX_ESCAPE_URI_COMPONENT: all but letters, digits and "-._~" as %XX.
func appendEscapedCert(dst, v []byte) []byte {
	for _, b := range v {
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9',
			b == '-', b == '.', b == '_', b == '~':
			dst = append(dst, b)
		default:
			dst = append(dst, '%', hexUpper[b>>4], hexUpper[b&15])
		}
	}
	return dst
}
