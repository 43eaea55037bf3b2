package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// startTLSBench serves the bench's TLS listener (an ECDSA P-256
// certificate, nginx's default protocols and session tickets; one
// connection lasts a keep-alive benchmark's run) and returns its
// address.
func startTLSBench(b *testing.B) string {
	dir := b.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench.test"},
		DNSNames: []string{"bench.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	path := filepath.Join(dir, "nginx.conf")
	conf := "events {}\nhttp {\naccess_log off;\nkeepalive_requests 1000000000;\nserver { listen " + addr + " ssl http2; ssl_certificate cert.pem; " +
		"ssl_certificate_key key.pem; location / { return 200 \"ok\\n\"; } }\n}\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := nginxconf.Load(path, nginxconf.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := Start(cfg, StartOptions{ErrorLog: io.Discard, Listeners: map[string]net.Listener{addr: ln}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return addr
}

// BenchmarkTLSHandshake is the bench's tls-full and tls-resumed rows in
// one process: a client connects, handshakes and closes. Allocations
// count the client's too.
func BenchmarkTLSHandshake(b *testing.B) {
	for _, resume := range []bool{false, true} {
		name := "full"
		if resume {
			name = "resumed"
		}
		b.Run(name, func(b *testing.B) {
			addr := startTLSBench(b)
			cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "bench.test"}
			if resume {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			}
			handshake := func() {
				c, err := tls.Dial("tcp", addr, cfg)
				if err != nil {
					b.Fatal(err)
				}
				if c.ConnectionState().DidResume != resume {
					b.Fatalf("resumed: %v", !resume)
				}
				c.Close()
			}
			if resume {
				c, err := tls.Dial("tcp", addr, cfg)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			b.ReportAllocs()
			for b.Loop() {
				handshake()
			}
		})
	}
}
