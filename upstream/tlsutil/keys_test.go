package tlsutil

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// encryptPKCS8 writes der as OpenSSL 3's "openssl pkcs8 -topk8 -v2
// aes-256-cbc -v2prf hmacWithSHA384" does, with scheme in place of PBES2
// when it is set.
func encryptPKCS8(t *testing.T, der []byte, password string, scheme asn1.ObjectIdentifier) []byte {
	t.Helper()
	salt, iv := make([]byte, 16), make([]byte, aes.BlockSize)
	rand.Read(salt)
	rand.Read(iv)
	key, err := pbkdf2.Key(sha512.New384, password, salt, 2048, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	pad := aes.BlockSize - len(der)%aes.BlockSize
	plain := append(append([]byte(nil), der...), make([]byte, pad)...)
	for i := len(der); i < len(plain); i++ {
		plain[i] = byte(pad)
	}
	data := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(data, plain)
	raw := func(v any) asn1.RawValue {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return asn1.RawValue{FullBytes: b}
	}
	kdf := pbkdf2Params{Salt: salt, IterationCount: 2048, PRF: algorithmIdentifier{Algorithm: oidHMACSHA384, Parameters: asn1.NullRawValue}}
	params := pbes2Params{
		KeyDerivationFunc: algorithmIdentifier{Algorithm: oidPBKDF2, Parameters: raw(kdf)},
		EncryptionScheme:  algorithmIdentifier{Algorithm: oidAES256CBC, Parameters: raw(iv)},
	}
	if scheme == nil {
		scheme = oidPBES2
	}
	out, err := asn1.Marshal(encryptedPrivateKeyInfo{Algorithm: algorithmIdentifier{Algorithm: scheme, Parameters: raw(params)}, EncryptedData: data})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecryptKey(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	enc := &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: encryptPKCS8(t, der, "secret", nil)}
	unsupported := &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: encryptPKCS8(t, der, "secret", asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 3})}
	plain := &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	tests := []struct {
		name      string
		block     *pem.Block
		passwords []string
		want      *pem.Block
		wantErr   error
	}{
		{"second password opens it", enc, []string{"wrong", "secret"}, plain, nil},
		{"no password opens it", enc, []string{"wrong"}, nil, ErrBadDecrypt},
		{"no password", enc, nil, nil, ErrBadDecrypt},
		{"pbes1", unsupported, []string{"secret"}, nil, ErrUnsupported},
		{"not encrypted", plain, nil, plain, nil},
	}
	for _, tt := range tests {
		if got := Encrypted(tt.block); got != (tt.block != plain) {
			t.Errorf("%s: Encrypted = %v", tt.name, got)
		}
		got, err := DecryptKey(tt.block, tt.passwords)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.wantErr)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: key (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestProtocolRange(t *testing.T) {
	tests := []struct {
		names          []string
		lowest         uint16
		wantLo, wantHi uint16
	}{
		{[]string{"TLSv1", "TLSv1.1", "TLSv1.2"}, tls.VersionTLS10, tls.VersionTLS10, tls.VersionTLS12},
		{[]string{"TLSv1", "TLSv1.1", "TLSv1.2"}, tls.VersionTLS12, tls.VersionTLS12, tls.VersionTLS12},
		{[]string{"TLSv1.3", "TLSv1"}, tls.VersionTLS10, tls.VersionTLS10, tls.VersionTLS13},
		{[]string{"SSLv3", "SSLv2"}, tls.VersionTLS10, 0, 0},
		{[]string{"TLSv1"}, tls.VersionTLS12, 0, 0},
	}
	for _, tt := range tests {
		lo, hi := ProtocolRange(tt.names, tt.lowest)
		if diff := cmp.Diff([2]uint16{tt.wantLo, tt.wantHi}, [2]uint16{lo, hi}); diff != "" {
			t.Errorf("%q from %#x (-want +got):\n%s", tt.names, tt.lowest, diff)
		}
	}
}
