package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"strings"
	"sync"
)

// yescrypt as libxcrypt computes "$y$" (Debian's default crypt method):
// scrypt's PBKDF2-SHA256 around SMix, with yescrypt's changes when its
// flags ask for them: a prehash of the password, SMix reading and
// writing back to V ("RW"), and the pwxform block mix with S-boxes built
// from the password. Written from yescrypt's specification and the
// behaviour of its reference implementation; no ROM ("NROM") and no hash
// upgrades ("g"), which libxcrypt's crypt refuses too.

// yescrypt flags (yescrypt.h's values, as the "$y$" flavor encodes them).
const (
	ycWORM    = 0x001
	ycRW      = 0x002
	ycFlavor  = 0x3fc // the pwxform settings of an RW flavor
	ycPrehash = 0x10000000
	// ycDefaults' pwxform: 6 rounds, gather 4, simple 2, 12 KiB S-boxes:
	// the only RW flavor yescrypt computes.
	ycRWFlavor = 0x004 | 0x010 | 0x020 | 0x080
)

// pwxform's fixed settings (ycRWFlavor).
const (
	pwxSimple = 2
	pwxGather = 4
	pwxRounds = 6
	sWidth    = 8
	pwxWords  = pwxGather * pwxSimple * 2         // 16 words: 64 bytes
	sBoxWords = 3 * (1 << sWidth) * pwxSimple * 2 // 3072 words: 12 KiB
	sBoxPairs = (1 << sWidth) * pwxSimple         // 512 64-bit entries per S-box
)

// yescryptMaxV bounds the memory one hash may take (128·r·N bytes): the
// user file is the administrator's, but a typo must not take the
// machine's memory.
const yescryptMaxV = 1 << 30

// yescryptParams are a "$y$" setting's parameters.
type yescryptParams struct {
	flags   uint32
	n       uint64
	r, p, t uint32
}

// yescryptCrypt is crypt(3)'s "$y$": the setting's prefix and salt
// string as given, '$', and the 32-byte hash in yescrypt's base 64. ok
// is false where libxcrypt's crypt fails.
func yescryptCrypt(password []byte, setting string) ([]byte, bool) {
	// libxcrypt's crypt_yescrypt_rn: the output (setting, '$', 43
	// characters and a NUL) must fit CRYPT_OUTPUT_SIZE.
	if len(setting)+1+43+1 > 384 {
		return nil, false
	}
	prm, rest, ok := parseYescryptSetting(setting)
	if !ok {
		return nil, false
	}
	prefix := setting[:len(setting)-len(rest)]
	saltStr := rest
	if i := strings.LastIndexByte(saltStr, '$'); i >= 0 {
		saltStr = saltStr[:i]
	}
	salt, ok := decodeYescrypt64(saltStr)
	if !ok {
		return nil, false
	}
	hash, ok := yescryptKDF(password, salt, prm)
	if !ok {
		return nil, false
	}
	out := make([]byte, 0, len(prefix)+len(saltStr)+1+43)
	out = append(out, prefix...)
	out = append(out, saltStr...)
	out = append(out, '$')
	return encodeYescrypt64(out, hash[:]), true
}

// gostYescryptCrypt is libxcrypt's "$gy$": yescrypt of the same
// parameters and salt, its 32 bytes then keyed by GOST: HMAC-Streebog
// with the key HMAC-Streebog(Streebog(password), the setting up to the
// salt's end), as crypt_gost_yescrypt_rn computes it.
func gostYescryptCrypt(password []byte, setting string) ([]byte, bool) {
	if len(setting)+1+43+1 > 384 || !strings.HasPrefix(setting, "$gy$") {
		return nil, false
	}
	y, ok := yescryptCrypt(password, "$y$"+setting[4:])
	if !ok {
		return nil, false
	}
	// "$y$params$salt$" and the hash after it.
	end := strings.IndexByte(string(y[3:]), '$')
	if end < 0 {
		return nil, false
	}
	end += 3 + 1
	next := strings.IndexByte(string(y[end:]), '$')
	if next < 0 {
		return nil, false
	}
	end += next + 1
	if end > len(setting) {
		return nil, false
	}
	hash, ok := decodeYescrypt64(string(y[end:]))
	if !ok || len(hash) != 32 {
		return nil, false
	}
	// libxcrypt keys on as many bytes of the "$gy$" setting as the
	// "$y$" prefix had: one short of the '$' before the hash.
	hk := streebog256(password)
	interm := hmacStreebog256(hk[:], []byte(setting[:end]))
	sum := hmacStreebog256(interm[:], hash)
	out := make([]byte, 0, 1+end+43)
	out = append(out, "$g"...)
	out = append(out, y[1:end]...)
	return encodeYescrypt64(out, sum[:]), true
}

