package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync/atomic"
	"time"
)

// CA is a test certificate authority: it issues server and client certificates and CRLs,
// so that backend TLS cases need no files checked in.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	PEM  string // the CA certificate
}

var serials atomic.Int64

// CertSpec describes a certificate to issue. Zero times mean "valid from an hour ago for a day".
type CertSpec struct {
	CN        string
	DNS       []string
	IPs       []net.IP
	NotBefore time.Time
	NotAfter  time.Time
	Client    bool // extended key usage clientAuth instead of serverAuth
}

// Issued is a certificate with its key, as PEM and as a tls.Certificate.
type Issued struct {
	CertPEM, KeyPEM string
	Serial          *big.Int
	TLS             tls.Certificate
}

// NewCA makes a self-signed root named cn.
func NewCA(cn string) *CA {
	ca, _ := newCA(cn, nil)
	return ca
}

// Intermediate makes a CA signed by ca.
func (ca *CA) Intermediate(cn string) *CA {
	sub, _ := newCA(cn, ca)
	return sub
}

func newCA(cn string, parent *CA) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serials.Add(1)),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{Cert: cert, Key: key, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}, nil
}

// Issue signs a leaf certificate described by spec.
func (ca *CA) Issue(spec CertSpec) Issued {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	nb, na := spec.NotBefore, spec.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = time.Now().Add(24 * time.Hour)
	}
	usage := x509.ExtKeyUsageServerAuth
	if spec.Client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serials.Add(1)),
		Subject:      pkix.Name{CommonName: spec.CN},
		DNSNames:     spec.DNS,
		IPAddresses:  spec.IPs,
		NotBefore:    nb,
		NotAfter:     na,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	out := Issued{
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		Serial:  tmpl.SerialNumber,
	}
	out.TLS, _ = tls.X509KeyPair([]byte(out.CertPEM), []byte(out.KeyPEM))
	return out
}

// CRL is a revocation list signed by ca naming serials, valid from an hour ago for a day.
func (ca *CA) CRL(serials ...*big.Int) string {
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, _ := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(1),
		ThisUpdate:                time.Now().Add(-time.Hour),
		NextUpdate:                time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

// TLS is the CA's own certificate and key, for a backend that presents a self-signed
// certificate.
func (ca *CA) TLS() tls.Certificate {
	keyDER, _ := x509.MarshalPKCS8PrivateKey(ca.Key)
	c, _ := tls.X509KeyPair([]byte(ca.PEM), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return c
}
