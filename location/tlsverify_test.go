package location

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream/tlsutil"
	"github.com/google/go-cmp/cmp"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var testSerial int64

func issueTest(t *testing.T, parent *testCA, tmpl *x509.Certificate) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	testSerial++
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(testSerial)
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{c, key}
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
}

func leafTemplate(cn string, eku x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{eku}}
}

func testCRL(t *testing.T, ca *testCA, revoked ...*big.Int) *tlsutil.CRL {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now()})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: entries}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tlsutil.ParseCRL(der)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// The verify results OpenSSL 3.0 gives with nginx's callback (the last
// error met), checked against "openssl verify" for the first of each.
func TestClientVerifyCodes(t *testing.T) {
	root := issueTest(t, nil, caTemplate("root"))
	inter := issueTest(t, root, caTemplate("inter"))
	other := issueTest(t, nil, caTemplate("other"))
	good := issueTest(t, root, leafTemplate("good", x509.ExtKeyUsageClientAuth))
	viaInter := issueTest(t, inter, leafTemplate("via inter", x509.ExtKeyUsageClientAuth))
	serverOnly := issueTest(t, root, leafTemplate("server", x509.ExtKeyUsageServerAuth))
	expiredTmpl := leafTemplate("expired", x509.ExtKeyUsageClientAuth)
	expiredTmpl.NotBefore, expiredTmpl.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	expired := issueTest(t, root, expiredTmpl)
	foreign := issueTest(t, other, leafTemplate("foreign", x509.ExtKeyUsageClientAuth))
	self := issueTest(t, nil, leafTemplate("self", x509.ExtKeyUsageClientAuth))

	store := []*x509.Certificate{root.cert}
	tests := []struct {
		name  string
		v     clientVerifier
		chain []*testCA
		want  int
	}{
		{"good", clientVerifier{depth: 1, store: store}, []*testCA{good}, x509OK},
		{"chain sent", clientVerifier{depth: 1, store: store}, []*testCA{viaInter, inter}, x509OK},
		{"chain too long", clientVerifier{depth: 0, store: store}, []*testCA{viaInter, inter}, x509ChainTooLong},
		{"intermediate not sent", clientVerifier{depth: 1, store: store}, []*testCA{viaInter}, x509CannotVerifyLeaf},
		{"intermediate trusted", clientVerifier{depth: 1, store: []*x509.Certificate{inter.cert}}, []*testCA{viaInter}, x509NoIssuer},
		{"foreign", clientVerifier{depth: 1, store: store}, []*testCA{foreign}, x509CannotVerifyLeaf},
		{"foreign with its root", clientVerifier{depth: 1, store: store}, []*testCA{foreign, other}, x509SelfSignedInChain},
		{"self-signed", clientVerifier{depth: 1, store: store}, []*testCA{self}, x509DepthZeroSelfSigned},
		{"self-signed trusted", clientVerifier{depth: 1, store: []*x509.Certificate{self.cert}}, []*testCA{self}, x509OK},
		{"expired", clientVerifier{depth: 1, store: store}, []*testCA{expired}, x509Expired},
		{"server purpose", clientVerifier{depth: 1, store: store}, []*testCA{serverOnly}, x509InvalidPurpose},
		{"crl", clientVerifier{depth: 1, store: store, crl: true, crls: []*tlsutil.CRL{testCRL(t, root)}}, []*testCA{good}, x509OK},
		{"revoked", clientVerifier{depth: 1, store: store, crl: true, crls: []*tlsutil.CRL{testCRL(t, root, good.cert.SerialNumber)}}, []*testCA{good}, x509Revoked},
		{"no crl of the intermediate", clientVerifier{depth: 2, store: store, crl: true, crls: []*tlsutil.CRL{testCRL(t, root)}}, []*testCA{viaInter, inter}, x509NoCRL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var chain []*x509.Certificate
			for _, c := range tt.chain {
				chain = append(chain, c.cert)
			}
			got, _ := tt.v.verify(chain, time.Now())
			if diff := cmp.Diff(x509ErrorText(tt.want), x509ErrorText(got)); diff != "" {
				t.Errorf("verify (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDNForms(t *testing.T) {
	name := pkix.Name{
		Country:      []string{"DE"},
		Organization: []string{"A+B;C"},
		CommonName:   "#x é",
		ExtraNames:   []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: "example"}},
	}
	der, err := asn1.Marshal(name.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	got := []string{string(appendDN2253(nil, der)), string(appendDNOneline(nil, der))}
	want := []string{`DC=example,CN=\#x \C3\A9,O=A\+B\;C,C=DE`, `/C=DE/O=A+B;C/CN=#x \xC3\xA9/DC=example`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestCertFieldForms(t *testing.T) {
	tests := []struct{ got, want string }{
		{string(appendSerial(nil, big.NewInt(0x1000))), "1000"},
		{string(appendSerial(nil, big.NewInt(0))), "00"},
		{string(appendSerial(nil, big.NewInt(-255))), "-FF"},
		{string(appendASN1Time(nil, time.Date(2026, 12, 6, 9, 5, 1, 0, time.UTC))), "Dec  6 09:05:01 2026 GMT"},
		{string(appendASN1Time(nil, time.Date(2030, 1, 16, 23, 0, 0, 0, time.UTC))), "Jan 16 23:00:00 2030 GMT"},
		{string(appendEscapedCert(nil, []byte("-----BEGIN x+/=\n"))), "-----BEGIN%20x%2B%2F%3D%0A"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

func FuzzParseDN(f *testing.F) {
	der, _ := asn1.Marshal(pkix.Name{CommonName: "x", Organization: []string{"y"}}.ToRDNSequence())
	f.Add(der)
	f.Fuzz(func(t *testing.T, b []byte) {
		appendDN2253(nil, b)
		appendDNOneline(nil, b)
		tlsutil.ParseCRL(b)
	})
}

func TestSessionCache(t *testing.T) {
	parse := func(args ...string) sessionCacheConf {
		return parseSessionCache(&nginxconf.Directive{Name: "ssl_session_cache", Args: args})
	}
	got := []sessionCacheConf{parse("off"), parse("none"), parse("builtin"), parse("builtin:1000", "shared:SSL:1m")}
	want := []sessionCacheConf{{}, {}, {builtin: 20480}, {builtin: 1000, sharedName: "SSL", sharedSize: 1 << 20}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(sessionCacheConf{})); diff != "" {
		t.Errorf("parseSessionCache (-want +got):\n%s", diff)
	}
	c := newSessionCache(2)
	c.put("a", []byte("1"), 1)
	c.put("b", []byte("2"), 2)
	c.put("c", []byte("3"), 3) // evicts the oldest
	var kept []string
	for _, id := range []string{"a", "b", "c"} {
		if _, ok := c.get(id); ok {
			kept = append(kept, id)
		}
	}
	if diff := cmp.Diff([]string{"b", "c"}, kept); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
}

func TestSessionCreatedAt(t *testing.T) {
	state := []byte{0x03, 0x03, 1, 0xc0, 0x2f, 0, 0, 0, 0, 0x69, 0x33, 0x8a, 0x40, 1, 'x'}
	got := []int64{sessionCreatedAt(state), sessionCreatedAt(state[:12])}
	if diff := cmp.Diff([]int64{0x69338a40, -1}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !sessionExpired(-1, 0, time.Hour) || sessionExpired(100, 100, 0) || !sessionExpired(100, 101, 0) {
		t.Error("sessionExpired: a session is kept through the second its timeout ends, never without a time")
	}
}