// parseYescryptSetting reads "$y$" flavor, log2 N, r, the optional
// have-mask with p, t, g and log2 NROM, and the '$' after them; rest is
// what follows.
func parseYescryptSetting(s string) (prm yescryptParams, rest string, ok bool) {
	if !strings.HasPrefix(s, "$y$") {
		return prm, "", false
	}
	s = s[3:]
	var flavor, nLog2, have, g, nromLog2 uint32
	prm.p = 1
	if flavor, s, ok = decodeYescryptUint32(s, 0); !ok {
		return prm, "", false
	}
	switch {
	case flavor < ycRW:
		prm.flags = flavor
	case flavor <= ycRW+(ycFlavor>>2):
		prm.flags = ycRW + (flavor-ycRW)<<2
	default:
		return prm, "", false
	}
	if nLog2, s, ok = decodeYescryptUint32(s, 1); !ok || nLog2 > 63 {
		return prm, "", false
	}
	prm.n = 1 << nLog2
	if prm.r, s, ok = decodeYescryptUint32(s, 1); !ok {
		return prm, "", false
	}
	if s != "" && s[0] != '$' {
		if have, s, ok = decodeYescryptUint32(s, 1); !ok {
			return prm, "", false
		}
		if have&1 != 0 {
			if prm.p, s, ok = decodeYescryptUint32(s, 2); !ok {
				return prm, "", false
			}
		}
		if have&2 != 0 {
			if prm.t, s, ok = decodeYescryptUint32(s, 1); !ok {
				return prm, "", false
			}
		}
		if have&4 != 0 {
			if g, s, ok = decodeYescryptUint32(s, 1); !ok {
				return prm, "", false
			}
		}
		if have&8 != 0 {
			if nromLog2, s, ok = decodeYescryptUint32(s, 1); !ok || nromLog2 > 63 {
				return prm, "", false
			}
		}
	}
	if s == "" || s[0] != '$' {
		return prm, "", false
	}
	// Hash upgrades and a ROM are refused by yescrypt_kdf (no ROM is
	// ever given to crypt).
	if g != 0 || have&8 != 0 {
		return prm, "", false
	}
	return prm, s[1:], true
}

// atoi64 is the value of one character of crypt's alphabet, 64 for
// others.
func atoi64(c byte) uint32 {
	switch {
	case c >= '.' && c <= '9':
		return uint32(c - '.')
	case c >= 'A' && c <= 'Z':
		return uint32(c-'A') + 12
	case c >= 'a' && c <= 'z':
		return uint32(c-'a') + 38
	}
	return 64
}

// decodeYescryptUint32 reads one of yescrypt's variable-length numbers:
// the first character says how many follow (0-47: none, then ever
// smaller ranges for one more each), the rest add 6 bits each, high
// first; min is added.
func decodeYescryptUint32(s string, min uint32) (uint32, string, bool) {
	if s == "" {
		return 0, "", false
	}
	c := atoi64(s[0])
	if c > 63 {
		return 0, "", false
	}
	s = s[1:]
	v := min
	start, end, chars, shift := uint32(0), uint32(47), 1, uint32(0)
	for c > end {
		v += (end + 1 - start) << shift
		start = end + 1
		end = start + (62-end)/2
		chars++
		shift += 6
	}
	v += (c - start) << shift
	for ; chars > 1; chars-- {
		if s == "" {
			return 0, "", false
		}
		c = atoi64(s[0])
		if c > 63 {
			return 0, "", false
		}
		s = s[1:]
		shift -= 6
		v += c << shift
	}
	return v, s, true
}

