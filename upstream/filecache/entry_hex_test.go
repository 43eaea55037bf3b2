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
}
