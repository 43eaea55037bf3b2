package nginxconf

import (
	"testing"
)

func TestParseTime(t *testing.T) {
	// Validity of each value as nginx 1.22 decides it (send_timeout for
	// milliseconds, ssl_session_timeout for seconds), observed with nginx -t.
	tests := []struct {
		in          string
		msec, sec   bool
		msecV, secV int64
	}{
		{"1h30s", true, true, 3630000, 3630},
		{"1h 30s", true, true, 3630000, 3630},
		{"30s1h", false, false, 0, 0},
		{"1d1d", false, false, 0, 0},
		{"10", true, true, 10000, 10},
		{"0", true, true, 0, 0},
		{"1y", false, true, 0, 31536000},
		{"1M", false, true, 0, 2592000},
		{"1w", true, true, 604800000, 604800},
		{"1ms", true, false, 1, 0},
		{"1s500ms", true, false, 1500, 0},
		{"1s 500ms", true, false, 1500, 0},
		{"1.5s", false, false, 0, 0},
		{"s", false, false, 0, 0},
		{"", false, false, 0, 0},
		{"1H", false, false, 0, 0},
		{"10k", false, false, 0, 0},
		{" 1s", false, false, 0, 0},
		{"1s ", true, true, 1000, 1},
		{"1 30s", false, false, 0, 0},
		{"1h  30s", true, true, 3630000, 3630},
		{"30s 1h", false, false, 0, 0},
		{"1h 30", true, true, 3630000, 3630},
		{"5 ", true, true, 5000, 5},
		{"1m1ms", true, false, 60001, 0},
		{"1ms1ms", false, false, 0, 0},
		{"9223372036854775807", false, true, 0, 9223372036854775807},
		{"9223372036854775808", false, false, 0, 0},
		{"2147483648ms", true, false, 2147483648, 0},
	}
	for _, tc := range tests {
		v, ok := ParseTime(tc.in, false)
		if ok != tc.msec || ok && v != tc.msecV {
			t.Errorf("ParseTime(%q, msec) = %d, %v; want %d, %v", tc.in, v, ok, tc.msecV, tc.msec)
		}
		v, ok = ParseTime(tc.in, true)
		if ok != tc.sec || ok && v != tc.secV {
			t.Errorf("ParseTime(%q, sec) = %d, %v; want %d, %v", tc.in, v, ok, tc.secV, tc.sec)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in string
		ok bool
		v  int64
	}{
		{"10", true, 10}, {"1k", true, 1024}, {"1K", true, 1024}, {"2m", true, 2 << 20}, {"1g", false, 0},
		{"1G", false, 0}, {"01", true, 1}, {"1x", false, 0}, {"", false, 0}, {"k", false, 0},
		{"1h30s", false, 0}, {"99999999999999999", true, 99999999999999999}, {"-1", false, 0}, {"1.5m", false, 0},
	}
	for _, tc := range tests {
		v, ok := ParseSize(tc.in)
		if ok != tc.ok || v != tc.v {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, %v", tc.in, v, ok, tc.v, tc.ok)
		}
	}
}

func TestParseOffset(t *testing.T) {
	for in, want := range map[string]int64{"1g": 1 << 30, "1G": 1 << 30, "2k": 2048, "9223372036854775807": 1<<63 - 1} {
		if v, ok := ParseOffset(in); !ok || v != want {
			t.Errorf("ParseOffset(%q) = %d, %v; want %d", in, v, ok, want)
		}
	}
	for _, in := range []string{"9007199254740992k", "1t", ""} {
		if v, ok := ParseOffset(in); ok {
			t.Errorf("ParseOffset(%q) = %d, want error", in, v)
		}
	}
}

func TestArgsAllows(t *testing.T) {
	tests := []struct {
		a    Args
		n    int
		want bool
	}{
		{NoArgs, 0, true}, {NoArgs, 1, false}, {Take1, 1, true}, {Take1, 0, false}, {Take12, 2, true},
		{Take12, 3, false}, {Take1234, 4, true}, {Flag, 1, true}, {Flag, 2, false}, {OneOrMore, 0, false},
		{OneOrMore, 20, true}, {TwoOrMore, 1, false}, {TwoOrMore, 2, true}, {AnyArgs, 0, true},
		{Take7, 7, true}, {Take7 | Take1, 8, false},
	}
	for _, tc := range tests {
		if got := tc.a.Allows(tc.n); got != tc.want {
			t.Errorf("Args(%#x).Allows(%d) = %v, want %v", tc.a, tc.n, got, tc.want)
		}
	}
}

// TestCheckDirective covers ngx_conf_handler's messages, each observed with
// nginx 1.22 -t on a one-line config.
func TestCheckDirective(t *testing.T) {
	d := func(name string, args ...string) *Directive {
		return &Directive{Name: name, Args: args, File: "/c/nginx.conf", Line: 3}
	}
	tests := []struct {
		name      string
		dir       *Directive
		ctx       Context
		block     bool
		sibs      []*Directive
		wantInner Context
		wantErr   string
	}{
		{"unknown", d("foo"), HTTPMainConf, false, nil, 0, `unknown directive "foo" in /c/nginx.conf:3`},
		{"not allowed", d("proxy_pass", "http://a"), HTTPSrvConf, false, nil, 0, `"proxy_pass" directive is not allowed here in /c/nginx.conf:3`},
		{"stream proxy_pass in stream server", d("proxy_pass", "a:1"), StreamSrvConf, false, nil, 0, ""},
		{"args", d("listen"), HTTPSrvConf, false, nil, 0, `invalid number of arguments in "listen" directive in /c/nginx.conf:3`},
		{"no opening", d("server"), HTTPMainConf, false, nil, 0, `directive "server" has no opening "{" in /c/nginx.conf:3`},
		{"not terminated", d("root", "/a"), HTTPLocConf, true, nil, 0, `directive "root" is not terminated by ";" in /c/nginx.conf:3`},
		{"duplicate root", d("root", "/b"), HTTPLocConf, false, []*Directive{d("root", "/a")}, 0, `"root" directive is duplicate in /c/nginx.conf:3`},
		{"alias after root", d("alias", "/b"), HTTPLocConf, false, []*Directive{d("root", "/a")}, 0, `"alias" directive is duplicate, "root" directive was specified earlier in /c/nginx.conf:3`},
		{"flag", d("sendfile", "maybe"), HTTPMainConf, false, nil, 0, `invalid value "maybe" in "sendfile" directive, it must be "on" or "off" in /c/nginx.conf:3`},
		{"flag case", d("sendfile", "ON"), HTTPMainConf, false, nil, 0, ""},
		{"size", d("client_max_body_size", "1x"), HTTPMainConf, false, nil, 0, `"client_max_body_size" directive invalid value in /c/nginx.conf:3`},
		{"number", d("keepalive_requests", "-1"), HTTPMainConf, false, nil, 0, `"keepalive_requests" directive invalid number in /c/nginx.conf:3`},
		{"enum", d("gzip_http_version", "2.0"), HTTPMainConf, false, nil, 0, `invalid value "2.0" in /c/nginx.conf:3`},
		{"bounds", d("limit_req_status", "200"), HTTPMainConf, false, nil, 0, `value must be between 400 and 599 in /c/nginx.conf:3`},
		{"bitmask", d("ssl_protocols", "TLSv1.2", "foo"), HTTPSrvConf, false, nil, 0, `invalid value "foo" in /c/nginx.conf:3`},
		{"duplicate events", d("events"), MainConf, true, []*Directive{d("events")}, 0, `"events" directive is duplicate in /c/nginx.conf:3`},
		{"http", d("http"), MainConf, true, nil, HTTPMainConf, ""},
		{"events", d("events"), MainConf, true, nil, EventConf, ""},
		{"server", d("server"), HTTPMainConf, true, nil, HTTPSrvConf, ""},
		{"upstream server", d("server", "127.0.0.1"), HTTPUpsConf, false, nil, 0, ""},
		{"location", d("location", "/"), HTTPSrvConf, true, nil, HTTPLocConf, ""},
		{"nested location", d("location", "/a"), HTTPLocConf, true, nil, HTTPLocConf, ""},
		{"if in server", d("if", "($a)"), HTTPSrvConf, true, nil, HTTPSifConf, ""},
		{"if in location", d("if", "($a)"), HTTPLocConf, true, nil, HTTPLifConf, ""},
		{"if in if", d("if", "($a)"), HTTPLifConf, true, nil, 0, `"if" directive is not allowed here in /c/nginx.conf:3`},
		{"upstream", d("upstream", "u"), HTTPMainConf, true, nil, HTTPUpsConf, ""},
		{"limit_except", d("limit_except", "GET"), HTTPLocConf, true, nil, HTTPLmtConf, ""},
		{"map is raw", d("map", "$a", "$b"), HTTPMainConf, true, nil, 0, ""},
		{"types is raw", d("types"), HTTPLocConf, true, nil, 0, ""},
		{"stream", d("stream"), MainConf, true, nil, StreamMainConf, ""},
		{"stream server", d("server"), StreamMainConf, true, nil, StreamSrvConf, ""},
		{"mail server", d("server"), MailMainConf, true, nil, MailSrvConf, ""},
		{"include anywhere", d("include", "x"), HTTPUpsConf, false, nil, 0, ""},
		{"too many args", d("worker_processes", "1", "2"), MainConf, false, nil, 0, `invalid number of arguments in "worker_processes" directive in /c/nginx.conf:3`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inner, err := checkDirective(tc.dir, tc.ctx, tc.block, tc.sibs)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.wantErr || inner != tc.wantInner {
				t.Errorf("got (%#x, %q), want (%#x, %q)", inner, got, tc.wantInner, tc.wantErr)
			}
		})
	}
}

