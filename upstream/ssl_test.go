package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// X509_check_host(cert, name, 0, 0) as OpenSSL 3 answers it.
func TestMatchHost(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"backend.test", "backend.test", true},
		{"Backend.TEST", "backend.test", true},
		{"backend.test", "other.test", false},
		{"*.wild.test", "a.wild.test", true},
		{"*.wild.test", "wild.test", false},
		{"*.wild.test", "a.b.wild.test", false},
		{"f*.wild.test", "foo.wild.test", true},
		{"f*.wild.test", "bar.wild.test", false},
		{"*o.wild.test", "foo.wild.test", true},
		{"*.test", "a.test", false}, // at least two labels after the wildcard
		{"a.*.test", "a.b.test", false},
		{"backend.test.", "backend.test", true},
		{"127.0.0.1", "127.0.0.1", true}, // DNS names compare as text
	}
	for _, tt := range tests {
		if got := matchPattern(tt.pattern, tt.name); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
	// The common name counts only without DNS subjectAltNames.
	cnOnly := &x509.Certificate{Subject: pkix.Name{CommonName: "backend.test"}}
	withSAN := &x509.Certificate{Subject: pkix.Name{CommonName: "backend.test"}, DNSNames: []string{"other.test"}}
	cnOnly.Subject.Names = []pkix.AttributeTypeAndValue{{Type: []int{2, 5, 4, 3}, Value: "backend.test"}}
	withSAN.Subject.Names = cnOnly.Subject.Names
	if !matchHost(cnOnly, "backend.test") {
		t.Error("common name without SANs: no match")
	}
	if matchHost(withSAN, "backend.test") {
		t.Error("common name with a DNS SAN: matched")
	}
}

func TestOpenSSLCiphers(t *testing.T) {
	name := func(ids []uint16) []string {
		var out []string
		for _, id := range ids {
			out = append(out, tls.CipherSuiteName(id))
		}
		return out
	}
	tests := []struct {
		spec    string
		want    []string
		sec0    bool
		wantErr string
	}{
		{spec: "ECDHE-RSA-AES128-GCM-SHA256", want: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}},
		{spec: "ECDHE+AES128:!SHA1:!SHA256", want: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}},
		{spec: "AESGCM+ECDSA", want: []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}},
		{spec: "CHACHA20:@SECLEVEL=0", want: []string{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"}, sec0: true},
		{spec: "!kRSA:kRSA+AES128+SHA1:ECDHE-RSA-AES256-SHA", want: []string{"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"}},
		{spec: "3DES", want: []string{"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"}},
		{spec: "FOO", wantErr: "no cipher match"},
		{spec: "DHE-RSA-AES128-GCM-SHA256", wantErr: `cipher "DHE-RSA-AES128-GCM-SHA256" in "proxy_ssl_ciphers" is not supported by gonginx`},
		{spec: "kDHE", wantErr: `selects only ciphers gonginx does not support`},
	}
	for _, tt := range tests {
		got, sec0, err := opensslCiphers(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.spec, err)
			continue
		}
		if diff := cmp.Diff(tt.want, name(got)); diff != "" || sec0 != tt.sec0 {
			t.Errorf("%q (-want +got):\n%s sec0 %v", tt.spec, diff, sec0)
		}
	}
	// DEFAULT is every suite Go has but 3DES.
	def, _, _ := opensslCiphers("DEFAULT")
	for _, id := range def {
		if strings.Contains(tls.CipherSuiteName(id), "3DES") {
			t.Errorf("DEFAULT has %s", tls.CipherSuiteName(id))
		}
	}
	if len(def) != 17 {
		t.Errorf("DEFAULT: %d suites, want 17: %v", len(def), name(def))
	}
}

func TestProtocolRange(t *testing.T) {
	tests := []struct {
		args   string
		lo, hi uint16
	}{
		{"TLSv1 TLSv1.1 TLSv1.2", tls.VersionTLS10, tls.VersionTLS12},
		{"TLSv1.3", tls.VersionTLS13, tls.VersionTLS13},
		{"TLSv1.2 TLSv1.3", tls.VersionTLS12, tls.VersionTLS13},
		{"SSLv3", tls.VersionTLS13, tls.VersionTLS12}, // nothing usable
	}
	for _, tt := range tests {
		lo, hi := protocolRange(strings.Fields(tt.args))
		if lo != tt.lo || hi != tt.hi {
			t.Errorf("%q: %x-%x, want %x-%x", tt.args, lo, hi, tt.lo, tt.hi)
		}
	}
}

func TestCompileTLSErrors(t *testing.T) {
	tests := []struct {
		conf string
		want string
	}{
		{"proxy_ssl_verify on;", "no proxy_ssl_trusted_certificate for proxy_ssl_verify"},
		{"proxy_ssl_certificate c.pem;", `no "proxy_ssl_certificate_key" is defined for certificate "c.pem"`},
		{"proxy_ssl_ciphers DHE-RSA-AES128-SHA;", `is not supported by gonginx in /test.conf:1`},
		{"proxy_ssl_verify_depth x;", `"proxy_ssl_verify_depth" directive invalid number in /test.conf:1`},
	}
	for _, tt := range tests {
		_, err := compileTLS("proxy", [][]*nginxconfDirective{parseConf(t, tt.conf)}, t.TempDir(), newCompiler())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.conf, err, tt.want)
		}
		var p positionless
		if strings.Contains(tt.want, " in /test.conf") == errors.As(err, &p) {
			t.Errorf("%s: positionless = %v", tt.conf, !errors.As(err, &p))
		}
	}
}

// An "ENCRYPTED PRIVATE KEY" as OpenSSL 3 writes it (PBES2, PBKDF2 with
// HMAC-SHA256, AES-128-CBC), unlocked by the password file's lines in turn.
func TestClientCertEncryptedPKCS8(t *testing.T) {
	d := parseConf(t, "proxy_ssl_certificate_key testdata/pkcs8-enc.key;")[0]
	if _, err := loadClientCert(d, "testdata/pkcs8-enc.crt", "testdata/pkcs8-enc.key", []string{"wrong", "secret"}); err != nil {
		t.Fatalf("right password second: %v", err)
	}
	_, err := loadClientCert(d, "testdata/pkcs8-enc.crt", "testdata/pkcs8-enc.key", []string{"wrong"})
	if err == nil || !strings.Contains(err.Error(), "bad decrypt") {
		t.Fatalf("wrong password: %v", err)
	}
}
