package tlsutil

import "strings"

// CipherElems splits an OpenSSL cipher string (ssl_ciphers,
// proxy_ssl_ciphers) into its elements at the separators OpenSSL's
// ssl_create_cipher_list accepts: ':', ',', ' ' and ';'.
func CipherElems(list string) []string {
	return strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' || r == ';' })
}

// CipherInvalidCommand reports whether OpenSSL's ssl_cipher_process_rulestr
// stops the whole list with "invalid command": an element (after one of
// the operators - + ! @) or a part after a '+' that does not start with a
// letter, a digit or one of "-_.=".
func CipherInvalidCommand(list string) bool {
	word := func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '='
	}
	for _, e := range CipherElems(list) {
		if e[0] == '-' || e[0] == '+' || e[0] == '!' || e[0] == '@' {
			e = e[1:]
		}
		for {
			n := 0
			for n < len(e) && word(e[n]) {
				n++
			}
			if n == 0 {
				return true
			}
			if n == len(e) || e[n] != '+' {
				break
			}
			e = e[n+1:]
		}
	}
	return false
}