// decodeYescrypt64 is the salt string's decoding: groups of up to four
// characters, low bits first, give up to three bytes each; a group gives
// at least one whole byte and leaves no bit set over; at most 64 bytes.
func decodeYescrypt64(s string) ([]byte, bool) {
	out := make([]byte, 0, 64)
	for len(s) > 0 {
		var v, nbits uint32
		for len(s) > 0 && nbits < 24 {
			c := atoi64(s[0])
			if c > 63 {
				return nil, false
			}
			v |= c << nbits
			nbits += 6
			s = s[1:]
		}
		if nbits < 12 {
			return nil, false
		}
		for ; nbits >= 8; nbits -= 8 {
			if len(out) == 64 {
				return nil, false
			}
			out = append(out, byte(v))
			v >>= 8
		}
		if v != 0 {
			return nil, false
		}
	}
	return out, true
}

// encodeYescrypt64 appends src in yescrypt's base 64: each three bytes
// (fewer at the end) as a little-endian number, 6 bits a character, low
// first.
func encodeYescrypt64(dst, src []byte) []byte {
	for len(src) > 0 {
		var v uint32
		n := min(3, len(src))
		for i := 0; i < n; i++ {
			v |= uint32(src[i]) << (8 * i)
		}
		src = src[n:]
		for b := 0; b < 8*n; b += 6 {
			dst = append(dst, itoa64[v&0x3f])
			v >>= 6
		}
	}
	return dst
}

// yescryptKDF is yescrypt_kdf with a 32-byte output: for RW with enough
// memory, the password is first replaced by a prehash with N/64.
func yescryptKDF(password, salt []byte, prm yescryptParams) ([32]byte, bool) {
	var dk [32]byte
	if !prm.valid() {
		return dk, false
	}
	if prm.flags&ycRW != 0 && prm.n/uint64(prm.p) >= 0x100 && prm.n/uint64(prm.p)*uint64(prm.r) >= 0x20000 {
		pre := prm
		pre.flags |= ycPrehash
		pre.n >>= 6
		pre.t = 0
		var ok bool
		if dk, ok = yescryptBody(password, salt, pre); !ok {
			return dk, false
		}
		password = dk[:]
	}
	return yescryptBody(password, salt, prm)
}

// valid is yescrypt_kdf_body's check of the parameters.
func (prm yescryptParams) valid() bool {
	switch prm.flags & (ycWORM | ycRW) {
	case 0:
		if prm.flags != 0 || prm.t != 0 {
			return false
		}
	case ycWORM:
		if prm.flags != ycWORM {
			return false
		}
	case ycRW:
		if prm.flags&^ycPrehash != ycRW|ycRWFlavor {
			return false
		}
	default:
		return false
	}
	// libxcrypt's (optimized) yescrypt: N a power of two from 4 to
	// 2^32, and with RW at least 4 per lane.
	n, r, p := prm.n, uint64(prm.r), uint64(prm.p)
	if r*p >= 1<<30 || n > 1<<32 || n&(n-1) != 0 || n <= 3 || r < 1 || p < 1 {
		return false
	}
	if prm.flags&ycRW != 0 && n/p <= 3 {
		return false
	}
	// Memory: V is 128·r·N bytes, B 128·r·p.
	if n > yescryptMaxV/128/r || r*p > yescryptMaxV/128 {
		return false
	}
	return true
}

