package tlsutil

import "testing"

// Encrypted key files: no panic on any input.
func FuzzDecryptPKCS8(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00}, "pw")
	f.Fuzz(func(t *testing.T, der []byte, password string) {
		DecryptPKCS8(der, password)
	})
}
