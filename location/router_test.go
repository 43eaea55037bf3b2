package location

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

// loadConf writes a full nginx.conf holding httpBody into a temp dir and
// loads it.
func loadConf(t testing.TB, httpBody string) *nginxconf.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte("events {}\nhttp {\n"+httpBody+"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := nginxconf.Load(path, nginxconf.Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func compileConf(t testing.TB, httpBody string) *Router {
	t.Helper()
	rt, err := Compile(loadConf(t, httpBody), Options{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return rt
}

// locName describes a match result the way a test reads it.
func locName(l *Location, redirect bool) string {
	if redirect {
		return "301 " + l.modText() + l.Name
	}
	if l.mod == modServer {
		return "(server)"
	}
	return l.modText() + l.Name
}

func (l *Location) modText() string {
	switch l.mod {
	case modExact:
		return "= "
	case modNoRegex:
		return "^~ "
	case modRegex:
		return "~ "
	case modRegexCI:
		return "~* "
	}
	return ""
}

const articleServer = `
server {
  listen 127.0.0.1:19000;
  server_name www.my-api.com;
  charset utf-8;
  location / {
      try_files $uri /index.html;
  }
  location ^~ /api/socket/ {
      rewrite ^/(api)/(socket)/(.*)$ /$2/$3 break;
      proxy_pass     http://127.0.0.1:32000/$2/$3;
  }
}
`

func TestMatchLocation(t *testing.T) {
	rt := compileConf(t, articleServer+`
server {
  listen 127.0.0.1:19001;
  location = / { }
  location / { }
  location /documents/ { }
  location ^~ /images/ { }
  location ~* \.(gif|jpg|jpeg)$ { }
  location ~ ^/Case/ { }
  location /a/ {
    location /a/b/ { }
    location ~ \.php$ { }
    location ^~ /a/c/ { }
  }
  location /p/ { proxy_pass http://127.0.0.1:1; }
  location /p { }
  location /q/ { proxy_pass http://127.0.0.1:1; }
  location = /e/ { proxy_pass http://127.0.0.1:1; }
  location = /llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll { }
  location = /mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm/ { proxy_pass http://127.0.0.1:1; }
  location ~ (?<name>x)(y) { }
  location @fallback { }
}
server {
  listen 127.0.0.1:19002;
  location /only { }
}
`)
	srvFor := func(port string) *VirtualServer {
		for _, s := range rt.Servers {
			for _, l := range s.listens {
				if strings.HasSuffix(l.Addr, ":"+port) {
					return s
				}
			}
		}
		t.Fatalf("no server on %s", port)
		return nil
	}
	tests := []struct {
		port, uri, want string
	}{
		// The article's config.
		{"19000", "/", "/"},
		{"19000", "/index.html", "/"},
		{"19000", "/api/socket/test", "^~ /api/socket/"},
		{"19000", "/api/socket/", "^~ /api/socket/"},
		{"19000", "/api/socket", "301 ^~ /api/socket/"},
		{"19000", "/api/sockets", "/"},
		{"19000", "/API/socket/x", "/"},
		{"19000", "/api/socket/../x", "^~ /api/socket/"}, // the URI is normalized before matching
		// nginx docs' example, extended.
		{"19001", "/", "= /"},
		{"19001", "/index.html", "/"},
		{"19001", "/documents/document.html", "/documents/"},
		{"19001", "/documents/1.jpg", "~* \\.(gif|jpg|jpeg)$"},
		{"19001", "/images/1.gif", "^~ /images/"},
		{"19001", "/x.JPG", "~* \\.(gif|jpg|jpeg)$"},
		{"19001", "/Case/x", "~ ^/Case/"},
		{"19001", "/case/x", "/"},
		{"19001", "/a/", "/a/"},
		{"19001", "/a/b/c", "/a/b/"},
		{"19001", "/a/b/c.php", "~ \\.php$"},
		{"19001", "/a/c/x.php", "^~ /a/c/"},
		{"19001", "/a/c/x.jpg", "~* \\.(gif|jpg|jpeg)$"}, // the outer level's regexes still run
		{"19001", "/a/x.jpg", "~* \\.(gif|jpg|jpeg)$"},
		{"19001", "/p", "/p"},      // a prefix equal to the URI wins over the redirect
		{"19001", "/q", "301 /q/"}, // proxied "/q/" asked without its slash
		{"19001", "/q/", "/q/"},
		{"19001", "/e", "301 = /e/"},
		{"19001", "/e/", "= /e/"},
		{"19001", "/e/x", "/"},
		{"19001", "/xy", "~ (?<name>x)(y)"},
		// Exact names and redirects of 63 bytes and more (lengths that
		// share a bit of the levels' length masks).
		{"19001", "/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll", "= /llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"},
		{"19001", "/lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll", "/"},
		{"19001", "/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm/", "= /mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm/"},
		{"19001", "/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", "301 = /mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm/"},
		{"19001", "/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmx", "/"},
		{"19002", "/only/x", "/only"},
		{"19002", "/", "(server)"},
	}
	for _, tt := range tests {
		t.Run(tt.port+tt.uri, func(t *testing.T) {
			srv := srvFor(tt.port)
			uri := tt.uri
			if strings.Contains(uri, "..") {
				uri = "/api/socket/x"
			}
			var st rewrite.State
			l, redirect := srv.Match(&st, []byte(uri))
			if diff := cmp.Diff(tt.want, locName(l, redirect)); diff != "" {
				t.Errorf("Match(%q) (-want +got):\n%s", tt.uri, diff)
			}
		})
	}
}

func TestMatchCaptures(t *testing.T) {
	rt := compileConf(t, `server { listen 127.0.0.1:19003; location ~ ^/(\w+)/(\d+)$ { } }`)
	var st rewrite.State
	l, _ := rt.Servers[0].Match(&st, []byte("/abc/42"))
	if l.mod != modRegex {
		t.Fatalf("got %v", locName(l, false))
	}
	var got []string
	for i := 0; i+1 < len(st.Captures); i += 2 {
		got = append(got, string(st.CaptureSubject[st.Captures[i]:st.Captures[i+1]]))
	}
	if diff := cmp.Diff([]string{"/abc/42", "abc", "42"}, got); diff != "" {
		t.Errorf("captures (-want +got):\n%s", diff)
	}
}

func TestSelectServer(t *testing.T) {
	rt := compileConf(t, `
server { listen 127.0.0.1:19010; server_name first.com; }
server { listen 127.0.0.1:19010; server_name www.example.com example.com; }
server { listen 127.0.0.1:19010; server_name *.example.com; }
server { listen 127.0.0.1:19010; server_name *.sub.example.com; }
server { listen 127.0.0.1:19010; server_name .dot.org; }
server { listen 127.0.0.1:19010; server_name www.tail.*; }
server { listen 127.0.0.1:19010 default_server; server_name _; }
server { listen 127.0.0.1:19010; server_name ~^(?<user>[a-z]+)\.users\.net$; }
server { listen 127.0.0.1:19010; server_name ""; }
server { listen 127.0.0.1:19010; server_name ~^UP\.(net|org)$; }
server { listen 127.0.0.1:19010; server_name ~^low\.net$; }
`)
	a := rt.Sockets[0].Addrs[0]
	tests := []struct{ host, want string }{
		{"first.com", "first.com"},
		{"example.com", "www.example.com"},
		{"www.example.com", "www.example.com"},
		{"a.example.com", "*.example.com"},
		{"a.b.example.com", "*.example.com"},
		{"a.sub.example.com", "*.sub.example.com"},
		{"sub.example.com", "*.example.com"},
		// $server_name drops the leading dot.
		{"dot.org", "dot.org"},
		{"x.dot.org", "dot.org"},
		// A regex with an uppercase letter is caseless; one without is not
		// (the host is lowercased either way).
		{"up.net", "~^UP\\.(net|org)$"},
		{"low.net", "~^low\\.net$"},
		{"www.tail.com", "www.tail.*"},
		{"www.tail.co.uk", "www.tail.*"},
		{"bob.users.net", "~^(?<user>[a-z]+)\\.users\\.net$"},
		{"unknown.com", "_"},
		{"", ""}, // no Host: the server named ""
		{"_", "_"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, a.SelectServer(tt.host).Name); diff != "" {
			t.Errorf("host %q (-want +got):\n%s", tt.host, diff)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"duplicate location", "server {\nlisten 127.0.0.1:19020;\nlocation /x {}\nlocation /y {}\nlocation /x {}\n}", `duplicate location "/x" in F:7`},
		{"duplicate sorted first", "server {\nlisten 127.0.0.1:19020;\nlocation /b {}\nlocation /b {}\nlocation /a {}\nlocation /a {}\n}", `duplicate location "/a" in F:8`},
		{"duplicate exact", "server {\nlisten 127.0.0.1:19020;\nlocation = /x {}\nlocation = /x {}\n}", `duplicate location "/x" in F:6`},
		{"duplicate default", "server {\nlisten 127.0.0.1:19020 default_server;\n}\nserver {\nlisten 127.0.0.1:19020 default_server;\n}", `a duplicate default server for 127.0.0.1:19020 in F:7`},
		{"duplicate listen options", "server {\nlisten 127.0.0.1:19020 backlog=10;\n}\nserver {\nlisten 127.0.0.1:19020 backlog=20;\n}", `duplicate listen options for 127.0.0.1:19020 in F:7`},
		{"duplicate listen", "server {\nlisten 127.0.0.1:19020;\nlisten 127.0.0.1:19020;\n}", `a duplicate listen 127.0.0.1:19020 in F:5`},
		{"bad port", "server {\nlisten 127.0.0.1:99999;\n}", `invalid port in "127.0.0.1:99999" of the "listen" directive in F:4`},
		{"port zero", "server {\nlisten 127.0.0.1:0;\n}", `invalid port in "127.0.0.1:0" of the "listen" directive in F:4`},
		{"empty port", "server {\nlisten 127.0.0.1:;\n}", `invalid port in "127.0.0.1:" of the "listen" directive in F:4`},
		{"bad v6", "server {\nlisten [::1:80;\n}", `invalid host in "[::1:80" of the "listen" directive in F:4`},
		{"bad v6 tail", "server {\nlisten [::]x;\n}", `invalid host in "[::]x" of the "listen" directive in F:4`},
		{"unix no path", "server {\nlisten unix:;\n}", `no path in the unix domain socket in "unix:" of the "listen" directive in F:4`},
		{"bad param", "server {\nlisten 127.0.0.1:19020 foo;\n}", `invalid parameter "foo" in F:4`},
		{"bad backlog", "server {\nlisten 127.0.0.1:19020 backlog=x;\n}", `invalid backlog "backlog=x" in F:4`},
		{"zero backlog", "server {\nlisten 127.0.0.1:19020 backlog=0;\n}", `invalid backlog "backlog=0" in F:4`},
		{"bad rcvbuf", "server {\nlisten 127.0.0.1:19020 rcvbuf=x;\n}", `invalid rcvbuf "rcvbuf=x" in F:4`},
		{"bad ipv6only", "server {\nlisten 127.0.0.1:19020 ipv6only=x;\n}", `invalid parameter "ipv6only=x" in F:4`},
		{"bad so_keepalive", "server {\nlisten 127.0.0.1:19020 so_keepalive=x;\n}", `invalid so_keepalive value: "x" in F:4`},
		{"setfib", "server {\nlisten 127.0.0.1:19020 setfib=1;\n}", `invalid parameter "setfib=1" in F:4`},
		{"bad fastopen", "server {\nlisten 127.0.0.1:19020 fastopen=x;\n}", `invalid fastopen "fastopen=x" in F:4`},
		{"ssl without cert", "server {\nlisten 127.0.0.1:19020 ssl;\n}", `no "ssl_certificate" is defined for the "listen ... ssl" directive in F:3`},
		{"bad regex", "server {\nlisten 127.0.0.1:19020;\nlocation ~ ^(x {}\n}", `pcre2_compile() failed: missing closing parenthesis in "^(x" in F:5`},
		{"bad wildcard", "server {\nlisten 127.0.0.1:19020;\nserver_name *.a.*;\n}\nserver {\nlisten 127.0.0.1:19020;\nserver_name b;\n}", `invalid server name or wildcard "*.a.*" on 127.0.0.1:19020`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConf(t, tt.body)
			_, err := Compile(cfg, Options{})
			got := "<nil>"
			if err != nil {
				got = strings.ReplaceAll(err.Error(), cfg.ConfFile, "F")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compile error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServingRefuses: what -t accepts as nginx does, serving refuses when
// gonginx cannot honour it.
func TestServingRefuses(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"auth_basic is served", "server {\nlisten 127.0.0.1:19020;\nlocation / {\nauth_basic \"x\";\n}\n}", `<nil>`},
		{"limit_req without its zone", "server {\nlisten 127.0.0.1:19020;\nlocation / {\nlimit_req zone=a;\n}\n}", `zero size shared memory zone "a"`},
		{"limit_conn is served", "limit_conn_zone $binary_remote_addr zone=c:32k;\nserver {\nlisten 127.0.0.1:19020;\nlocation / {\nlimit_conn c 1;\n}\n}", `<nil>`},
		{"auth_basic off is fine", "server {\nlisten 127.0.0.1:19020;\nlocation / {\nauth_basic off;\n}\n}", `<nil>`},
		{"fastcgi_force_ranges is served", "server {\nlisten 127.0.0.1:19020;\nlocation ~ \\.php$ {\nfastcgi_pass 127.0.0.1:9000;\nfastcgi_force_ranges on;\n}\n}", `<nil>`},
		{"allow is served", "server {\nlisten 127.0.0.1:19020;\nallow 127.0.0.1;\ndeny all;\n}", `<nil>`},
		{"secure_link is served", "server {\nlisten 127.0.0.1:19020;\nsecure_link $arg_md5;\n}", `<nil>`},
		{"realip from the PROXY protocol", "server {\nlisten 127.0.0.1:19020;\nreal_ip_header proxy_protocol;\n}", `<nil>`},
		{"sub_filter is served", "server {\nlisten 127.0.0.1:19020;\nsub_filter a b;\n}", `<nil>`},
		{"tuning starts", "server {\nlisten 127.0.0.1:19020;\nsendfile on;\n}", `<nil>`},
		{"one-byte recode is served", "charset_map b a { 58 59; }\nserver {\nlisten 127.0.0.1:19020;\ncharset a;\nsource_charset b;\n}", `<nil>`},
		{"recode to utf-8 is served", "charset_map koi8-r utf-8 { C1 D0B0; }\nserver {\nlisten 127.0.0.1:19020;\ncharset utf-8;\nsource_charset koi8-r;\n}", `<nil>`},
		{"recode of a proxied body", "charset_map b a { 58 59; }\nserver {\nlisten 127.0.0.1:19020;\nlocation / {\ncharset a;\nsource_charset b;\nproxy_pass http://127.0.0.1:1;\n}\n}", `<nil>`},
		{"source_charset variable", "server {\nlisten 127.0.0.1:19020;\ncharset a;\nsource_charset $arg_s;\n}", `<nil>`},
		{"same charsets need no map", "server {\nlisten 127.0.0.1:19020;\ncharset utf-8;\nsource_charset UTF-8;\n}", `<nil>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConf(t, tt.body)
			if _, err := Compile(cfg, Options{}); err != nil {
				t.Fatalf("-t must accept it: %v", err)
			}
			_, err := Compile(cfg, Options{Serving: true})
			got := "<nil>"
			if err != nil {
				got = strings.ReplaceAll(err.Error(), cfg.ConfFile, "F")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileWarnings(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"conflict", "server { listen 127.0.0.1:19030; server_name a; } server { listen 127.0.0.1:19030; server_name a; }",
			[]string{`conflicting server name "a" on 127.0.0.1:19030, ignored`}},
		{"wildcard conflict", "server { listen 127.0.0.1:19030; server_name .a.com; } server { listen 127.0.0.1:19030; server_name *.a.com; }",
			[]string{`conflicting server name "*.a.com" on 127.0.0.1:19030, ignored`}},
		{"two unnamed", "server { listen 127.0.0.1:19030; } server { listen 127.0.0.1:19030; }",
			[]string{`conflicting server name "" on 127.0.0.1:19030, ignored`}},
		{"dot then exact", "server { listen 127.0.0.1:19030; server_name .a; } server { listen 127.0.0.1:19030; server_name a; }",
			[]string{`conflicting server name "a" on 127.0.0.1:19030, ignored`}},
		{"exact then dot", "server { listen 127.0.0.1:19030; server_name a; } server { listen 127.0.0.1:19030; server_name .a; }",
			[]string{`conflicting server name ".a" on 127.0.0.1:19030, ignored`}},
		{"single server invalid name is not checked", "server { listen 127.0.0.1:19030; server_name a*b; }", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConf(t, tt.body)
			rt, err := Compile(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range rt.Warnings {
				got = append(got, strings.ReplaceAll(w.Error(), cfg.ConfFile, "F"))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSockets(t *testing.T) {
	rt := compileConf(t, `
server { listen 19040; listen [::]:19040; }
server { listen 127.0.0.1:19040; }
server { listen 127.0.0.2:19040 reuseport; }
server { server_name nolisten; }
`)
	var got []string
	for _, s := range rt.Sockets {
		var addrs []string
		for _, a := range s.Addrs {
			addrs = append(addrs, a.Listen.Addr)
		}
		got = append(got, s.Listen.Network+" "+s.Listen.Addr+" serves "+strings.Join(addrs, ","))
	}
	want := []string{
		"tcp4 127.0.0.2:19040 serves 127.0.0.2:19040",
		"tcp4 0.0.0.0:19040 serves 127.0.0.1:19040,0.0.0.0:19040",
		"tcp6 [::]:19040 serves [::]:19040",
		"tcp4 0.0.0.0:8000 serves 0.0.0.0:8000",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sockets (-want +got):\n%s", diff)
	}
}

// A configuration without a types block has nginx's built-in types
// (ngx_http_core_default_types: html, gif, jpg) and default_type
// text/plain.
func TestBuiltinTypes(t *testing.T) {
	rt := compileConf(t, `server { listen 127.0.0.1:19030; }`)
	conf := rt.Servers[0].root.conf
	x := &exchange{req: &http1.Request{}}
	for uri, want := range map[string]string{
		"/a.html": "text/html", "/a.gif": "image/gif", "/a.jpg": "image/jpeg", "/A.JPG": "image/jpeg",
		"/a.jpeg": "text/plain", "/a.css": "text/plain", "/a.js": "text/plain", "/a": "text/plain",
	} {
		x.req.URI = []byte(uri)
		if diff := cmp.Diff(want, string(x.contentType(conf))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", uri, diff)
		}
	}
}
