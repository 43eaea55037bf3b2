package rewrite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/geoip/geoiptest"
)

func TestAppendNgxFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{float64(float32(55.7543)), "55.7543"},
		{float64(float32(-122.0574)), "-122.0574"},
		{0, "0.0000"},
		{-0.00004, "-0.0000"},
		{0.00005, "0.0001"},
		{1.99996, "2.0000"},
		{float64(float32(float64(1799999)/10000 - 180)), "-0.0001"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, string(appendNgxFloat(nil, tt.in, 4))); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestGeoIPVariables(t *testing.T) {
	d := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	country := write("country.dat", geoiptest.CountryDB(true, map[string]int{"::ffff:10.0.0.0/104": 185, "2001:db8::/32": 225}))
	city := write("city.dat", geoiptest.RecordDB(2, 3, 32, []string{"10.0.0.0/8", "192.0.2.0/24"}, [][]byte{
		geoiptest.CityRecord(185, "48", "Moscow", "119034", 55.7543, 37.6202, 0, false),
		geoiptest.CityRecord(225, "CA", "Mountain View", "94043", 37.4192, -122.0574, 807650, true),
	}))
	org := write("org.dat", geoiptest.RecordDB(5, 4, 32, []string{"10.0.0.0/8"}, [][]byte{[]byte("Nginx\x00")}))
	c := NewCompiler()
	err := c.GeoIP([]*nginxconf.Directive{
		dir(1, "geoip_country", country), dir(2, "geoip_city", city), dir(3, "geoip_org", org, "utf8"),
		dir(4, "geoip_proxy", "127.0.0.1"), dir(5, "geoip_proxy", "10.0.0.0/8"), dir(6, "geoip_proxy_recursive", "on"),
	})
	if err != nil {
		t.Fatal(err)
	}
	cv := mustComplex(t, c, "$geoip_country_code/$geoip_country_code3/$geoip_country_name|$geoip_city_continent_code/"+
		"$geoip_city_country_code/$geoip_city_country_code3/$geoip_city_country_name/$geoip_region/$geoip_region_name/"+
		"$geoip_city/$geoip_postal_code/$geoip_latitude/$geoip_longitude/$geoip_dma_code/$geoip_area_code|$geoip_org")
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote, xff, want string
	}{
		{"client address", "10.1.1.1", "", "RU/RUS/Russian Federation|EU/RU/RUS/Russian Federation/48/Moscow City/Moscow/119034/55.7543/37.6202/0/0|Nginx"},
		{"proxy's X-Forwarded-For", "127.0.0.1", "192.0.2.7", "//|NA/US/USA/United States/CA/California/Mountain View/94043/37.4192/-122.0574/807/650|"},
		{"recursive through trusted", "127.0.0.1", "192.0.2.7, 10.0.0.2", "//|NA/US/USA/United States/CA/California/Mountain View/94043/37.4192/-122.0574/807/650|"},
		{"untrusted client", "192.0.2.1", "10.0.0.1", "//|NA/US/USA/United States/CA/California/Mountain View/94043/37.4192/-122.0574/807/650|"},
		{"ipv6 to ipv4 databases", "127.0.0.1", "2001:db8::1", "US/USA/United States|///////////|"},
		{"mapped", "::ffff:10.0.0.1", "", "RU/RUS/Russian Federation|EU/RU/RUS/Russian Federation/48/Moscow City/Moscow/119034/55.7543/37.6202/0/0|Nginx"},
		{"unix socket", "unix:", "", "//|///////////|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.xff != "" {
				h = []string{"X-Forwarded-For", tt.xff}
			}
			r := testReq("GET", "/", "/", h...)
			r.Conn.RemoteAddr = tt.remote
			s := testState(r)
			var dst []byte
			if diff := cmp.Diff(tt.want, string(cv.Eval(s, dst))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// Steady state: no allocation per request.
			dst = make([]byte, 0, 512)
			if n := testing.AllocsPerRun(20, func() { s.Reset(r); dst = cv.Eval(s, dst[:0]) }); n != 0 {
				t.Errorf("%v allocations per evaluation", n)
			}
		})
	}
}

func TestParseAddrPort(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.1", "10.0.0.1"},
		{"010.000.000.001", "10.0.0.1"}, // ngx_inet_addr: decimal, zeros allowed
		{"1..2.3", "1.0.2.3"},
		{"1.2.3.", "1.2.3.0"},
		{"255.255.255.255", "invalid IP"}, // INADDR_NONE
		{"256.0.0.1", "invalid IP"},
		{"1.2.3", "invalid IP"},
		{"1.2.3.4:80", "1.2.3.4"},
		{"1.2.3.4:0", "invalid IP"},
		{"1.2.3.4:65536", "invalid IP"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"[2001:db8::1]", "invalid IP"},
		{"2001:db8::1", "2001:db8::1"},
		{"::ffff:10.0.0.1", "::ffff:10.0.0.1"},
		{"fe80::1%eth0", "invalid IP"},
		{"unix:", "invalid IP"},
		{"", "invalid IP"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, parseAddrPort([]byte(tt.in)).String()); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.in, diff)
		}
	}
}