// yescryptBody is yescrypt_kdf_body for a 32-byte output.
func yescryptBody(password, salt []byte, prm yescryptParams) ([32]byte, bool) {
	var out [32]byte
	r, p := int(prm.r), int(prm.p)
	s := 32 * r // words per block
	if prm.flags != 0 {
		key := "yescrypt"
		if prm.flags&ycPrehash != 0 {
			key = "yescrypt-prehash"
		}
		m := hmac.New(sha256.New, []byte(key))
		m.Write(password)
		password = m.Sum(nil)
	}
	bBytes, err := pbkdf2.Key(sha256.New, string(password), salt, 1, 128*r*p)
	if err != nil {
		return out, false
	}
	var pw []byte // what the final PBKDF2 keys on
	if prm.flags != 0 {
		pw = append([]byte(nil), bBytes[:32]...)
	} else {
		pw = password
	}
	b := make([]uint32, s*p)
	for i := range b {
		b[i] = binary.LittleEndian.Uint32(bBytes[4*i:])
	}
	vp := getV(s * int(prm.n))
	defer vPool.Put(vp)
	v := *vp
	xy := make([]uint32, 2*s)
	if prm.flags&ycRW != 0 {
		ctxs := make([]pwxform, p)
		smix(b, r, prm.n, uint32(p), prm.t, prm.flags, v, xy, ctxs, pw)
	} else {
		for i := 0; i < p; i++ {
			smix(b[s*i:s*(i+1)], r, prm.n, 1, prm.t, prm.flags, v, xy, nil, nil)
		}
	}
	for i, w := range b {
		binary.LittleEndian.PutUint32(bBytes[4*i:], w)
	}
	dk, err := pbkdf2.Key(sha256.New, string(pw), bBytes, 1, 32)
	if err != nil {
		return out, false
	}
	if prm.flags != 0 && prm.flags&ycPrehash == 0 {
		// SCRAM's StoredKey: SHA-256(HMAC(dk, "Client Key")).
		m := hmac.New(sha256.New, dk)
		m.Write([]byte("Client Key"))
		out = sha256.Sum256(m.Sum(nil))
		return out, true
	}
	copy(out[:], dk)
	return out, true
}

// vPool keeps SMix's V (16 MiB at Debian's default cost) between
// checks: a garbage-collected buffer that size per request would keep
// the collector busy. Its content needs no clearing: SMix writes each
// entry before it reads it.
var vPool = sync.Pool{New: func() any { return new([]uint32) }}

func getV(words int) *[]uint32 {
	vp := vPool.Get().(*[]uint32)
	if cap(*vp) < words {
		*vp = make([]uint32, words)
	}
	*vp = (*vp)[:words]
	return vp
}

// pwxform is one SMix lane's three S-boxes (64-bit entries, built from
// the password) and its write position.
type pwxform struct {
	box        [3][sBoxPairs]uint64
	i0, i1, i2 int // which box is S0, S1 and S2
	w          uint32
}

// load takes the S-boxes from the words SMix filled: S2 first, then S1
// and S0, each entry low word first.
func (c *pwxform) load(words []uint32) {
	for b := range c.box {
		for e := range c.box[b] {
			i := 2 * (b*sBoxPairs + e)
			c.box[b][e] = uint64(words[i+1])<<32 | uint64(words[i])
		}
	}
	c.i2, c.i1, c.i0, c.w = 0, 1, 2, 0
}

