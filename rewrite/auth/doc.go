// Package auth owns what nginx's Basic authentication reads from
// untrusted input: the Authorization header (ngx_http_auth_basic_user),
// the user file (ngx_http_auth_basic_handler's scan), and the password
// hashes nginx checks through ngx_crypt: its own {PLAIN}, {SHA}, {SSHA}
// and $apr1$, and what Linux's crypt(3) (libxcrypt) computes for $1$,
// $5$, $6$, $2a$/$2b$/$2x$/$2y$, $3$ (NT), $sha1$, $7$ (scrypt), $y$
// (yescrypt), $gy$ (gost-yescrypt, with our own Streebog), traditional
// DES, bigcrypt and BSDi's extended DES ("_").
//
// The decision is nginx's: a password is right when crypt(password,
// stored) equals the stored string, compared here in constant time.
// The format libxcrypt has that this package does not ($md5 SunMD5)
// never matches: Verify reports it as unsupported so the caller can log
// it.
//
// It imports nothing of gonginx, so rewrite ($remote_user) and location
// (auth_basic) share it.
package auth
