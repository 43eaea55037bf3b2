package location

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTicketSealer(t *testing.T) {
	oldKey, newKey := [32]byte{1}, [32]byte{2}
	state := []byte("a session's bytes")
	sealed := newTicketSealer([][32]byte{oldKey}, time.Minute).seal(state)
	rotated := newTicketSealer([][32]byte{newKey, oldKey}, time.Minute)
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-40] ^= 1
	type result struct {
		State   string
		Primary bool
	}
	open := func(s *ticketSealer, ticket []byte) result {
		st, primary := s.open(ticket)
		return result{string(st), primary}
	}
	for _, tt := range []struct {
		name string
		got  result
		want result
	}{
		{"own key", open(newTicketSealer([][32]byte{oldKey}, time.Minute), sealed), result{string(state), true}},
		{"older key opens, renewed", open(rotated, sealed), result{string(state), false}},
		{"first key's", open(rotated, rotated.seal(state)), result{string(state), true}},
		{"unknown key", open(newTicketSealer([][32]byte{newKey}, time.Minute), sealed), result{}},
		{"tampered", open(rotated, tampered), result{}},
		{"short", open(rotated, sealed[:40]), result{}},
	} {
		if d := cmp.Diff(tt.want, tt.got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
	if bytes.Equal(sealed[16:32], rotated.seal(state)[16:32]) {
		t.Error("two tickets share an IV")
	}
}

// TestKeepTicket: a TLS 1.2 client that resumes by a ticket of the first
// key gets that ticket again (OpenSSL renews none); TLS 1.3 gets new
// ones, and so does a ticket of an older key.
func TestKeepTicket(t *testing.T) {
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
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	oldKey, newKey := [32]byte{1}, [32]byte{2}
	// handshake runs one connection and returns the ticket the client
	// holds after it and whether it resumed.
	handshake := func(version uint16, keys [][32]byte, cache tls.ClientSessionCache) (ticket []byte, resumed bool) {
		sealer := newTicketSealer(keys, time.Minute)
		scfg := &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: version}
		sealer.keepTicket(scfg)
		var got []byte
		ccfg := &tls.Config{InsecureSkipVerify: true, ServerName: "t", MaxVersion: version, ClientSessionCache: cache}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		done := make(chan error, 1)
		go func() {
			s, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			s.SetDeadline(time.Now().Add(10 * time.Second))
			srv := tls.Server(s, scfg)
			err = srv.Handshake()
			if err == nil && version == tls.VersionTLS13 {
				// TLS 1.3 tickets follow the handshake: the client reads them with data.
				_, err = srv.Write([]byte("x"))
			}
			done <- err
			s.Close()
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		cl := tls.Client(c, ccfg)
		if err := cl.Handshake(); err != nil {
			t.Fatal(err)
		}
		if version == tls.VersionTLS13 {
			cl.Read(make([]byte, 1))
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		resumed = cl.ConnectionState().DidResume
		cl.Close()
		if cs, ok := cache.Get("t"); ok {
			got, _, _ = cs.ResumptionState()
		}
		return got, resumed
	}
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cache := tls.NewLRUClientSessionCache(1)
		first, _ := handshake(version, [][32]byte{oldKey}, cache)
		again, resumed := handshake(version, [][32]byte{oldKey}, cache)
		if !resumed || bytes.Equal(first, again) != (version == tls.VersionTLS12) {
			t.Errorf("version %x: resumed %v, same ticket %v", version, resumed, bytes.Equal(first, again))
		}
		renewed, resumed := handshake(version, [][32]byte{newKey, oldKey}, cache)
		if !resumed || bytes.Equal(again, renewed) {
			t.Errorf("version %x, older key: resumed %v, same ticket %v", version, resumed, bytes.Equal(again, renewed))
		}
	}
}

// ctrXOR is cipher.NewCTR's stream: every length around the block size,
// and a counter that carries through all its bytes.
func TestCTRXORIsCTR(t *testing.T) {
	block, err := aes.NewCipher(bytes.Repeat([]byte{7}, 16))
	if err != nil {
		t.Fatal(err)
	}
	src := make([]byte, 70)
	for i := range src {
		src[i] = byte(i * 31)
	}
	for _, iv := range [][]byte{bytes.Repeat([]byte{0xff}, 16), append(bytes.Repeat([]byte{1}, 15), 0xfe)} {
		for n := 0; n <= len(src); n++ {
			want := make([]byte, n)
			cipher.NewCTR(block, iv).XORKeyStream(want, src[:n])
			got := make([]byte, n)
			ctrXOR(block, iv, got, src[:n])
			if !bytes.Equal(got, want) {
				t.Fatalf("iv %x, %d bytes: %x, want %x", iv, n, got, want)
			}
		}
	}
}
