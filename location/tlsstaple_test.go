package location

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testChain makes a CA and a leaf it issued, with the leaf's OCSP URL.
func testChain(t *testing.T, ocspURL string) (ca *x509.Certificate, caKey *ecdsa.PrivateKey, leaf tls.Certificate) {
	t.Helper()
	caKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "leaf"}, OCSPServer: []string{ocspURL},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := x509.ParseCertificate(der)
	return ca, caKey, tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key, Leaf: l}
}

// The first handshake gets no staple and starts a request (GET with the
// request in the path, as nginx sends it); later ones get the response
// until a refresh is due; a revoked status is not stapled.
func TestStapler(t *testing.T) {
	var status atomic.Int32
	var requests atomic.Int32
	var ca *x509.Certificate
	var caKey *ecdsa.PrivateKey
	var leaf tls.Certificate
	responder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		enc, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/"))
		raw, err := base64.StdEncoding.DecodeString(enc)
		if r.Method != "GET" || err != nil {
			http.Error(w, "bad request", 400)
			return
		}
		req, err := ocsp.ParseRequest(raw)
		if err != nil || req.SerialNumber.Cmp(leaf.Leaf.SerialNumber) != 0 {
			http.Error(w, "bad request", 400)
			return
		}
		resp, _ := ocsp.CreateResponse(ca, ca, ocsp.Response{Status: int(status.Load()), SerialNumber: req.SerialNumber,
			ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour), RevokedAt: time.Now().Add(-time.Hour)}, caKey)
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(resp)
	}))
	defer responder.Close()
	ca, caKey, leaf = testChain(t, responder.URL)
	for _, tt := range []struct {
		name   string
		status int
		verify bool
		want   bool
	}{
		{"good", ocsp.Good, false, true},
		{"good, verified", ocsp.Good, true, true},
		{"revoked", ocsp.Revoked, false, false},
	} {
		status.Store(int32(tt.status))
		requests.Store(0)
		log := &lockedLog{}
		ssl := &SSLConfig{Stapling: true, StaplingVerify: tt.verify}
		st, err := newStapler(ssl, &leaf, "leaf.crt", NewLogger(log), nil)
		if err != nil || st == nil {
			t.Fatalf("%s: newStapler: %v, %v", tt.name, st, err)
		}
		if tt.verify {
			st.verify.AddCert(ca)
		}
		if got := st.current(); got != nil {
			t.Errorf("%s: first handshake got a staple", tt.name)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			st.mu.Lock()
			loading := st.loading
			st.mu.Unlock()
			if !loading || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		got := st.current()
		if (got != nil) != tt.want {
			t.Errorf("%s: staple after the response: %v, want %v (log %q)", tt.name, got != nil, tt.want, log.String())
		}
		if got != nil {
			if r, err := ocsp.ParseResponseForCert(got, leaf.Leaf, ca); err != nil || r.Status != tt.status {
				t.Errorf("%s: stapled response %v, %v", tt.name, r, err)
			}
		}
		if !tt.want {
			// nginx names the responder's address once connected.
			u, _ := url.Parse(responder.URL)
			want := "while requesting certificate status, responder: 127.0.0.1, peer: " + u.Host + `, certificate: "leaf.crt"`
			if !strings.Contains(log.String(), want) {
				t.Errorf("%s: log %q, want a line with %q", tt.name, log.String(), want)
			}
		}
		if n := requests.Load(); n != 1 {
			t.Errorf("%s: %d requests to the responder, want 1 (the next is due later)", tt.name, n)
		}
	}
}
