package geoip

import (
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gonginx/gonginx/rewrite/geoip/geoiptest"
)

// libGeoIP itself is the second oracle (after nginx, in the difftest):
// Debian's geoiplookup (geoip-bin) reads random databases written here,
// and its lines are compared with what this package answers, printed the
// same way.

func geoiplookup(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("geoiplookup")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("geoiplookup is required in CI (apt-get install -y geoip-bin): %v", err)
		}
		t.Skipf("!!! SKIPPING: geoiplookup not found (apt-get install -y geoip-bin); libGeoIP was NOT compared !!!")
	}
	return bin
}

// describe prints db's answer for a as geoiplookup does.
func describe(db *DB, a netip.Addr) string {
	b := a.As4()
	addr := &Addr{V4: uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])}
	switch db.Type {
	case CountryEdition:
		id := db.CountryID(addr)
		if id < 0 || id > 255 {
			return "GeoIP Country Edition: Invalid database"
		}
		if id == 0 {
			return "GeoIP Country Edition: IP Address not found"
		}
		name, _ := CountryName(id, false)
		return "GeoIP Country Edition: " + countries[id].code + ", " + string(name)
	case CityEditionRev0, CityEditionRev1:
		desc := map[int]string{CityEditionRev0: "GeoIP City Edition, Rev 0", CityEditionRev1: "GeoIP City Edition, Rev 1"}[db.Type]
		r, ok := db.City(addr)
		if !ok {
			return desc + ": IP Address not found"
		}
		na := func(b []byte) string {
			if b == nil {
				return "N/A"
			}
			return string(b)
		}
		s := fmt.Sprintf("%s: %s, %s, %s, %s, %s, %s, %s", desc, r.Code, na(r.Region), na(RegionName(r.Code, r.Region)),
			na(db.AppendCity(nil, &r)), na(r.Postal), strconv.FormatFloat(float64(r.Latitude), 'f', 6, 64),
			strconv.FormatFloat(float64(r.Longitude), 'f', 6, 64))
		if db.Type == CityEditionRev1 {
			s += fmt.Sprintf(", %d, %d", r.Metro, r.Area)
		}
		return s
	case OrgEdition, ISPEdition:
		desc := map[int]string{OrgEdition: "GeoIP Organization Edition", ISPEdition: "GeoIP ISP Edition"}[db.Type]
		name, ok := db.AppendName(nil, addr)
		if !ok {
			return desc + ": IP Address not found"
		}
		return desc + ": " + string(name)
	}
	return "unexpected edition " + strconv.Itoa(db.Type)
}

func randomPrefixes(r *rand.Rand, n int) []string {
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		bits := 1 + r.Intn(32)
		a := netip.AddrFrom4([4]byte{byte(r.Intn(256)), byte(r.Intn(256)), byte(r.Intn(256)), byte(r.Intn(256))})
		p, _ := a.Prefix(bits)
		// Nested prefixes cannot both be leaves of the tree.
		overlap := false
		for _, q := range out {
			if netip.MustParsePrefix(q).Overlaps(p) {
				overlap = true
			}
		}
		if !overlap && !seen[p.String()] {
			seen[p.String()] = true
			out = append(out, p.String())
		}
	}
	return out
}

func randomText(r *rand.Rand, max int) string {
	const letters = "abcXYZ -'\xe9\xfc\xc7"
	n := r.Intn(max + 1)
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[r.Intn(len(letters))]
	}
	return string(b)
}

func TestLookupAgainstLibGeoIP(t *testing.T) {
	bin := geoiplookup(t)
	r := rand.New(rand.NewSource(7))
	dir := t.TempDir()
	regionsOf := []string{"48", "CA", "NY", "01", "ZZ", "", "4", "A1"}
	for round := 0; round < 30; round++ {
		prefixes := randomPrefixes(r, 1+r.Intn(6))
		var data []byte
		switch round % 3 {
		case 0:
			ids := map[string]int{}
			for _, p := range prefixes {
				ids[p] = r.Intn(256)
			}
			data = geoiptest.CountryDB(false, ids)
		case 1:
			var recs [][]byte
			for range prefixes {
				country := byte(r.Intn(256))
				if r.Intn(2) == 0 {
					country = 225 // US: metro and area codes
				}
				recs = append(recs, geoiptest.CityRecord(country, regionsOf[r.Intn(len(regionsOf))], randomText(r, 8),
					randomText(r, 5), r.Float64()*180-90, r.Float64()*360-180, uint32(r.Intn(1000000)), country == 225))
			}
			edition := byte(CityEditionRev1)
			if r.Intn(3) == 0 {
				edition = CityEditionRev0
			}
			data = geoiptest.RecordDB(edition, 3, 32, prefixes, recs)
		case 2:
			var recs [][]byte
			for range prefixes {
				recs = append(recs, []byte(randomText(r, 20)+"\x00"))
			}
			edition := byte(OrgEdition)
			if r.Intn(2) == 0 {
				edition = ISPEdition
			}
			data = geoiptest.RecordDB(edition, 4, 32, prefixes, recs)
		}
		path := filepath.Join(dir, fmt.Sprintf("db%d.dat", round))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := Parse(data)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		db.UTF8 = true // geoiplookup sets GEOIP_CHARSET_UTF8
		var addrs []netip.Addr
		for _, p := range prefixes {
			pp := netip.MustParsePrefix(p)
			addrs = append(addrs, pp.Addr())
			// the prefix's last address, and the one after it
			b := pp.Addr().As4()
			n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			n |= 1<<(32-pp.Bits()) - 1
			addrs = append(addrs, netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}))
			n++
			addrs = append(addrs, netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}))
		}
		var want, got []string
		for _, a := range addrs {
			if a.As4() == [4]byte{} {
				continue // geoiplookup: "can't resolve hostname"
			}
			out, err := exec.Command(bin, "-f", path, a.String()).Output()
			if err != nil {
				t.Fatalf("geoiplookup %s: %v", a, err)
			}
			want = append(want, a.String()+" "+strings.TrimRight(string(out), "\n"))
			got = append(got, a.String()+" "+describe(db, a))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round %d: libGeoIP vs ours (-libGeoIP +ours):\n%s", round, diff)
		}
	}
}

