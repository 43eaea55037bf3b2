package auth

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// GOST R 34.11-2012's examples A.1 and A.2 (256-bit), a message of more
// than one block, and HMAC's example from R 50.1.113-2016; digests as
// bytes in order.
func TestStreebog256(t *testing.T) {
	a2, _ := hex.DecodeString("d1e520e2e5f2f0e82c20d1f2f0e8e1eee6e820e2edf3f6e82c20e2e5fef2fa20f120eceef0ff20f1f2f0e5ebe0ece820ede020f5f0e0e1f0fbff20efebfaeafb20c8e3eef0e5e2fb")
	carry := append(bytes.Repeat([]byte{0xee}, 64), 0x16)
	carry = append(carry, bytes.Repeat([]byte{0x11}, 62)...)
	carry = append(carry, 0x16)
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"A.1", []byte("012345678901234567890123456789012345678901234567890123456789012"), "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"},
		{"carry (gost-engine's)", carry, "81bb632fa31fcc38b4c379a662dbc58b9bed83f50d3a1b2ce7271ab02d25babb"},
		{"A.2", a2, "9dd2fe4e90409e5da87f53976d7405b0c0cac628fc669a741d50063c557e8f50"},
	}
	for _, tt := range tests {
		got := streebog256(tt.msg)
		if diff := cmp.Diff(tt.want, hex.EncodeToString(got[:])); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	msg, _ := hex.DecodeString("0126bdb87800af214341456563780100")
	got := hmacStreebog256(key, msg)
	if diff := cmp.Diff("a1aa5f7de402d7b3d323f2991c8d4534013137010a83754fd0af6d7cd4922ed9", hex.EncodeToString(got[:])); diff != "" {
		t.Errorf("HMAC (-want +got):\n%s", diff)
	}
}

// BenchmarkStreebog256 hashes what gost-yescrypt hashes: a password and
// two HMACs.
func BenchmarkStreebog256(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		streebog256([]byte("password"))
	}
}
