package tlsutil

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"hash"
)

var (
	// ErrUnsupported is a PKCS #8 encryption other than PBES2 with
	// PBKDF2 (HMAC-SHA1/256/384/512) and AES-CBC, which OpenSSL may read
	// but this package does not.
	ErrUnsupported = errors.New("unsupported PKCS #8 encryption")
	// ErrBadDecrypt is a key no password opens (OpenSSL's "bad decrypt").
	ErrBadDecrypt = errors.New("bad decrypt")
)

// Encrypted reports whether b is an encrypted private key DecryptKey
// opens: PKCS #8 "ENCRYPTED PRIVATE KEY" or a legacy encrypted PEM block.
func Encrypted(b *pem.Block) bool {
	return b.Type == "ENCRYPTED PRIVATE KEY" || x509.IsEncryptedPEMBlock(b) //nolint:staticcheck // nginx reads legacy encrypted PEM keys
}

// DecryptKey opens the encrypted key b with each password in turn, as
// nginx tries the lines of ssl_password_file: a PKCS #8 key comes back as
// "PRIVATE KEY", a legacy one with its type. A block that is not
// encrypted comes back as it is. For PKCS #8 the error is the last
// password's (ErrUnsupported whatever the password); for a legacy block,
// and when there is no password, ErrBadDecrypt.
func DecryptKey(b *pem.Block, passwords []string) (*pem.Block, error) {
	switch {
	case b.Type == "ENCRYPTED PRIVATE KEY":
		err := ErrBadDecrypt
		for _, pw := range passwords {
			var der []byte
			if der, err = DecryptPKCS8(b.Bytes, pw); err == nil {
				return &pem.Block{Type: "PRIVATE KEY", Bytes: der}, nil
			}
		}
		return nil, err
	case x509.IsEncryptedPEMBlock(b): //nolint:staticcheck // nginx reads legacy encrypted PEM keys
		for _, pw := range passwords {
			if der, err := x509.DecryptPEMBlock(b, []byte(pw)); err == nil { //nolint:staticcheck
				return &pem.Block{Type: b.Type, Bytes: der}, nil
			}
		}
		return nil, ErrBadDecrypt
	}
	return b, nil
}

// An "ENCRYPTED PRIVATE KEY" (PKCS #8, RFC 5958) with PBES2, the form
// OpenSSL 3 writes ("openssl genrsa -aes128", "openssl pkcs8 -topk8"):
// PBKDF2 with an HMAC-SHA PRF, then AES-CBC.

type encryptedPrivateKeyInfo struct {
	Algorithm     algorithmIdentifier
	EncryptedData []byte
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type pbes2Params struct {
	KeyDerivationFunc algorithmIdentifier
	EncryptionScheme  algorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                 `asn1:"optional"`
	PRF            algorithmIdentifier `asn1:"optional"`
}

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// DecryptPKCS8 returns the PKCS #8 PrivateKeyInfo inside der, encrypted
// with password. A result that does not parse as a key is ErrBadDecrypt:
// a wrong password passes the padding check one time in 256 or so.
func DecryptPKCS8(der []byte, password string) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, err
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, ErrUnsupported
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		return nil, err
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, ErrUnsupported
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, err
	}
	var prf func() hash.Hash
	switch p := kdf.PRF.Algorithm; {
	case len(p) == 0 || p.Equal(oidHMACSHA1):
		prf = sha1.New
	case p.Equal(oidHMACSHA256):
		prf = sha256.New
	case p.Equal(oidHMACSHA384):
		prf = sha512.New384
	case p.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, ErrUnsupported
	}
	var keyLen int
	switch e := params.EncryptionScheme.Algorithm; {
	case e.Equal(oidAES128CBC):
		keyLen = 16
	case e.Equal(oidAES192CBC):
		keyLen = 24
	case e.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, ErrUnsupported
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		return nil, err
	}
	key, err := pbkdf2.Key(prf, password, kdf.Salt, kdf.IterationCount, keyLen)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	data := info.EncryptedData
	if len(iv) != block.BlockSize() || len(data) == 0 || len(data)%block.BlockSize() != 0 {
		return nil, ErrBadDecrypt
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, data)
	// PKCS #7 padding; a wrong password shows here (or in the parse).
	pad := int(out[len(out)-1])
	if pad == 0 || pad > block.BlockSize() {
		return nil, ErrBadDecrypt
	}
	for _, b := range out[len(out)-pad:] {
		if int(b) != pad {
			return nil, ErrBadDecrypt
		}
	}
	out = out[:len(out)-pad]
	if _, err := x509.ParsePKCS8PrivateKey(out); err != nil {
		return nil, ErrBadDecrypt
	}
	return out, nil
}
