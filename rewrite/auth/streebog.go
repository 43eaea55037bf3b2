package auth

import (
	"encoding/binary"
	"sync"
)

// Streebog-256, the hash of GOST R 34.11-2012 (RFC 6986), for
// libxcrypt's gost-yescrypt: written from the standard. A 512-bit value
// is eight 64-bit words, least significant first; the message is taken
// in 64-byte blocks in order, each read as a little-endian number.

// streebogT[j][b] is LPS's contribution of byte b at position j of an
// input word: the linear transform of pi(b) placed at byte j.
var (
	streebogT    [8][256]uint64
	streebogOnce sync.Once
)

func streebogTables() {
	for j := 0; j < 8; j++ {
		for b := 0; b < 256; b++ {
			w := uint64(streebogPi[b]) << (8 * j)
			var r uint64
			for i := 0; i < 64; i++ {
				if w>>i&1 != 0 {
					r ^= streebogA[63-i]
				}
			}
			streebogT[j][b] = r
		}
	}
}

// lps is L(P(S(x))): substitution, the byte transposition and the
// linear transform in one step. Output word i takes byte i of each
// input word.
func lps(x *[8]uint64) {
	var out [8]uint64
	for i := 0; i < 8; i++ {
		shift := 8 * i
		out[i] = streebogT[0][byte(x[0]>>shift)] ^ streebogT[1][byte(x[1]>>shift)] ^
			streebogT[2][byte(x[2]>>shift)] ^ streebogT[3][byte(x[3]>>shift)] ^
			streebogT[4][byte(x[4]>>shift)] ^ streebogT[5][byte(x[5]>>shift)] ^
			streebogT[6][byte(x[6]>>shift)] ^ streebogT[7][byte(x[7]>>shift)]
	}
	*x = out
}

// compress is g_N(h, m) = E(LPS(h ^ N), m) ^ h ^ m, E being twelve
// rounds of X, S, P, L keyed by the schedule from the C constants.
func compress(h, n, m *[8]uint64) {
	var k, s [8]uint64
	for i := range k {
		k[i] = h[i] ^ n[i]
	}
	lps(&k)
	s = *m
	for r := 0; r < 12; r++ {
		for i := range s {
			s[i] ^= k[i]
		}
		lps(&s)
		for i := range k {
			k[i] ^= streebogC[r][i]
		}
		lps(&k)
	}
	for i := range h {
		h[i] ^= s[i] ^ k[i] ^ m[i]
	}
}

// add512 is a += b mod 2^512.
func add512(a, b *[8]uint64) {
	var carry uint64
	for i := range a {
		s := a[i] + b[i]
		c1 := uint64(0)
		if s < a[i] {
			c1 = 1
		}
		s2 := s + carry
		if s2 < s {
			c1 = 1
		}
		a[i], carry = s2, c1
	}
}

// streebog256 is the 256-bit hash of msg: the initial value all 0x01
// bytes, the last 32 bytes of the final state.
func streebog256(msg []byte) [32]byte {
	streebogOnce.Do(streebogTables)
	var h, n, sigma, m, bits [8]uint64
	for i := range h {
		h[i] = 0x0101010101010101
	}
	for len(msg) >= 64 {
		for i := range m {
			m[i] = binary.LittleEndian.Uint64(msg[8*i:])
		}
		compress(&h, &n, &m)
		bits[0] = 512
		add512(&n, &bits)
		add512(&sigma, &m)
		msg = msg[64:]
	}
	// The rest, padded with a 1 bit then zeros.
	var last [64]byte
	copy(last[:], msg)
	last[len(msg)] = 1
	for i := range m {
		m[i] = binary.LittleEndian.Uint64(last[8*i:])
	}
	compress(&h, &n, &m)
	bits[0] = uint64(8 * len(msg))
	add512(&n, &bits)
	add512(&sigma, &m)
	var zero [8]uint64
	compress(&h, &zero, &n)
	compress(&h, &zero, &sigma)
	var out [32]byte
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint64(out[8*i:], h[4+i])
	}
	return out
}

// hmacStreebog256 is HMAC (RFC 2104) over Streebog-256, 64-byte blocks;
// gost-yescrypt's keys are 32 bytes.
func hmacStreebog256(key, msg []byte) [32]byte {
	var kstar [64]byte
	copy(kstar[:], key)
	inner := make([]byte, 0, 64+len(msg))
	for _, b := range kstar {
		inner = append(inner, b^0x36)
	}
	inner = append(inner, msg...)
	ih := streebog256(inner)
	outer := make([]byte, 0, 64+32)
	for _, b := range kstar {
		outer = append(outer, b^0x5c)
	}
	outer = append(outer, ih[:]...)
	return streebog256(outer)
}
