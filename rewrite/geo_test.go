package rewrite

import (
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/google/go-cmp/cmp"
)

// TestGeoSplitAgainstNginx: these blocks were loaded in nginx 1.22.1 and
// printed by `return 200 "$v|$g|$r|$p"` for the requests below.
func TestGeoSplitAgainstNginx(t *testing.T) {
	c := NewCompiler()
	split := block(dir(1, "split_clients", "$arg_k", "$v"),
		entry(1, "10%", "a"), entry(1, "20.5%", "b"), entry(1, "30%", "c"), entry(1, "*", "d"))
	geos := []*nginxconf.Directive{
		block(dir(2, "geo", "$arg_ip", "$g"),
			entry(2, "default", "def"), entry(2, "10.0.0.0/8", "ten"), entry(2, "10.1.0.0/16", "ten-one"),
			entry(2, "::1", "v6one"), entry(2, "2001:db8::/32", "doc"), entry(2, "delete", "10.2.0.0/16")),
		block(dir(3, "geo", "$arg_ip", "$r"),
			entry(3, "ranges"), entry(3, "default", "rdef"), entry(3, "10.0.0.0-10.0.0.255", "a"),
			entry(3, "10.0.0.10-10.0.0.20", "b"), entry(3, "192.168.0.0-192.169.255.255", "c")),
		block(dir(4, "geo", "$p"),
			entry(4, "proxy", "127.0.0.0/8"), entry(4, "default", "pdef"), entry(4, "10.0.0.0/8", "pten"),
			entry(4, "127.0.0.1", "local")),
	}
	if err := c.SplitClients(split); err != nil {
		t.Fatal(err)
	}
	for _, g := range geos {
		if err := c.Geo(g); err != nil {
			t.Fatal(err)
		}
	}
	cv := mustComplex(t, c, "$v|$g|$r|$p")
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ target, xff, want string }{
		{"/?k=0", "", "b|def|rdef|local"},
		{"/?k=3", "", "c|def|rdef|local"},
		{"/?k=7", "", "d|def|rdef|local"},
		{"/?k=8", "", "a|def|rdef|local"},
		{"/?k=abc", "", "a|def|rdef|local"},
		{"/?k=hello", "", "d|def|rdef|local"},
		{"/?k=gonginx", "", "c|def|rdef|local"},
		{"/?ip=10.0.0.1", "", "a|ten|a|local"},
		{"/?ip=10.1.2.3", "", "a|ten-one|rdef|local"},
		{"/?ip=10.2.0.1", "", "a|ten|rdef|local"},
		{"/?ip=1.2.3.4", "", "a|def|rdef|local"},
		{"/?ip=::1", "", "a|v6one|rdef|local"},
		{"/?ip=2001:db8::5", "", "a|doc|rdef|local"},
		{"/?ip=::ffff:10.0.0.15", "", "a|ten|b|local"},
		{"/?ip=10.0.0.15", "", "a|ten|b|local"},
		{"/?ip=192.169.3.3", "", "a|def|c|local"},
		{"/?ip=bogus", "", "a|def|rdef|local"},
		{"/?ip=10.0.0.1:80", "", "a|def|rdef|local"},
		{"/", "10.9.9.9", "a|def|rdef|pten"},
		{"/", "10.9.9.9, 127.0.0.5", "a|def|rdef|pdef"},
	}
	for _, tt := range tests {
		var hdrs []string
		if tt.xff != "" {
			hdrs = []string{"X-Forwarded-For", tt.xff}
		}
		s := testState(testReq("GET", tt.target, "/", hdrs...))
		if diff := cmp.Diff(tt.want, string(cv.Eval(s, nil))); diff != "" {
			t.Errorf("%s xff=%q: %s", tt.target, tt.xff, diff)
		}
	}
}

func TestGeoDuplicateBuiltin(t *testing.T) {
	c := NewCompiler()
	err := c.Geo(block(dir(5, "geo", "$uri"), entry(5, "default", "x")))
	if diff := cmp.Diff(`the duplicate "uri" variable in /etc/nginx/conf.d/t.conf:5`, errString(err)); diff != "" {
		t.Error(diff)
	}
}

func TestAuthRequestSet(t *testing.T) {
	tests := []struct {
		d    *nginxconf.Directive
		want string
	}{
		{dir(6, "auth_request_set", "$user", "$upstream_http_x_user"), ""},
		{dir(7, "auth_request_set", "user", "x"), `invalid variable name "user" in /etc/nginx/conf.d/t.conf:7`},
		{dir(8, "auth_request_set", "$host", "x"), `the duplicate "host" variable in /etc/nginx/conf.d/t.conf:8`},
	}
	for _, tt := range tests {
		c := NewCompiler()
		if diff := cmp.Diff(tt.want, errString(second(c.AuthRequestSet(tt.d)))); diff != "" {
			t.Errorf("%v: %s", tt.d.Args, diff)
		}
	}
}

func second[T any](_ T, err error) error { return err }
