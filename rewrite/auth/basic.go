package auth

import (
	"bytes"
	"encoding/base64"
)

// Credentials decodes the value of an Authorization header as
// ngx_http_auth_basic_user does: "Basic" in any case, one space, any
// more spaces, then base64 read up to the first '=' into dst. user is
// what comes before the first ':', pass what follows it; both are
// appended to dst (and point into it). ok is false
// when nginx declines (another scheme, bad base64, no ':', an empty user).
func Credentials(dst, header []byte) (user, pass []byte, ok bool) {
	const scheme = "basic "
	if len(header) < len(scheme) || !asciiEqualFold(header[:len(scheme)], scheme) {
		return nil, nil, false
	}
	enc := bytes.TrimLeft(header[len(scheme):], " ")
	if len(enc) == 0 {
		return nil, nil, false
	}
	// ngx_decode_base64 ignores everything from the first '=' on.
	if i := bytes.IndexByte(enc, '='); i >= 0 {
		enc = enc[:i]
	}
	for _, c := range enc {
		// Go's decoder would skip CR and LF; nginx's rejects them.
		if c == '\r' || c == '\n' {
			return nil, nil, false
		}
	}
	dec, err := base64.RawStdEncoding.AppendDecode(dst, enc)
	if err != nil {
		return nil, nil, false
	}
	dec = dec[len(dst):]
	i := bytes.IndexByte(dec, ':')
	if i <= 0 {
		return nil, nil, false
	}
	return dec[:i], dec[i+1:], true
}

func asciiEqualFold(b []byte, lower string) bool {
	for i := range len(lower) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Lookup scans a user file as nginx's auth_basic handler does and returns
// the stored password of user: lines start with "user:", a '#' or CR
// first makes a comment, the password ends at LF, CR, ':' or the end of
// the file. found is false when no line names user.
func Lookup(file, user []byte) (stored []byte, found bool) {
	const (
		login = iota
		passwd
		skip
	)
	state, n, start := login, 0, 0
	for i, c := range file {
		switch state {
		case login:
			if n == 0 {
				if c == '#' || c == '\r' {
					state = skip
					continue
				}
				if c == '\n' {
					continue
				}
			}
			// The decoded credentials hold ':' right after the user,
			// so the name must end with ':' in the file too.
			want := byte(':')
			if n < len(user) {
				want = user[n]
			}
			if c != want {
				state = skip
				continue
			}
			if n == len(user) {
				state, start = passwd, i+1
			}
			n++
		case passwd:
			if c == '\n' || c == '\r' || c == ':' {
				return file[start:i], true
			}
		case skip:
			if c == '\n' {
				state, n = login, 0
			}
		}
	}
	if state == passwd {
		return file[start:], true
	}
	return nil, false
}
