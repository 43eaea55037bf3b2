package difftest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gonginx/gonginx/rewrite/geoip/geoiptest"
)

// The stream geoip module (ngx_stream_geoip_module.so) side by side: the
// client's address comes from a PROXY protocol header (stream realip),
// and every $geoip_* variable is returned to it (with $remote_port, the
// header's).
const streamGeoIPConf = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
load_module /usr/lib/nginx/modules/ngx_stream_geoip_module.so;
daemon off;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
stream {
    set_real_ip_from 127.0.0.1/32;
    geoip_country DIR/country.dat;
    geoip_city DIR/city.dat utf8;
    geoip_org DIR/org.dat;
    server {
        listen 127.0.0.1:PORT proxy_protocol;
        return "port=$remote_port ` + geoipVars + `\n";
    }
    server {
        listen 127.0.0.1:PLAINPORT;
        return "` + geoipVars + `\n";
    }
}
`

func TestServeStreamGeoIP(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_stream_geoip_module.so"); err != nil {
		t.Fatal("nginx's stream geoip module is needed (apt-get install libnginx-mod-stream-geoip):", err)
	}
	cityPrefixes, cityRecords := geoipCityRecords()
	files := map[string][]byte{
		"country.dat": geoiptest.CountryDB(true, map[string]int{"2001:db8::/32": 225, "::ffff:10.0.0.0/104": 185,
			"::ffff:127.0.0.0/104": 3}),
		"city.dat": geoiptest.RecordDB(2, 3, 32, cityPrefixes, cityRecords),
		"org.dat": geoiptest.RecordDB(23, 4, 128, []string{"::ffff:10.0.0.0/104", "2001:db8::/32"},
			[][]byte{[]byte("Nginx\x00"), []byte("Caf\xe9\x00")}),
	}
	clients := []string{"10.0.0.1", "192.0.2.9", "198.51.100.1", "203.0.113.5", "11.0.0.1", "2001:db8::1", "::ffff:10.0.0.1"}
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		plain := freeTCPPort(t)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, strings.ReplaceAll(streamGeoIPConf, "PLAINPORT", strconv.Itoa(plain)), port)
		var out []string
		for _, c := range clients {
			family := "TCP4"
			if strings.Contains(c, ":") {
				family = "TCP6"
			}
			out = append(out, c+": "+streamClient(t, port, []byte("PROXY "+family+" "+c+" "+map[bool]string{true: "::1", false: "127.0.0.1"}[family == "TCP6"]+" 5000 80\r\n")))
		}
		out = append(out, "no proxy header: "+streamClient(t, plain, nil))
		m.quit()
		got[im.name] = out
	}
	if testing.Verbose() {
		t.Logf("nginx:\n%s", strings.Join(got["nginx"], "\n"))
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("stream geoip (-nginx +gonginx):\n%s", diff)
	}
}
