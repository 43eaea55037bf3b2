package location

import (
	"testing"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

// limit_except's methods: the listed ones pass, GET brings HEAD, every
// other method (one nginx does not know included) runs the block.
func TestLimitExceptMethods(t *testing.T) {
	rt := compileConf(t, `server { listen 127.0.0.1:19301;
		location /get/ { limit_except get { deny all; } }
		location /post/ { limit_except POST PUT { deny all; } }
		location /none/ { }
		location /outer/ { limit_except GET { deny all; } location /outer/inner/ { } }
	}`)
	srv := rt.Servers[0]
	methods := []int{http1.MethodGET, http1.MethodHEAD, http1.MethodPOST, http1.MethodPUT, http1.MethodDELETE, http1.MethodOther}
	tests := []struct {
		uri  string
		want []bool // limited, per method above
	}{
		{"/get/x", []bool{false, false, true, true, true, true}},
		{"/post/x", []bool{true, true, false, false, true, true}},
		{"/none/x", []bool{false, false, false, false, false, false}},
		{"/outer/inner/x", []bool{false, false, false, false, false, false}},
	}
	for _, tt := range tests {
		var st rewrite.State
		loc, _ := srv.Match(&st, []byte(tt.uri))
		var got []bool
		for _, m := range methods {
			got = append(got, loc.limited(m) != nil)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.uri, diff)
		}
	}
}

// The limit_except block inherits the location's settings and replaces
// the allow/deny list only when it has its own.
func TestLimitExceptConf(t *testing.T) {
	rt := compileConf(t, `server { listen 127.0.0.1:19302;
		location / {
			satisfy any;
			allow 10.0.0.1;
			auth_basic "r";
			auth_basic_user_file /nonexistent;
			limit_except GET { auth_basic off; }
		}
		location /own/ {
			allow 10.0.0.1;
			limit_except GET { deny all; }
		}
	}`)
	srv := rt.Servers[0]
	var st rewrite.State
	loc, _ := srv.Match(&st, []byte("/x"))
	lc := loc.limited(http1.MethodPOST)
	if lc == nil || !lc.auth.satisfyAny || len(lc.access) != 1 || lc.auth.userFile == nil {
		t.Fatalf("limit_except conf did not inherit: %+v", lc)
	}
	loc, _ = srv.Match(&st, []byte("/own/x"))
	lc = loc.limited(http1.MethodPOST)
	if lc == nil || len(lc.access) != 1 || !lc.access[0].deny {
		t.Fatalf("limit_except's own deny: %+v", lc.access)
	}
}

func TestRemoteIP(t *testing.T) {
	var scratch []byte
	for _, tt := range []struct{ in, want string }{
		{"127.0.0.1", "127.0.0.1"}, {"::ffff:10.1.2.3", "10.1.2.3"}, {"::1", "::1"}, {"unix:", "<nil>"},
	} {
		if got := remoteIP(tt.in, &scratch).String(); got != tt.want {
			t.Errorf("remoteIP(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
