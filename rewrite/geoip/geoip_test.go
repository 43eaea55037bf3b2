package geoip

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gonginx/gonginx/rewrite/geoip/geoiptest"
)

func addr(s string) *Addr {
	a := netip.MustParseAddr(s)
	var out Addr
	out.V6 = a.As16()
	if a.Is4() {
		b := a.As4()
		out.V4 = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	return &out
}

func mustParse(t *testing.T, data []byte) *DB {
	t.Helper()
	db, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestCountry(t *testing.T) {
	db4 := mustParse(t, geoiptest.CountryDB(false, map[string]int{"10.0.0.0/8": 185, "192.168.1.0/24": 225, "0.0.0.0/8": 1}))
	db6 := mustParse(t, geoiptest.CountryDB(true, map[string]int{"2001:db8::/32": 225, "::ffff:10.0.0.0/104": 185, "2001::/32": 3}))
	tests := []struct {
		name string
		db   *DB
		addr string
		want int
	}{
		{"v4 hit", db4, "10.1.2.3", 185},
		{"v4 other", db4, "192.168.1.77", 225},
		{"v4 none", db4, "11.0.0.1", 0},
		{"v4 zero is never looked up", db4, "0.0.0.0", 0},
		{"v4 zero's neighbour", db4, "0.0.0.1", 1},
		{"v6 hit", db6, "2001:db8::1", 225},
		{"v6 mapped", db6, "::ffff:10.0.0.1", 185},
		{"v6 none", db6, "2002::1", 0},
		// 2001:0::/32 is Teredo: the client's address is the last 32 bits
		// inverted, searched as ::a.b.c.d (here nothing there).
		{"teredo", db6, "2001:0:4136:e378:8000:63bf:f5ff:fffe", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.db.CountryID(addr(tt.addr))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff([]bool{false, true}, []bool{db4.IPv6(), db6.IPv6()}); diff != "" {
		t.Errorf("IPv6 (-want +got):\n%s", diff)
	}
	code, _ := CountryCode(185)
	code3, _ := CountryCode3(225)
	name, _ := CountryName(10, false)
	uname, _ := CountryName(10, true)
	_, none := CountryName(0, false)
	if diff := cmp.Diff([]string{"RU", "USA", "Curacao", "Cura\u00e7ao", "false"},
		[]string{string(code), string(code3), string(name), string(uname), map[bool]string{true: "true", false: "false"}[none]}); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
}

func TestTeredo(t *testing.T) {
	// 2001:0:...:f5ff:fffe carries 10.0.0.1 inverted.
	db := mustParse(t, geoiptest.CountryDB(true, map[string]int{"::10.0.0.0/104": 185}))
	if got := db.CountryID(addr("2001:0:4136:e378:8000:63bf:f5ff:fffe")); got != 185 {
		t.Errorf("got %d, want 185", got)
	}
}

func TestCity(t *testing.T) {
	prefixes := []string{"10.0.0.0/8", "192.0.2.0/24", "198.51.100.0/24"}
	recs := [][]byte{
		geoiptest.CityRecord(185, "48", "Moscow", "119034", 55.7543, 37.6202, 0, false),
		geoiptest.CityRecord(225, "CA", "Mountain View", "94043", 37.4192, -122.0574, 807650, true),
		geoiptest.CityRecord(0, "", "Z\xfcrich", "", -0.0001, 0, 0, false),
	}
	type out struct {
		Continent, Code, Code3, Region, City, Postal, RegionName string
		Lat, Lon                                                 float32
		Metro, Area                                              int
		Found                                                    bool
	}
	get := func(db *DB, a string) out {
		r, ok := db.City(addr(a))
		return out{r.Continent, r.Code, r.Code3, string(r.Region), string(db.AppendCity(nil, &r)), string(r.Postal),
			string(RegionName(r.Code, r.Region)), r.Latitude, r.Longitude, r.Metro, r.Area, ok}
	}
	// Stored as 3 bytes of (lat+180)*10000, read back as libGeoIP's float.
	lat := float32(float64(1799999)/10000 - 180)
	rev1 := mustParse(t, geoiptest.RecordDB(CityEditionRev1, 3, 32, prefixes, recs))
	rev0 := mustParse(t, geoiptest.RecordDB(CityEditionRev0, 3, 32, prefixes[:2], recs[:2]))
	utf := mustParse(t, geoiptest.RecordDB(CityEditionRev1, 3, 32, prefixes, recs))
	utf.UTF8 = true
	tests := []struct {
		name string
		db   *DB
		addr string
		want out
	}{
		{"moscow", rev1, "10.0.0.1", out{"EU", "RU", "RUS", "48", "Moscow", "119034", "Moscow City", 55.7543, 37.6202, 0, 0, true}},
		{"us rev1 has metro and area", rev1, "192.0.2.9", out{"NA", "US", "USA", "CA", "Mountain View", "94043", "California", 37.4192, -122.0574, 807, 650, true}},
		{"us rev0 has none", rev0, "192.0.2.9", out{"NA", "US", "USA", "CA", "Mountain View", "94043", "California", 37.4192, -122.0574, 0, 0, true}},
		{"empty fields, latin-1 city", rev1, "198.51.100.1", out{"--", "--", "--", "", "Z\xfcrich", "", "", lat, 0, 0, 0, true}},
		{"utf8", utf, "198.51.100.1", out{"--", "--", "--", "", "Z\u00fcrich", "", "", lat, 0, 0, 0, true}},
		{"not found", rev1, "11.0.0.1", out{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, get(tt.db, tt.addr)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrg(t *testing.T) {
	prefixes := []string{"10.0.0.0/8", "2001:db8::/32"}
	recs := [][]byte{[]byte("Nginx\x00"), []byte("Caf\xe9 AS\x00")}
	org := mustParse(t, geoiptest.RecordDB(OrgEdition, 4, 32, prefixes[:1], recs[:1]))
	asn6 := mustParse(t, geoiptest.RecordDB(ASNumEditionV6, 3, 128, prefixes[1:], recs[1:]))
	tests := []struct {
		name      string
		db        *DB
		utf8      bool
		addr      string
		want      string
		wantFound bool
		recLen    int
	}{
		{"org, 4-byte records", org, false, "10.9.9.9", "Nginx", true, 4},
		{"org none", org, false, "9.9.9.9", "", false, 4},
		{"asnum v6", asn6, false, "2001:db8::5", "Caf\xe9 AS", true, 3},
		{"asnum v6 utf8", asn6, true, "2001:db8::5", "Caf\u00e9 AS", true, 3},
		{"asnum v6 mapped v4", asn6, false, "::ffff:10.0.0.1", "", false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.db.UTF8 = tt.utf8
			got, ok := tt.db.AppendName(nil, addr(tt.addr))
			if diff := cmp.Diff([]any{tt.want, tt.wantFound, tt.recLen}, []any{string(got), ok, tt.db.recLen}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	marker := func(pad int, tail ...byte) []byte {
		b := make([]byte, 600)
		b = append(b, 0xff, 0xff, 0xff)
		b = append(b, tail...)
		return append(b, make([]byte, pad)...)
	}
	type out struct {
		Type, RecLen int
		Segments     uint32
		Err          bool
	}
	tests := []struct {
		name string
		data []byte
		want out
	}{
		{"no marker: a country edition", make([]byte, 64), out{CountryEdition, 3, countryBegin, false}},
		{"too short", []byte{1, 2}, out{Err: true}},
		{"short without marker", make([]byte, 10), out{Err: true}},
		{"country v6", marker(0, CountryEditionV6), out{CountryEditionV6, 3, countryBegin, false}},
		{"old edition numbers", marker(0, 106), out{CountryEdition, 3, countryBegin, false}},
		{"city with segment", marker(0, CityEditionRev1, 10, 0, 0), out{CityEditionRev1, 3, 10, false}},
		{"org: 4-byte records", marker(0, OrgEdition, 10, 0, 0), out{OrgEdition, 4, 10, false}},
		{"marker 19 bytes from the end", marker(15, CityEditionRev0, 1, 0, 0), out{CityEditionRev0, 3, 1, false}},
		{"marker too far back: country", marker(16, CityEditionRev0, 1, 0, 0), out{CountryEdition, 3, countryBegin, false}},
		{"segment cut off", marker(0, CityEditionRev1, 10), out{Err: true}},
		{"edition without segments", marker(0, 19), out{Err: true}},
		{"tree larger than the file", marker(0, CityEditionRev1, 0xff, 0xff, 0), out{Err: true}},
		{"large country", marker(0, 17), out{17, 3, largeCountryBegin, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Parse(tt.data)
			var got out
			if err != nil {
				got.Err = true
			} else {
				got = out{db.Type, db.recLen, db.segments, false}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRegionName(t *testing.T) {
	tests := []struct {
		country, region, want string
	}{
		{"RU", "48", "Moscow City"},
		{"US", "CA", "California"},
		{"RU", "48x", "Moscow City"}, // only two characters count
		{"RU", "4", ""},
		{"--", "48", ""},
		{"RU", "ca", ""},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, string(RegionName(tt.country, []byte(tt.region)))); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.country, tt.region, diff)
		}
	}
}

// FuzzParse: any file opens or is refused, and lookups in what opens stay
// inside it.
func FuzzParse(f *testing.F) {
	f.Add(geoiptest.CountryDB(true, map[string]int{"2001:db8::/32": 225}), []byte("2001:db8::1"))
	f.Add(geoiptest.RecordDB(CityEditionRev1, 3, 32, []string{"10.0.0.0/8"},
		[][]byte{geoiptest.CityRecord(225, "CA", "X", "1", 1, 2, 3, true)}), []byte("10.0.0.1"))
	f.Add(geoiptest.RecordDB(OrgEdition, 4, 32, []string{"10.0.0.0/8"}, [][]byte{[]byte("N\x00")}), []byte("10.0.0.1"))
	f.Add([]byte{0xff, 0xff, 0xff, 2, 0, 0, 0}, []byte("1.2.3.4"))
	f.Fuzz(func(t *testing.T, data, ip []byte) {
		db, err := Parse(data)
		if err != nil {
			return
		}
		a := &Addr{}
		if len(ip) >= 16 {
			copy(a.V6[:], ip)
		}
		for i := 0; i < 4 && i < len(ip); i++ {
			a.V4 = a.V4<<8 | uint32(ip[i])
		}
		for _, utf8 := range []bool{false, true} {
			db.UTF8 = utf8
			db.CountryID(a)
			db.AppendName(nil, a)
			if r, ok := db.City(a); ok {
				db.AppendCity(nil, &r)
				RegionName(r.Code, r.Region)
			}
		}
	})
}