// TestOpenAgainstLibGeoIP: which files libGeoIP opens (geoiplookup says
// "not available" of the others), as what edition, and a lookup in each.
func TestOpenAgainstLibGeoIP(t *testing.T) {
	bin := geoiplookup(t)
	dir := t.TempDir()
	zeros := func(n int, tail ...byte) []byte { return append(make([]byte, n), tail...) }
	files := map[string][]byte{
		"too short":                {1, 2},
		"short, no marker":         zeros(10),
		"no marker: country":       zeros(64),
		"unknown edition":          zeros(64, 0xff, 0xff, 0xff, 19),
		"city, segment cut":        zeros(64, 0xff, 0xff, 0xff, 2, 1),
		"city of zeros":            zeros(600, 0xff, 0xff, 0xff, 2, 1, 0, 0),
		"city rev0 of zeros":       zeros(600, 0xff, 0xff, 0xff, 6, 1, 0, 0),
		"org of zeros":             zeros(600, 0xff, 0xff, 0xff, 5, 1, 0, 0),
		"isp, old numbering":       zeros(600, 0xff, 0xff, 0xff, 109, 1, 0, 0),
		"tree past the end":        zeros(60, 0xff, 0xff, 0xff, 2, 0xff, 0, 0),
		"marker 19 bytes back":     zeros(600, 0xff, 0xff, 0xff, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
		"marker 20 bytes back":     zeros(600, 0xff, 0xff, 0xff, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
		"country, pointer outside": append([]byte{0xff, 0xff, 0x00, 0xff, 0xff, 0x00}, zeros(10, 0xff, 0xff, 0xff, 1)...),
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, "db.dat")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "-f", path, "1.2.3.4").Output()
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimRight(string(out), "\n")
			got := path + " not available, skipping..."
			if db, err := Parse(data); err == nil {
				db.UTF8 = true
				got = describe(db, netip.MustParseAddr("1.2.3.4"))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-libGeoIP +ours):\n%s", diff)
			}
		})
	}
}

// TestRegionNamesAgainstLibGeoIP samples region codes of every kind
// (digits, letters, both, unknown ones) over the countries' ids and asks
// libGeoIP's GeoIP_region_name_by_code through geoiplookup.
func TestRegionNamesAgainstLibGeoIP(t *testing.T) {
	bin := geoiplookup(t)
	r := rand.New(rand.NewSource(11))
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var known []regionKey
	for k := range regions {
		known = append(known, k)
	}
	sort.Slice(known, func(i, j int) bool { return string(known[i][:]) < string(known[j][:]) })
	var prefixes []string
	var recs [][]byte
	found := 0
	for i := 0; i < 120; i++ {
		region := string([]byte{alnum[r.Intn(len(alnum))], alnum[r.Intn(len(alnum))]})
		if i%2 == 0 {
			region = fmt.Sprintf("%02d", r.Intn(100))
		}
		country := byte(r.Intn(256))
		if i%3 == 0 {
			// A pair the table names: its country's id, its region.
			k := known[r.Intn(len(known))]
			for id := range countries {
				if countries[id].code == string(k[:2]) {
					country = byte(id)
				}
			}
			region = string(k[2:])
		}
		prefixes = append(prefixes, fmt.Sprintf("10.%d.%d.0/24", i/256, i%256))
		recs = append(recs, geoiptest.CityRecord(country, region, "c", "", 0, 0, 0, false))
	}
	data := geoiptest.RecordDB(CityEditionRev0, 3, 32, prefixes, recs)
	path := filepath.Join(t.TempDir(), "city.dat")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	db.UTF8 = true
	var want, got []string
	for _, p := range prefixes {
		a := netip.MustParsePrefix(p).Addr().Next()
		out, err := exec.Command(bin, "-f", path, a.String()).Output()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, strings.TrimRight(string(out), "\n"))
		got = append(got, describe(db, a))
		if r, _ := db.City(&Addr{V4: uint32(a.As4()[0])<<24 | uint32(a.As4()[1])<<16 | uint32(a.As4()[2])<<8 | uint32(a.As4()[3])}); RegionName(r.Code, r.Region) != nil {
			found++
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-libGeoIP +ours):\n%s", diff)
	}
	if found < 40 {
		t.Errorf("only %d of the samples have a region name", found)
	}
}
