package filecache

import (
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestKeyHex: a key's file name is its lower-case hex, as hex.Encode
// gives it.
func TestKeyHex(t *testing.T) {
	var k Key
	for i := range k {
		k[i] = byte(i*17 + 3)
	}
	k[0], k[15] = 0, 0xff
	got := k.hex()
	if diff := cmp.Diff(hex.EncodeToString(k[:]), string(got[:])); diff != "" {
		t.Errorf("hex (-want +got):\n%s", diff)
	}
	// Every byte value, at every place of the key.
	for v := range 256 {
		for i := range k {
			k[i] = byte(v + i*37)
		}
		got := k.hex()
		if want := hex.EncodeToString(k[:]); want != string(got[:]) {
			t.Fatalf("key %x: hex %q", k, got)
		}
	}
}
