package location

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeTestCert writes a throwaway self-signed cert.pem/key.pem for
// localhost into dir.
func writeTestCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
}

func TestCertErrors(t *testing.T) {
	dir := t.TempDir()
	writeTestCert(t, dir)
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("junk\n"), 0o644)
	tests := []struct{ name, cert, key, want string }{
		{"missing cert", "/nonexist.pem", dir + "/key.pem", `cannot load certificate "/nonexist.pem": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(/nonexist.pem, r) error:10000080:BIO routines::no such file)`},
		{"missing key", dir + "/cert.pem", "/nonexist.key", `cannot load certificate key "/nonexist.key": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(/nonexist.key, r) error:10000080:BIO routines::no such file)`},
		{"junk cert", dir + "/junk.pem", dir + "/key.pem", `cannot load certificate "D/junk.pem": PEM_read_bio_X509_AUX() failed (SSL: error:0480006C:PEM routines::no start line:Expecting: TRUSTED CERTIFICATE)`},
		{"junk key", dir + "/cert.pem", dir + "/junk.pem", `cannot load certificate key "D/junk.pem": PEM_read_bio_PrivateKey() failed (SSL: error:1E08010C:DECODER routines::unsupported:No supported data to decode. Input type: PEM)`},
		{"ok", dir + "/cert.pem", dir + "/key.pem", `<nil>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConf(t, "server { listen 127.0.0.1:19050 ssl; ssl_certificate "+tt.cert+"; ssl_certificate_key "+tt.key+"; }")
			_, err := Compile(cfg, Options{LoadCerts: true})
			got := "<nil>"
			if err != nil {
				got = strings.ReplaceAll(err.Error(), dir, "D")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTLSServes(t *testing.T) {
	dir := t.TempDir()
	writeTestCert(t, dir)
	ts := startTest(t, `server { listen 127.0.0.1:PORT ssl; server_name localhost; ssl_certificate `+dir+`/cert.pem; ssl_certificate_key `+dir+`/key.pem; location / { return 200 "tls $scheme"; } }`)
	c, err := tls.Dial("tcp", ts.addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte(get("/")))
	buf := make([]byte, 4096)
	var out []byte
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	if !strings.HasSuffix(string(out), "tls https") {
		t.Fatalf("got %q", out)
	}
}

// TestCipherListOK: nginx 1.22 with Debian's OpenSSL 3 accepted the ok
// lists and refused the others ("no cipher match").
func TestCipherListOK(t *testing.T) {
	ok := []string{"HIGH:!aNULL:!MD5", "EECDH+AESGCM:EDH+AESGCM", "FOO:AES128-SHA", "DEFAULT@SECLEVEL=0",
		"DHE-RSA-AES128-SHA:@STRENGTH", "MD5", "ECDHE-RSA-AES128-GCM-SHA256,AES256-SHA"}
	refused := []string{"NOSUCHCIPHER", "NOSUCH-CIPHER", "RC4", "LOW", "MEDIUM", "3DES", "TLS_AES_128_GCM_SHA256",
		"kEECDH+FOO", "!ALL", "HIGH:-HIGH", "+HIGH", "AES:!ALL:AES", "ALL:-ALL"}
	tests := map[string]bool{}
	for _, l := range ok {
		tests[l] = true
	}
	for _, l := range refused {
		tests[l] = false
	}
	for list, want := range tests {
		if diff := cmp.Diff(want, cipherListOK(list)); diff != "" {
			t.Errorf("cipherListOK(%q): (-want +got)\n%s", list, diff)
		}
	}
}
