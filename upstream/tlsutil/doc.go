// Package tlsutil owns the TLS pieces the server side (location:
// ssl_certificate_key, ssl_protocols) and the backend side (upstream:
// proxy_ssl_certificate_key, proxy_ssl_protocols) read the same way, as
// OpenSSL 3 does: encrypted private keys (PKCS #8 with PBES2, and legacy
// "Proc-Type: 4,ENCRYPTED" PEM) opened with a password file's lines, and
// the version range a list of protocol names enables.
package tlsutil
