package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// expires with times counted from the request (1h, -1, 0, +30s, through
// variables, and a map on $sent_http_content_type, the way real configs
// pick a cache time per type), shown relative to the response's Date.
func TestServeExpiresTimes(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "expires times",
		Config: `map $sent_http_content_type $expires {
    default                 off;
    text/html               epoch;
    text/css                max;
    application/javascript  1h;
    ~image/                 -10m;
    application/json        0;
    text/xml                bad;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    expires $expires;
    location / { }
    location /acc/ { expires 1h; }
    location /neg/ { expires -1; }
    location /zero/ { expires 0; }
    location /plus/ { expires +30s; }
    location /var/ { expires $arg_e; }
    location /modvar/ { expires modified $arg_e; }
    location /if/ { expires 2h; if ($arg_a) { expires 3h; } if ($arg_b) { } }
    location /up/ { expires 1h; proxy_pass http://{{BACKEND}}/; }
    location /upmap/ { proxy_pass http://{{BACKEND}}/; }
    location /upetag/ { add_header ETag ""; add_header Last-Modified ""; proxy_pass http://{{BACKEND}}/; }
    location /upetag2/ { add_header ETag '"new"'; proxy_pass http://{{BACKEND}}/; }
    location /submod/ { sub_filter a b; expires modified 1h; add_header X-LM "[$sent_http_last_modified]"; }
    location /ssimod/ { ssi on; expires modified 1h; }
    location /upmod/ { expires modified 1h; add_header X-CC $sent_http_cache_control; proxy_pass http://{{BACKEND}}/; }
    location /ret/ { return 200 "ret\n"; }
    location /ret404/ { return 404; }
    location /cc/ { expires 1h; add_header Cache-Control public; add_header X-CC $sent_http_cache_control; }
    location /upcc/ { expires epoch; add_header Cache-Control private; proxy_pass http://{{BACKEND}}/; }
    location /modret/ { expires modified 1h; return 200 "no Last-Modified\n"; }
    location /modneg/ { expires modified -1h; return 200 "no Last-Modified\n"; }
}
`,
		Content: map[string]string{
			"html/a.html":        "html\n",
			"html/a.css":         "css\n",
			"html/a.js":          "js\n",
			"html/a.png":         "png\n",
			"html/a.json":        "{}\n",
			"html/a.xml":         "<a/>\n",
			"html/a.txt":         "txt\n",
			"html/acc/f":         "f\n",
			"html/neg/f":         "f\n",
			"html/zero/f":        "f\n",
			"html/plus/f":        "f\n",
			"html/var/f":         "f\n",
			"html/modvar/f":      "f\n",
			"html/if/f":          "f\n",
			"html/cc/a.txt":      "cc\n",
			"html/submod/a.html": "a\n",
			"html/ssimod/a.html": "a\n",
		},
		Clock: harness.ClockRelative,
		Requests: []harness.Request{
			plainGet("map: html epoch", "/a.html"),
			plainGet("map: css max", "/a.css"),
			plainGet("map: js 1h", "/a.js"),
			plainGet("map: image -10m", "/a.png"),
			plainGet("map: json 0", "/a.json"),
			plainGet("map: invalid value", "/a.xml"),
			plainGet("map: default off", "/a.txt"),
			plainGet("map: 404 page", "/nope.html"),
			plainGet("map: return text/plain", "/ret/"),
			plainGet("map: proxied html", "/upmap/typed?ct=text/html&body=x"),
			plainGet("map: proxied js", "/upmap/typed?ct=application/javascript&body=x"),
			plainGet("map: proxied html; charset", "/upmap/typed?ct=text/html;%20charset=utf-8&body=x"),
			plainGet("1h", "/acc/f"),
			plainGet("-1", "/neg/f"),
			plainGet("0", "/zero/f"),
			plainGet("+30s", "/plus/f"),
			plainGet("var 1d", "/var/f?e=1d"),
			plainGet("var -1h", "/var/f?e=-1h"),
			plainGet("var 0", "/var/f?e=0"),
			plainGet("var +2m", "/var/f?e=%2B2m"),
			plainGet("var modified 1h", "/modvar/f?e=1h"),
			plainGet("var modified epoch", "/modvar/f?e=epoch"),
			plainGet("if replaces", "/if/f?a=1"),
			plainGet("if inherits", "/if/f?b=1"),
			plainGet("proxied with its own Expires and Cache-Control", "/up/caching"),
			plainGet("proxied with two Expires", "/up/accel?h=Expires:%20Thu,%2001%20Jan%201998%2000:00:00%20GMT&h=Expires:%20Fri,%2002%20Jan%201998%2000:00:00%20GMT"),
			plainGet("proxied with two Last-Modified, modified", "/upmod/accel?h=Last-Modified:%20Thu,%2001%20Jan%201998%2000:00:00%20GMT&h=Last-Modified:%20Fri,%2002%20Jan%201998%2000:00:00%20GMT"),
			plainGet("proxied with an invalid Last-Modified, modified", "/upmod/accel?h=Last-Modified:%20yesterday"),
			plainGet("proxied with a lenient Last-Modified, modified", "/upmod/accel?h=Last-Modified:%20Thu,%2001%20Jan%201998%2000:00:00%20GMT;%20x"),
			plainGet("proxied two ETags and Last-Modifieds, removed", "/upetag/accel?h=ETag:%20%22a%22&h=ETag:%20%22b%22&h=Last-Modified:%20Thu,%2001%20Jan%201998%2000:00:00%20GMT&h=Last-Modified:%20Fri,%2002%20Jan%201998%2000:00:00%20GMT"),
			plainGet("proxied two ETags, replaced", "/upetag2/accel?h=ETag:%20%22a%22&h=ETag:%20%22b%22"),
			plainGet("sub_filter drops Last-Modified after expires read it", "/submod/a.html"),
			plainGet("ssi drops Last-Modified after expires read it", "/ssimod/a.html"),
			plainGet("proxied with three Cache-Control", "/up/accel?h=Cache-Control:%20a&h=Cache-Control:%20b&h=Cache-Control:%20c"),
			hostGet("304", "localhost", "/acc/f", imsExact),
			plainGet("404 with expires", "/ret404/"),
			plainGet("expires and add_header Cache-Control", "/cc/a.txt"),
			plainGet("proxied: expires and add_header Cache-Control", "/upcc/caching"),
			plainGet("modified without Last-Modified", "/modret/"),
			plainGet("modified negative without Last-Modified", "/modneg/"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// "expires @time": the next such local time of day; the harness shows
// it as a time of day and a day offset from the response's Date.
func TestServeExpiresDaily(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "expires daily",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { expires @15h30m; return 200 "x\n"; }
    location /var/ { expires $arg_e; return 200 "x\n"; }
}
`,
		Clock: harness.ClockDaily,
		Requests: []harness.Request{
			plainGet("@15h30m", "/"),
			plainGet("var @0h", "/var/?e=@0h"),
			plainGet("var @12h", "/var/?e=@12h"),
			plainGet("var @23h59m", "/var/?e=@23h59m"),
			plainGet("var @24h", "/var/?e=@24h"),
			plainGet("var @25h: invalid", "/var/?e=@25h"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
