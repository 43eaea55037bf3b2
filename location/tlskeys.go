package location

import (
	"encoding/pem"
	"strings"

	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// decryptKeyPEM returns a key PEM with its key decrypted: PKCS#8
// "ENCRYPTED PRIVATE KEY" (PBES2, what OpenSSL 3 writes) or a legacy
// "Proc-Type: 4,ENCRYPTED" block. An unencrypted key comes back as is;
// ok is false when no password opens an encrypted one.
func decryptKeyPEM(data []byte, passwords []string) (out []byte, ok bool) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return data, true
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") && tlsutil.Encrypted(b) {
			k, err := tlsutil.DecryptKey(b, passwords)
			if err != nil {
				return nil, false
			}
			return pem.EncodeToMemory(k), true
		}
	}
}
