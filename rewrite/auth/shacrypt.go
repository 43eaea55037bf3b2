package auth

import (
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strconv"
	"strings"
)

// SHA-crypt's rounds as libxcrypt takes them: "rounds=N$" with N from
// 1000 to 999999999 written without leading zeros, else crypt fails.
const (
	shaRoundsDefault = 5000
	shaRoundsMin     = 1000
	shaRoundsMax     = 999999999
	shaSaltMax       = 16
)

// shaCrypt is Ulrich Drepper's SHA-crypt ($5$ with SHA-256, $6$ with
// SHA-512) of password under setting. ok is false where libxcrypt fails.
func shaCrypt(password []byte, setting string, is512 bool) (out []byte, ok bool) {
	rest := setting[3:]
	rounds, custom := shaRoundsDefault, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		end := strings.IndexByte(r, '$')
		if end <= 0 || (r[0] == '0') {
			return nil, false
		}
		n, err := strconv.Atoi(r[:end])
		if err != nil || r[0] == '+' || r[0] == '-' || n < shaRoundsMin || n > shaRoundsMax {
			return nil, false
		}
		rounds, custom, rest = n, true, r[end+1:]
	}
	salt := rest
	if i := strings.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	salt = salt[:min(len(salt), shaSaltMax)]

	newHash := sha256.New
	if is512 {
		newHash = sha512.New
	}
	pw, sl := password, []byte(salt)

	b := newHash()
	b.Write(pw)
	b.Write(sl)
	b.Write(pw)
	sumB := b.Sum(nil)

	a := newHash()
	a.Write(pw)
	a.Write(sl)
	writeRepeated(a, sumB, len(pw))
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write(sumB)
		} else {
			a.Write(pw)
		}
	}
	sumA := a.Sum(nil)

	dp := newHash()
	for range len(pw) {
		dp.Write(pw)
	}
	p := repeated(dp.Sum(nil), len(pw))

	ds := newHash()
	for range 16 + int(sumA[0]) {
		ds.Write(sl)
	}
	s := repeated(ds.Sum(nil), len(sl))

	c := sumA
	h := newHash()
	for r := range rounds {
		h.Reset()
		if r&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if r%3 != 0 {
			h.Write(s)
		}
		if r%7 != 0 {
			h.Write(p)
		}
		if r&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}

	out = append(out, setting[:3]...)
	if custom {
		out = append(out, "rounds="...)
		out = strconv.AppendInt(out, int64(rounds), 10)
		out = append(out, '$')
	}
	out = append(out, salt...)
	out = append(out, '$')
	f := func(x, y, z int) uint32 { return uint32(c[x])<<16 | uint32(c[y])<<8 | uint32(c[z]) }
	if !is512 {
		for _, t := range [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
			{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}} {
			out = to64(out, f(t[0], t[1], t[2]), 4)
		}
		out = to64(out, uint32(c[31])<<8|uint32(c[30]), 3)
		return out, true
	}
	for _, t := range [][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
		{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10},
		{53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16},
		{59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}} {
		out = to64(out, f(t[0], t[1], t[2]), 4)
	}
	out = to64(out, uint32(c[63]), 2)
	return out, true
}

// writeRepeated writes sum over and over, n bytes in all.
func writeRepeated(h hash.Hash, sum []byte, n int) {
	for ; n > len(sum); n -= len(sum) {
		h.Write(sum)
	}
	h.Write(sum[:n])
}

func repeated(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, sum[:min(len(sum), n-len(out))]...)
	}
	return out
}
