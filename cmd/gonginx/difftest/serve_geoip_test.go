package difftest

import (
	"strconv"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/gonginx/gonginx/rewrite/geoip/geoiptest"
)

// The geoip module (Debian's dynamic ngx_http_geoip_module.so) with small
// databases written for the case: every $geoip_* variable in a response
// and an access log line (where "-" tells a value not found from an empty
// one), for the client's address and the X-Forwarded-For addresses
// geoip_proxy lets through (recursively), IPv4 and IPv6 databases, the
// utf8 flag, ISO-8859-1 names, US records with metro and area codes.

const geoipVars = "cc=$geoip_country_code cc3=$geoip_country_code3 cn=$geoip_country_name " +
	"area=$geoip_area_code cont=$geoip_city_continent_code ccc=$geoip_city_country_code " +
	"ccc3=$geoip_city_country_code3 ccn=$geoip_city_country_name dma=$geoip_dma_code " +
	"lat=$geoip_latitude lon=$geoip_longitude reg=$geoip_region regn=$geoip_region_name " +
	"city=$geoip_city postal=$geoip_postal_code org=$geoip_org"

func geoipCityRecords() ([]string, [][]byte) {
	return []string{"10.0.0.0/8", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "127.0.0.0/8"},
		[][]byte{
			geoiptest.CityRecord(185, "48", "Moscow", "119034", 55.7543, 37.6202, 0, false),
			geoiptest.CityRecord(225, "CA", "Mountain View", "94043", 37.4192, -122.0574, 807650, true),
			geoiptest.CityRecord(10, "", "Z\xfcrich", "", -0.0001, -179.9999, 0, false),
			geoiptest.CityRecord(0, "ZZ", "", "", 0, 0, 0, false),
			geoiptest.CityRecord(225, "NY", "Loopback", "10001", 40.7, -74, 501212, true),
		}
}

func TestServeGeoIP(t *testing.T) {
	t.Parallel()
	nginx, gonginx := serveNginx(t), serveUnderTest(t)
	// load_module goes before events{}: both run the wrapper with it.
	const load = "load_module /usr/lib/nginx/modules/ngx_http_geoip_module.so;\nevents {}"
	nginx.NginxEvents, gonginx.NginxEvents = load, load
	cityPrefixes, cityRecords := geoipCityRecords()
	v4 := map[string]string{
		"country.dat": string(geoiptest.CountryDB(false, map[string]int{"10.0.0.0/8": 185, "192.0.2.0/24": 225,
			"198.51.100.0/24": 10, "127.0.0.0/8": 1, "203.0.113.0/24": 255})),
		"city.dat": string(geoiptest.RecordDB(2, 3, 32, cityPrefixes, cityRecords)),
		"org.dat": string(geoiptest.RecordDB(5, 4, 32, []string{"10.0.0.0/8", "198.51.100.0/24"},
			[][]byte{[]byte("Nginx\x00"), []byte("Caf\xe9 Networks\x00")})),
	}
	v6Prefixes := []string{"::ffff:10.0.0.0/104", "2001:db8::/32", "::ffff:198.51.100.0/120", "::ffff:127.0.0.0/104"}
	v6 := map[string]string{
		"country.dat": string(geoiptest.CountryDB(true, map[string]int{"2001:db8::/32": 225, "::ffff:10.0.0.0/104": 185,
			"::ffff:127.0.0.0/104": 3, "::10.0.0.0/104": 99})),
		"city.dat": string(geoiptest.RecordDB(31, 3, 128, v6Prefixes[:3], [][]byte{cityRecords[0], cityRecords[1], cityRecords[2]})),
		"org.dat":  string(geoiptest.RecordDB(21, 3, 128, v6Prefixes, [][]byte{[]byte("AS1 Nginx\x00"), []byte("AS2 Doc\x00"), []byte("AS3 Caf\xe9\x00"), []byte("AS4 Lo\x00")})),
	}
	config := func(cityFlag string) string {
		return `geoip_proxy 127.0.0.1/32;
geoip_proxy 192.0.2.0/24;
geoip_proxy_recursive on;
geoip_country country.dat;
geoip_city city.dat ` + cityFlag + `;
geoip_org org.dat ` + cityFlag + `;
log_format geo "$uri ` + geoipVars + `";
server {
    listen 127.0.0.1:{{PORT}};
    access_log geo.log geo;
    location / {
        return 200 "` + geoipVars + `\n";
    }
}
`
	}
	xffs := []string{"", "10.0.0.1", "192.0.2.9", "198.51.100.1", "203.0.113.5", "11.0.0.1", "2001:db8::1",
		"::ffff:10.0.0.1", "::ffff:198.51.100.7", "10.0.0.1, 192.0.2.1", "198.51.100.1, 10.0.0.1",
		"10.0.0.1:8080", "garbage", "2001:0:4136:e378:8000:63bf:f5ff:fffe", "0.0.0.0",
		// ngx_parse_addr_port's forms
		"010.000.000.001", "198.51.100.", "10..0.1", "255.255.255.255", "[2001:db8::5]:443", "[2001:db8::5]",
		"10.0.0.1:0", "192.0.2.1 , 198.51.100.3", "fe80::1%lo", "203.0.113.5,"}
	var reqs []harness.Request
	for i, xff := range xffs {
		h := ""
		if xff != "" {
			h = "X-Forwarded-For: " + xff + "\r\n"
		}
		reqs = append(reqs, harness.Request{Name: "xff " + xff,
			Send: []string{"GET /" + strconv.Itoa(i) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + h + "\r\n"}})
	}
	cases := []harness.Case{
		{Name: "ipv4 databases", Config: config(""), Content: v4, Requests: reqs, AccessLogFiles: []string{"geo.log"}},
		{Name: "ipv4 databases, utf8", Config: config("utf8"), Content: v4, Requests: reqs, AccessLogFiles: []string{"geo.log"}},
		{Name: "ipv6 databases", Config: config(""), Content: v6, Requests: reqs, AccessLogFiles: []string{"geo.log"}},
		{Name: "ipv6 databases, utf8", Config: config("utf8"), Content: v6, Requests: reqs, AccessLogFiles: []string{"geo.log"}},
		{Name: "no databases", Config: `log_format geo "$uri ` + geoipVars + `";
server {
    listen 127.0.0.1:{{PORT}};
    access_log geo.log geo;
    location / { return 200 "` + geoipVars + `\n"; }
}
`, Requests: reqs[:2], AccessLogFiles: []string{"geo.log"}},
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			harness.Compare(t, c, nginx, gonginx, serveAssets(t))
		})
	}
}
