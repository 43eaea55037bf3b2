package difftest

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
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const procTicketsConf = `daemon off;
worker_processes 2;
pid DIR/nginx.pid;
error_log DIR/error.log;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:PORT ssl;
        ssl_certificate DIR/cert.pem;
        ssl_certificate_key DIR/key.pem;
        return 200 "r=$ssl_session_reused\n";
    }
}
`

// TestProcessTicketsAcrossWorkers: the workers share the session ticket
// keys (nginx's are the master's), so every connection after the first
// resumes, whichever worker accepts it.
func TestProcessTicketsAcrossWorkers(t *testing.T) {
	requireRoot(t)
	got := map[string]int{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tickets.test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		kder, _ := x509.MarshalPKCS8PrivateKey(key)
		os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
		os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, procTicketsConf, port)
		waitUntil(t, im.name+" 2 workers", func() bool { return len(children(m.pid())) == 2 })
		cfg := &tls.Config{InsecureSkipVerify: true, ClientSessionCache: tls.NewLRUClientSessionCache(1)}
		for i := 0; i < 40; i++ {
			c, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), cfg)
			if err != nil {
				t.Fatalf("%s: %v", im.name, err)
			}
			if c.ConnectionState().DidResume {
				got[im.name]++
			}
			c.Close()
		}
		m.quit()
	}
	if diff := cmp.Diff(map[string]int{"nginx": 39, "gonginx": 39}, got); diff != "" {
		t.Errorf("resumed connections of 40 (-want +got):\n%s", diff)
	}
}