// salsa20 applies the Salsa20 core with the given rounds to b, whose
// words are in yescrypt's shuffled order (word i of the state is
// b[i*5%16]... kept as the reference keeps them).
func salsa20(b *[16]uint32, rounds int) {
	var x [16]uint32
	for i := 0; i < 16; i++ {
		x[i*5%16] = b[i]
	}
	for i := 0; i < rounds; i += 2 {
		// columns
		x[4] ^= bits.RotateLeft32(x[0]+x[12], 7)
		x[8] ^= bits.RotateLeft32(x[4]+x[0], 9)
		x[12] ^= bits.RotateLeft32(x[8]+x[4], 13)
		x[0] ^= bits.RotateLeft32(x[12]+x[8], 18)
		x[9] ^= bits.RotateLeft32(x[5]+x[1], 7)
		x[13] ^= bits.RotateLeft32(x[9]+x[5], 9)
		x[1] ^= bits.RotateLeft32(x[13]+x[9], 13)
		x[5] ^= bits.RotateLeft32(x[1]+x[13], 18)
		x[14] ^= bits.RotateLeft32(x[10]+x[6], 7)
		x[2] ^= bits.RotateLeft32(x[14]+x[10], 9)
		x[6] ^= bits.RotateLeft32(x[2]+x[14], 13)
		x[10] ^= bits.RotateLeft32(x[6]+x[2], 18)
		x[3] ^= bits.RotateLeft32(x[15]+x[11], 7)
		x[7] ^= bits.RotateLeft32(x[3]+x[15], 9)
		x[11] ^= bits.RotateLeft32(x[7]+x[3], 13)
		x[15] ^= bits.RotateLeft32(x[11]+x[7], 18)
		// rows
		x[1] ^= bits.RotateLeft32(x[0]+x[3], 7)
		x[2] ^= bits.RotateLeft32(x[1]+x[0], 9)
		x[3] ^= bits.RotateLeft32(x[2]+x[1], 13)
		x[0] ^= bits.RotateLeft32(x[3]+x[2], 18)
		x[6] ^= bits.RotateLeft32(x[5]+x[4], 7)
		x[7] ^= bits.RotateLeft32(x[6]+x[5], 9)
		x[4] ^= bits.RotateLeft32(x[7]+x[6], 13)
		x[5] ^= bits.RotateLeft32(x[4]+x[7], 18)
		x[11] ^= bits.RotateLeft32(x[10]+x[9], 7)
		x[8] ^= bits.RotateLeft32(x[11]+x[10], 9)
		x[9] ^= bits.RotateLeft32(x[8]+x[11], 13)
		x[10] ^= bits.RotateLeft32(x[9]+x[8], 18)
		x[12] ^= bits.RotateLeft32(x[15]+x[14], 7)
		x[13] ^= bits.RotateLeft32(x[12]+x[15], 9)
		x[14] ^= bits.RotateLeft32(x[13]+x[12], 13)
		x[15] ^= bits.RotateLeft32(x[14]+x[13], 18)
	}
	for i := 0; i < 16; i++ {
		b[i] += x[i*5%16]
	}
}

func sub16(b []uint32, i int) *[16]uint32 { return (*[16]uint32)(b[16*i : 16*i+16]) }

