package tlsutil

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A version 1 CRL as "openssl ca -gencrl" writes it without a crlnumber
// (testdata, with its issuer): crypto/x509 refuses it, OpenSSL takes it.
func TestParseCRLVersion1(t *testing.T) {
	read := func(name string) []byte {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(data)
		return b.Bytes
	}
	issuer, err := x509.ParseCertificate(read("v1-issuer.crt"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseCRL(read("v1.crl"))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{string(l.RawIssuer) == string(issuer.RawSubject), l.SignedBy(issuer), len(l.Revoked), l.NextUpdate.After(l.ThisUpdate)}
	if diff := cmp.Diff([]any{true, true, 0, true}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func FuzzParseCRL(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) { ParseCRL(b) })
}