func TestDeprecatedWarns(t *testing.T) {
	d := &Directive{Name: "http2_max_requests", Args: []string{"5"}, File: "/c", Line: 1}
	_, err := checkDirective(d, HTTPMainConf, false, nil)
	want := `the "http2_max_requests" directive is obsolete, use the "keepalive_requests" directive instead in /c:1`
	if err == nil || !err.Warn || err.Error() != want {
		t.Errorf("got %v, want warning %q", err, want)
	}
}

// TestConcernsKnown: the presence flags are set from infoByName, so a
// name a check concerns that is not in the table would make the parser
// skip that check.
func TestConcernsKnown(t *testing.T) {
	names := []string{"charset", "source_charset", "memcached_pass", "ssl_certificate"}
	for name := range passSchemes {
		names = append(names, name)
	}
	for i := range bufModules {
		n := &bufModules[i]
		names = append(names, n.buffers, n.bufferSize, n.busy, n.tempWrite, n.maxTemp, n.cache, n.cacheKey, n.module+"_store")
		if n.module == "proxy" || n.module == "uwsgi" { // fastcgi and scgi have no TLS
			names = append(names, n.sslVerify, n.sslTrusted)
		}
	}
	for _, name := range names {
		if info := infoByName[name]; info == nil || info.concerns == 0 {
			t.Errorf("%s: not in the table or concerns no check", name)
		}
	}
}