func xorWords(dst, src []uint32) {
	src = src[:len(dst)] // one bounds check, not one a word
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// blockMixSalsa8 is scrypt's BlockMix with Salsa20/8 over the 2r
// 64-byte parts of b; y is scratch of the same size.
func blockMixSalsa8(b, y []uint32, r int) {
	var x [16]uint32
	copy(x[:], b[(2*r-1)*16:])
	for i := 0; i < 2*r; i++ {
		xorWords(x[:], b[16*i:16*i+16])
		salsa20(&x, 8)
		copy(y[16*i:], x[:])
	}
	for i := 0; i < r; i++ {
		copy(b[16*i:], y[16*2*i:16*2*i+16])
		copy(b[16*(i+r):], y[16*(2*i+1):16*(2*i+1)+16])
	}
}

// round is pwxform on one 64-byte part x: six rounds of a multiply, an
// add and an xor with S-box entries the data picks, the middle rounds'
// results written to S2; then the S-boxes rotate. (pwxGather 4 and
// pwxSimple 2 are unrolled: four groups of two 64-bit lanes.)
func (c *pwxform) round(x *[pwxWords]uint32) {
	s0, s1, s2 := &c.box[c.i0], &c.box[c.i1], &c.box[c.i2]
	w := c.w
	for i := 0; i < pwxRounds; i++ {
		{
			p0, p1 := (x[0]>>3)&0x1fe, (x[1]>>3)&0x1fe
			v0 := (uint64(x[1])*uint64(x[0]) + s0[p0&511]) ^ s1[p1&511]
			v1 := (uint64(x[3])*uint64(x[2]) + s0[(p0+1)&511]) ^ s1[(p1+1)&511]
			x[0], x[1], x[2], x[3] = uint32(v0), uint32(v0>>32), uint32(v1), uint32(v1>>32)
			if i != 0 && i != pwxRounds-1 {
				s2[w&511], s2[(w+1)&511] = v0, v1
				w += 2
			}
		}
		{
			p0, p1 := (x[4]>>3)&0x1fe, (x[5]>>3)&0x1fe
			v0 := (uint64(x[5])*uint64(x[4]) + s0[p0&511]) ^ s1[p1&511]
			v1 := (uint64(x[7])*uint64(x[6]) + s0[(p0+1)&511]) ^ s1[(p1+1)&511]
			x[4], x[5], x[6], x[7] = uint32(v0), uint32(v0>>32), uint32(v1), uint32(v1>>32)
			if i != 0 && i != pwxRounds-1 {
				s2[w&511], s2[(w+1)&511] = v0, v1
				w += 2
			}
		}
		{
			p0, p1 := (x[8]>>3)&0x1fe, (x[9]>>3)&0x1fe
			v0 := (uint64(x[9])*uint64(x[8]) + s0[p0&511]) ^ s1[p1&511]
			v1 := (uint64(x[11])*uint64(x[10]) + s0[(p0+1)&511]) ^ s1[(p1+1)&511]
			x[8], x[9], x[10], x[11] = uint32(v0), uint32(v0>>32), uint32(v1), uint32(v1>>32)
			if i != 0 && i != pwxRounds-1 {
				s2[w&511], s2[(w+1)&511] = v0, v1
				w += 2
			}
		}
		{
			p0, p1 := (x[12]>>3)&0x1fe, (x[13]>>3)&0x1fe
			v0 := (uint64(x[13])*uint64(x[12]) + s0[p0&511]) ^ s1[p1&511]
			v1 := (uint64(x[15])*uint64(x[14]) + s0[(p0+1)&511]) ^ s1[(p1+1)&511]
			x[12], x[13], x[14], x[15] = uint32(v0), uint32(v0>>32), uint32(v1), uint32(v1>>32)
			if i != 0 && i != pwxRounds-1 {
				s2[w&511], s2[(w+1)&511] = v0, v1
				w += 2
			}
		}
	}
	c.i0, c.i1, c.i2 = c.i2, c.i0, c.i1
	c.w = w & (sBoxPairs - 1)
}

// blockMix is yescrypt's BlockMix: pwxform over the 64-byte parts
// chained, then Salsa20/2 on the last.
func (c *pwxform) blockMix(b []uint32, r int) {
	r1 := 2 * r // 128r bytes in 64-byte parts
	var x [pwxWords]uint32
	copy(x[:], b[(r1-1)*pwxWords:])
	for i := 0; i < r1; i++ {
		part := (*[pwxWords]uint32)(b[i*pwxWords : (i+1)*pwxWords])
		if r1 > 1 {
			for k := range x {
				x[k] ^= part[k]
			}
		}
		c.round(&x)
		*part = x
	}
	salsa20(sub16(b, r1-1), 2)
}

// integerify reads the last 64-byte part's first 64 bits (words 0 and
// 13 of the shuffled order).
func integerify(x []uint32, r int) uint64 {
	last := x[(2*r-1)*16:]
	return uint64(last[13])<<32 | uint64(last[0])
}

func p2floor(x uint64) uint64 {
	for y := x & (x - 1); y != 0; y = x & (x - 1) {
		x = y
	}
	return x
}

// wrap maps x into [0, i): below the largest power of two in i, then
// moved up to the end.
func wrap(x, i uint64) uint64 {
	n := p2floor(i)
	return x&(n-1) + (i - n)
}

// shuffle and unshuffle move a block between its byte order and the
// order salsa20 works in (word i of each part at i*5%16).
func shuffle(x, b []uint32) {
	for k := 0; k < len(b)/16; k++ {
		for i := 0; i < 16; i++ {
			x[k*16+i] = b[k*16+i*5%16]
		}
	}
}

func unshuffle(b, x []uint32) {
	for k := 0; k < len(b)/16; k++ {
		for i := 0; i < 16; i++ {
			b[k*16+i*5%16] = x[k*16+i]
		}
	}
}

// smix1 is SMix's first loop: V filled with the successive states (with
// RW, each mixed with an earlier one first).
func smix1(b []uint32, r int, n uint64, flags uint32, v, xy []uint32, c *pwxform) {
	s := 32 * r
	x, y := xy[:s], xy[s:2*s]
	shuffle(x, b[:s])
	for i := uint64(0); i < n; i++ {
		copy(v[i*uint64(s):], x)
		if flags&ycRW != 0 && i > 1 {
			j := wrap(integerify(x, r), i)
			xorWords(x, v[j*uint64(s):(j+1)*uint64(s)])
		}
		if c != nil {
			c.blockMix(x, r)
		} else {
			blockMixSalsa8(x, y, r)
		}
	}
	unshuffle(b[:s], x)
}

// smix2 is SMix's second loop: nLoop reads of V at data-picked places
// (with RW, written back).
func smix2(b []uint32, r int, n, nLoop uint64, flags uint32, v, xy []uint32, c *pwxform) {
	s := uint64(32 * r)
	x, y := xy[:s], xy[s:2*s]
	shuffle(x, b[:s])
	for i := uint64(0); i < nLoop; i++ {
		j := integerify(x, r) & (n - 1)
		vj := v[j*s : (j+1)*s]
		xorWords(x, vj)
		if flags&ycRW != 0 {
			copy(vj, x)
		}
		if c != nil {
			c.blockMix(x, r)
		} else {
			blockMixSalsa8(x, y, r)
		}
	}
	unshuffle(b[:s], x)
}

// smix runs SMix over the p lanes of b; with RW each lane first builds
// its S-boxes and the first lane's S-box bytes key pw.
func smix(b []uint32, r int, n uint64, p, t, flags uint32, v, xy []uint32, ctxs []pwxform, pw []byte) {
	s := 32 * r
	nChunk := n / uint64(p)
	nLoopAll := nChunk
	if flags&ycRW != 0 {
		if t <= 1 {
			if t != 0 {
				nLoopAll *= 2
			}
			nLoopAll = (nLoopAll + 2) / 3
		} else {
			nLoopAll *= uint64(t) - 1
		}
	} else if t != 0 {
		if t == 1 {
			nLoopAll += (nLoopAll + 1) / 2
		}
		nLoopAll *= uint64(t)
	}
	nLoopRW := uint64(0)
	if flags&ycRW != 0 {
		nLoopRW = nLoopAll / uint64(p)
	}
	nChunk &^= 1
	nLoopAll = (nLoopAll + 1) &^ 1
	nLoopRW = (nLoopRW + 1) &^ 1
	vChunk := uint64(0)
	var sWords []uint32 // SMix's output the S-boxes are read from
	for i := 0; i < int(p); i++ {
		np := nChunk
		if i == int(p)-1 {
			np = n - vChunk
		}
		bp := b[i*s : (i+1)*s]
		vp := v[vChunk*uint64(s):]
		var c *pwxform
		if flags&ycRW != 0 {
			c = &ctxs[i]
			if sWords == nil {
				sWords = make([]uint32, sBoxWords)
			}
			smix1(bp, 1, sBoxWords/32, 0, sWords, xy, nil)
			c.load(sWords)
			if i == 0 {
				var key [64]byte
				for k, w := range bp[s-16 : s] {
					binary.LittleEndian.PutUint32(key[4*k:], w)
				}
				m := hmac.New(sha256.New, key[:])
				m.Write(pw)
				copy(pw, m.Sum(nil))
			}
		}
		smix1(bp, r, np, flags, vp, xy, c)
		smix2(bp, r, p2floor(np), nLoopRW, flags, vp, xy, c)
		vChunk += nChunk
	}
	for i := 0; i < int(p); i++ {
		var c *pwxform
		if flags&ycRW != 0 {
			c = &ctxs[i]
		}
		smix2(b[i*s:(i+1)*s], r, n, nLoopAll-nLoopRW, flags&^ycRW, v, xy, c)
	}
}
