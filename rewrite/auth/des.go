package auth

import "strings"

// Traditional DES crypt(3): the first 8 bytes of the password (7 bits
// each) as a DES key encrypt a zero block 25 times, with the E expansion
// perturbed by a 12-bit salt of two characters. Bits are numbered from 1
// at the most significant end, as in FIPS 46.

var desIP = [64]uint8{
	58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
	62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
	57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
	61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
}

var desFP = [64]uint8{
	40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31,
	38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
	36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
	34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
}

var desP = [32]uint8{
	16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
	2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
}

var desPC1 = [56]uint8{
	57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
	10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
	63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
	14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
}

var desPC2 = [48]uint8{
	14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
	23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
	41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
	44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
}

var desShifts = [16]uint8{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}

var desS = [8][64]uint8{
	{14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
		0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
		4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
		15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13},
	{15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
		3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
		0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
		13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9},
	{10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
		13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
		13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
		1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12},
	{7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
		13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
		10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
		3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14},
	{2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
		14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
		4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
		11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3},
	{12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
		10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
		9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
		4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13},
	{4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
		13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
		1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
		6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12},
	{13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
		1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
		7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
		2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11},
}

// permute builds a value from the bits of in (inBits wide) that table
// names, the first entry becoming the most significant bit.
func permute(in uint64, inBits uint, table []uint8) uint64 {
	var out uint64
	for _, t := range table {
		out = out<<1 | (in>>(inBits-uint(t)))&1
	}
	return out
}

// desCrypt computes crypt(password, setting) for a traditional DES
// setting: two salt characters of itoa64 (libxcrypt fails otherwise),
// then 11 characters of the encrypted block. A setting longer than 13
// characters asks for bigcrypt, as libxcrypt reads it: each further 8
// bytes of the password (up to 128) add 11 characters, salted with the
// first two characters of the block before.
func desCrypt(password, setting []byte) ([]byte, bool) {
	if len(setting) < 2 {
		return nil, false
	}
	s0, s1 := strings.IndexByte(itoa64, setting[0]), strings.IndexByte(itoa64, setting[1])
	if s0 < 0 || s1 < 0 {
		return nil, false
	}
	out := make([]byte, 0, 13)
	out = append(out, setting[0], setting[1])
	out = desBlock(out, password, uint32(s0)|uint32(s1)<<6)
	if len(setting) <= 13 {
		return out, true
	}
	password = password[:min(len(password), 128)]
	for seg := 8; seg < len(password); seg += 8 {
		prev := out[len(out)-11:]
		salt := uint32(strings.IndexByte(itoa64, prev[0])) | uint32(strings.IndexByte(itoa64, prev[1]))<<6
		out = desBlock(out, password[seg:], salt)
	}
	return out, true
}

// desBlock appends the 11 characters of 25 DES encryptions of a zero
// block under the first 8 bytes of key and the 12-bit salt.
func desBlock(out, password []byte, salt uint32) []byte {
	return appendBlock(out, desEncrypt(desSchedule(desKey(password)), salt, 0, 25))
}

// desKey is the DES key of up to 8 password bytes, 7 bits each.
func desKey(password []byte) uint64 {
	var key uint64
	for i := range 8 {
		var c byte
		if i < len(password) {
			c = password[i]
		}
		key = key<<8 | uint64(c<<1)
	}
	return key
}

func desSchedule(key uint64) *[16]uint64 {
	var subkeys [16]uint64
	cd := permute(key, 64, desPC1[:])
	c, d := uint32(cd>>28), uint32(cd&0xfffffff)
	for i, s := range desShifts {
		c = (c<<s | c>>(28-s)) & 0xfffffff
		d = (d<<s | d>>(28-s)) & 0xfffffff
		subkeys[i] = permute(uint64(c)<<28|uint64(d), 56, desPC2[:])
	}
	return &subkeys
}

// desSP is each S-box's output put through P, by S-box and input: one
// lookup per S-box and a round's f is their OR.
var desSP = func() (sp [8][64]uint32) {
	for j := range 8 {
		for six := range 64 {
			row := (six>>4)&2 | six&1
			col := (six >> 1) & 0xf
			sp[j][six] = uint32(permute(uint64(desS[j][row*16+col])<<(28-4*j), 32, desP[:]))
		}
	}
	return sp
}()

// desEncrypt encrypts block count times under subkeys, each bit i of
// the salt (24 at most) swapping E's outputs i and i+24. IP and FP cancel
// between iterations, so they run once.
func desEncrypt(subkeys *[16]uint64, salt uint32, block uint64, count int) uint64 {
	// The swaps as a mask on E's right half (output i is bit 47-i).
	var mask uint64
	for i := range 24 {
		if salt>>i&1 != 0 {
			mask |= 1 << (23 - i)
		}
	}
	lr := permute(block, 64, desIP[:])
	l, r := uint32(lr>>32), uint32(lr)
	for n := range count {
		if n > 0 {
			l, r = r, l
		}
		for _, k := range subkeys {
			// E: 8 groups of 6 bits, each 4 bits on, from the 34-bit
			// string "bit 32, bits 1..32, bit 1".
			w := uint64(r&1)<<33 | uint64(r)<<1 | uint64(r>>31)
			var e uint64
			for j := range 8 {
				e |= (w >> (28 - 4*j) & 0x3f) << (42 - 6*j)
			}
			t := (e>>24 ^ e) & mask
			e ^= t | t<<24
			x := e ^ k
			f := desSP[0][x>>42&0x3f] | desSP[1][x>>36&0x3f] | desSP[2][x>>30&0x3f] | desSP[3][x>>24&0x3f] |
				desSP[4][x>>18&0x3f] | desSP[5][x>>12&0x3f] | desSP[6][x>>6&0x3f] | desSP[7][x&0x3f]
			l, r = r, l^f
		}
	}
	return permute(uint64(r)<<32|uint64(l), 64, desFP[:])
}

// appendBlock appends a block as 11 characters, 6 bits each from the
// top, the last with two zero bits below.
func appendBlock(out []byte, block uint64) []byte {
	for i := range 11 {
		shift := 64 - 6*(i+1)
		var v uint64
		if shift >= 0 {
			v = block >> uint(shift)
		} else {
			v = block << uint(-shift)
		}
		out = append(out, itoa64[v&0x3f])
	}
	return out
}

// bsdiCrypt is BSDi's extended DES, "_" then 4 characters of count (0
// counts as 1) and 4 of salt (24 bits each, low first): a password longer than 8 bytes
// is folded into the key by encrypting the key with itself and adding
// the next 8 bytes.
func bsdiCrypt(password, setting []byte) ([]byte, bool) {
	if len(setting) < 9 {
		return nil, false
	}
	var count, salt uint32
	for i := range 4 {
		c, s := strings.IndexByte(itoa64, setting[1+i]), strings.IndexByte(itoa64, setting[5+i])
		if c < 0 || s < 0 {
			return nil, false
		}
		count |= uint32(c) << (6 * i)
		salt |= uint32(s) << (6 * i)
	}
	if count == 0 {
		count = 1 // as libxcrypt takes it
	}
	key := desKey(password)
	for rest := password[min(len(password), 8):]; len(rest) > 0; rest = rest[min(len(rest), 8):] {
		key = desEncrypt(desSchedule(key), 0, key, 1)
		for i := 0; i < 8 && i < len(rest); i++ {
			key ^= uint64(rest[i]<<1) << (56 - 8*i)
		}
	}
	out := append([]byte(nil), setting[:9]...)
	return appendBlock(out, desEncrypt(desSchedule(key), salt, 0, int(count))), true
}
