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
	var s UserScan
	s.Reset(user, nil)
	s.Feed(file)
	return s.Result()
}

// UserScan is Lookup over a file read in pieces, as nginx reads it (so a
// big file is not held whole): Feed each piece until it reports done,
// then Result.
type UserScan struct {
	user   []byte
	state  uint8
	n      int    // bytes of "user:" matched on this line
	stored []byte // the password so far
	done   bool
}

const (
	scanLogin = iota
	scanPasswd
	scanSkip
)

// Reset starts a scan for user, collecting the password into buf.
func (s *UserScan) Reset(user, buf []byte) {
	*s = UserScan{user: user, stored: buf[:0]}
}

// Feed scans the next piece of the file; it reports whether the scan is
// over (the password was read to its end).
func (s *UserScan) Feed(p []byte) bool {
	if s.done {
		return true
	}
	start := 0
	for i, c := range p {
		switch s.state {
		case scanLogin:
			if s.n == 0 {
				if c == '#' || c == '\r' {
					s.state = scanSkip
					continue
				}
				if c == '\n' {
					continue
				}
			}
			// The decoded credentials hold ':' right after the user,
			// so the name must end with ':' in the file too.
			want := byte(':')
			if s.n < len(s.user) {
				want = s.user[s.n]
			}
			if c != want {
				s.state = scanSkip
				continue
			}
			if s.n == len(s.user) {
				s.state, start = scanPasswd, i+1
			}
			s.n++
		case scanPasswd:
			if c == '\n' || c == '\r' || c == ':' {
				s.stored = append(s.stored, p[start:i]...)
				s.done = true
				return true
			}
		case scanSkip:
			if c == '\n' {
				s.state, s.n = scanLogin, 0
			}
		}
	}
	if s.state == scanPasswd {
		s.stored = append(s.stored, p[start:]...)
	}
	return false
}

// Result is the stored password when the user was found (at the end of
// the file, a password runs to it).
func (s *UserScan) Result() (stored []byte, found bool) {
	if s.done || s.state == scanPasswd {
		return s.stored, true
	}
	return nil, false
}
