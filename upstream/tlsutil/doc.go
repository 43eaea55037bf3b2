// Package tlsutil owns the TLS pieces the server side (location:
// ssl_certificate_key, ssl_protocols) and the backend side (upstream:
// proxy_ssl_certificate_key, proxy_ssl_protocols) read the same way, as
// OpenSSL 3 does: encrypted private keys (PKCS #8 with PBES2, and legacy
// "Proc-Type: 4,ENCRYPTED" PEM) opened with a password file's lines,
// the version range a list of protocol names enables, and the elements of
// a cipher string. Each side keeps its own cipher-string evaluation: the
// server's orders the suites crypto/tls serves, the backend's refuses
// suites Go lacks.
package tlsutil
