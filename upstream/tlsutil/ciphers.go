package tlsutil

import "strings"

// CipherElems splits an OpenSSL cipher string (ssl_ciphers,
// proxy_ssl_ciphers) into its elements at the separators OpenSSL's
// ssl_create_cipher_list accepts: ':', ',', ' ' and ';'.
func CipherElems(list string) []string {
	return strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' || r == ';' })
}
