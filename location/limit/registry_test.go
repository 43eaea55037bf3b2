package limit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A reload keeps a zone of the same module, name and size (its counts
// go on); another size or module makes a new one; another key for a zone
// kept is nginx's error.
func TestRegistryReload(t *testing.T) {
	r := NewRegistry()
	zone := func(use, name, key string, size int) (*Zone, string) {
		z, err := r.Zone(use, name, key, size)
		if err != nil {
			return nil, err.Error()
		}
		return z, ""
	}
	first, _ := zone("limit_req_zone", "one", "$uri", MinSize)
	kept, _ := zone("limit_req_zone", "one", "$uri", MinSize)
	resized, _ := zone("limit_req_zone", "one", "$uri", 2*MinSize)
	other, _ := zone("limit_conn_zone", "one", "$uri", MinSize)
	_, errReq := zone("limit_req_zone", "one", "$host", MinSize)
	_, errConn := zone("limit_conn_zone", "one", "$host", MinSize)
	got := []any{kept == first, resized == first, other == first, errReq, errConn}
	want := []any{true, false, false,
		`limit_req "one" uses the "$host" key while previously it used the "$uri" key`,
		`limit_conn_zone "one" uses the "$host" key while previously it used the "$uri" key`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
