package location

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// captureHello is the first record a Go client with cfg sends.
func captureHello(t testing.TB, cfg *tls.Config) []byte {
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tls.Client(c, cfg).Handshake() // fails once s closes
		c.Close()
	}()
	s.SetDeadline(time.Now().Add(10 * time.Second))
	rec := make([]byte, 5)
	if _, err := io.ReadFull(s, rec); err != nil {
		t.Fatal(err)
	}
	rec = append(rec, make([]byte, int(rec[3])<<8|int(rec[4]))...)
	if _, err := io.ReadFull(s, rec[5:]); err != nil {
		t.Fatal(err)
	}
	return rec
}

// resumingHello is the ClientHello of a Go client holding a TLS 1.2
// session ticket (a session made with a server of the test's).
func resumingHello(t testing.TB) []byte {
	cert := selfSigned(t)
	cache := tls.NewLRUClientSessionCache(1)
	ccfg := &tls.Config{InsecureSkipVerify: true, ServerName: "t", MaxVersion: tls.VersionTLS12, ClientSessionCache: cache}
	c, s := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tls.Server(s, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
		s.Close()
	}()
	if err := tls.Client(c, ccfg).Handshake(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-done
	return captureHello(t, ccfg)
}

func TestOffersTicket(t *testing.T) {
	fresh := captureHello(t, &tls.Config{ServerName: "t"})
	resuming := resumingHello(t)
	type result struct{ Fresh, Resuming, Cut, Plain, Empty bool }
	got := result{offersTicket(fresh), offersTicket(resuming), offersTicket(resuming[:len(resuming)-1]),
		offersTicket([]byte("GET / HTTP/1.1\r\n\r\n")), offersTicket(nil)}
	if d := cmp.Diff(result{Resuming: true}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func FuzzOffersTicket(f *testing.F) {
	f.Add(captureHello(f, &tls.Config{ServerName: "t"}))
	f.Add(resumingHello(f))
	f.Fuzz(func(t *testing.T, rec []byte) {
		offersTicket(rec)
	})
}

// selfSigned is a P-256 certificate for "t".
func selfSigned(t testing.TB) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"t"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
