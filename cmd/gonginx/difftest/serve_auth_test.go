package difftest

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Access control compared with nginx 1.22: auth_basic with every password
// format crypt(3) and nginx check, satisfy, limit_except, auth_request,
// and requests that try to get around them. The error log lines are
// compared too.

// authHtpasswd holds one user per format, made by Debian's libxcrypt
// (perl's crypt), openssl passwd and nginx's own test suite; every
// password is "secret" unless the name says otherwise.
const authHtpasswd = "# users\n" +
	"des:Xy66mTkgaWMYA\n" +
	"big:AbRo/ouk8JPLwbOWuVLlen56\n" +
	"md5:$1$SaLt$mAht8d4ruTHcl5CWW3suL/\n" +
	"apr1:$apr1$aPr$kzrbNnM6oXa03GIwQmnkB/\n" +
	"sha256:$5$rounds=1200$saltSALT$B/uu3JjPkC2/QtrLN6OVAUme6G5nBnIQafjp7VdX6eD\n" +
	"sha512:$6$s6$MC93XOZK.SA4XYrBZo4wmdQjQNC52hkEmB78QBWoBDldcHtHf6eEVBdL82X2zgCSk3aqy0g4WOQWIRVj0BdW/0\n" +
	"bc2b:$2b$04$0123456789abcdefghijkekG4i0TYEpk8BRc71W/ARo/HzJumpx66\n" +
	"bc2y:$2y$04$0123456789abcdefghijkekG4i0TYEpk8BRc71W/ARo/HzJumpx66:a comment\n" +
	"bc2a:$2a$04$0123456789abcdefghijkekG4i0TYEpk8BRc71W/ARo/HzJumpx66\r\n" +
	"nt:$3$$878d8014606cda29677a44efa1353fc7\n" +
	"yescrypt:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0\n" +
	"yescryptt:$y$j75/.$sAlT$t76kqFMivRZWvXJeSGH3v.WyTPNwOeDXDl5lJOz.jN5\n" +
	"yescryptbad:$y$j75$abcde$t76kqFMivRZWvXJeSGH3v.WyTPNwOeDXDl5lJOz.jN5\n" +
	"gost:$gy$j75/.$sAlT$dsHLgegozvG78ZlWqpttqhuFzvEF/s7oZ8tX.SGAcW8\n" +
	"plain:{PLAIN}secret\n" +
	"sha:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n" +
	"ssha:{SSHA}yI6cZwQadOA1e+/f+T+H3eCQQhRzYWx0\n" +
	"broken:$1$\n" +
	"badsalt:$1$sa!t$x\n" +
	"unknown:$9$whatever\n" +
	"empty:\n" +
	"#hidden:{PLAIN}secret\n" +
	"last:{PLAIN}secret"

// bigHtpasswd puts users where nginx's 2048-byte reads cut them.
func bigHtpasswd() string {
	head := "#" + strings.Repeat("x", 2040) + "\n" // 2042 bytes
	mid := "straddle:{PLAIN}secretsecret\n" + "#" + strings.Repeat("y", 4096-2042-29-1-10) + "\n"
	cross := "crossname:{PLAIN}secret\n"
	tail := strings.Repeat("#"+strings.Repeat("z", 60)+"\n", 20)
	return head + mid + cross + tail + "late:{PLAIN}secret\n"
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// authGet sends a GET with an Authorization header value ("" for none).
func authGet(name, target, authorization string) harness.Request {
	h := ""
	if authorization != "" {
		h = "Authorization: " + authorization + "\r\n"
	}
	return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\n"+h+"Connection: close\r\n\r\n")
}

func TestServeAuthBasic(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	var requests []harness.Request
	for _, u := range []string{"des", "md5", "apr1", "sha256", "sha512", "bc2b", "bc2y", "bc2a", "nt", "yescrypt", "yescryptt", "yescryptbad", "gost", "plain", "sha", "ssha", "last"} {
		requests = append(requests,
			authGet(u+" right", "/", "Basic "+basicAuth(u, "secret")),
			authGet(u+" wrong", "/", "Basic "+basicAuth(u, "secreT")))
	}
	requests = append(requests,
		authGet("des ignores past 8", "/", "Basic "+basicAuth("des", "secret")),
		authGet("bigcrypt right", "/", "Basic "+basicAuth("big", "longersecret12")),
		authGet("bigcrypt 8 only", "/", "Basic "+basicAuth("big", "longerse")),
		authGet("broken md5", "/", "Basic "+basicAuth("broken", "1")),
		authGet("bad salt char", "/", "Basic "+basicAuth("badsalt", "1")),
		authGet("unknown method", "/", "Basic "+basicAuth("unknown", "1")),
		authGet("empty hash", "/", "Basic "+basicAuth("empty", "")),
		authGet("commented user", "/", "Basic "+basicAuth("#hidden", "secret")),
		authGet("no such user", "/", "Basic "+basicAuth("nobody", "secret")),
		authGet("user prefix", "/", "Basic "+basicAuth("pla", "secret")),
		authGet("no header", "/", ""),
		authGet("other scheme", "/", "Bearer abc"),
		authGet("scheme only", "/", "Basic"),
		authGet("lower-case scheme", "/", "basic "+basicAuth("plain", "secret")),
		authGet("many spaces", "/", "Basic     "+basicAuth("plain", "secret")),
		authGet("bad base64", "/", "Basic ****"),
		authGet("bad length", "/", "Basic cGxhaW"),
		authGet("garbage after '='", "/", "Basic "+basicAuth("plain", "secre")+"=*garbage"),
		authGet("no colon", "/", "Basic "+base64.StdEncoding.EncodeToString([]byte("plain"))),
		authGet("empty user", "/", "Basic "+basicAuth("", "secret")),
		authGet("nul in password", "/", "Basic "+basicAuth("plain", "secret\x00more")),
		authGet("off inside", "/open/x.txt", ""),
		authGet("variable file", "/var/x.txt?f=htpasswd", "Basic "+basicAuth("plain", "secret")),
		authGet("variable file missing", "/var/x.txt?f=nx", "Basic "+basicAuth("plain", "secret")),
		authGet("variable file empty", "/var/x.txt", "Basic "+basicAuth("plain", "secret")),
		authGet("variable file absolute", "/var/x.txt?f=/nonexistent/x", "Basic "+basicAuth("plain", "secret")),
		authGet("user file a directory", "/dir/", "Basic "+basicAuth("plain", "secret")),
		authGet("realm from variable", "/realm/?r=Zone%201", ""),
		authGet("realm variable off", "/realm/?r=off", ""),
		authGet("remote_user", "/user/", "Basic "+basicAuth("plain", "secret")),
		authGet("remote_user wrong", "/user/", "Basic "+basicAuth("plain", "x")),
		authGet("error_page 401", "/page/", ""),
		authGet("big file: password across a buffer", "/big/x.txt", "Basic "+basicAuth("straddle", "secretsecret")),
		authGet("big file: user after 5000 bytes", "/big/x.txt", "Basic "+basicAuth("late", "secret")),
		authGet("big file: user name across a buffer", "/big/x.txt", "Basic "+basicAuth("crossname", "secret")),
		authGet("big file: wrong", "/big/x.txt", "Basic "+basicAuth("late", "x")),
		harness.Request{Name: "401 then a bad request on the connection", Responses: 2,
			Send: []string{"GET / HTTP/1.1\r\nHost: localhost\r\n\r\nget / HTTP/1.1\r\nHost: localhost\r\n\r\n"}},
		harness.Request{Name: "401 then a good request on the connection", Responses: 2,
			Send: []string{"GET / HTTP/1.1\r\nHost: localhost\r\n\r\nGET /open/x.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"}},
	)
	c := harness.Case{
		Name: "auth_basic",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / {
        auth_basic "closed site";
        auth_basic_user_file htpasswd;
        location /open/ { auth_basic off; }
        location /var/ { auth_basic_user_file $arg_f; }
    }
    location /dir/ {
        auth_basic "x";
        auth_basic_user_file html;
    }
    location /realm/ {
        auth_basic $arg_r;
        auth_basic_user_file htpasswd;
    }
    location /user/ {
        auth_basic "u";
        auth_basic_user_file htpasswd;
        add_header X-User "$remote_user" always;
        return 200 "user=$remote_user\n";
    }
    location /page/ {
        auth_basic "p";
        auth_basic_user_file htpasswd;
        error_page 401 /denied.txt;
    }
    location = /denied.txt { }
    location /big/ { auth_basic "big"; auth_basic_user_file big.htpasswd; }
}
`,
		Content: map[string]string{
			"htpasswd":              authHtpasswd,
			"html/index.html":       "protected\n",
			"html/open/x.txt":       "open\n",
			"html/var/x.txt":        "var\n",
			"html/dir/x.txt":        "dir\n",
			"html/denied.txt":       "denied\n",
			"html/realm/index.html": "realm\n",
		},
		ErrorLog: true,
		Requests: requests,
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// satisfy with allow/deny, auth_basic and auth_request together, and
// auth_request's answers.
func TestServeSatisfyAuthRequest(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	good := "Basic " + basicAuth("plain", "secret")
	var requests []harness.Request
	for _, loc := range []string{"/all/allow", "/all/deny", "/all/basic", "/any/allow", "/any/deny", "/any/basic", "/any/denybasic"} {
		for _, sub := range []string{"open", "unauthorized", "forbidden", "error"} {
			requests = append(requests, authGet(loc+"+"+sub, loc+"+"+sub, ""))
		}
		requests = append(requests, authGet(loc+" with user", loc+"+unauthorized", good))
	}
	requests = append(requests,
		authGet("proxied 401 with WWW-Authenticate", "/proxied/401", ""),
		authGet("proxied 204 sets variables", "/proxied/204", ""),
		authGet("proxied 500", "/proxied/500", ""),
		authGet("proxied 302", "/proxied/302", ""),
		authGet("static file allows", "/static/", ""),
		authGet("missing file 404", "/missing/", ""),
		authGet("auth_request off", "/any/off", ""),
		authGet("set survives error_page", "/fallback/", ""),
		authGet("unset variable", "/unset", ""),
		authGet("documented auth backend", "/doc/?a=1", good),
		serveRaw("documented auth backend, POST", "POST /doc/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd"),
		authGet("subrequest skips access", "/viaprotected/", ""),
		authGet("protected itself", "/protected/ok.txt", ""),
		authGet("any: two WWW-Authenticate", "/two/", ""),
		authGet("any: two, then error_page", "/twopage/", ""),
		authGet("any: basic 401, request allows", "/twoallow/", ""),
		authGet("all: basic first", "/twoall/", ""),
	)
	c := harness.Case{
		Name: "satisfy and auth_request",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { return 200 "content\n"; }
    location /all/allow { satisfy all; allow all; auth_request /auth; }
    location /all/deny { satisfy all; deny all; auth_request /auth; }
    location /all/basic { satisfy all; auth_basic "r"; auth_basic_user_file htpasswd; auth_request /auth; }
    location /any/allow { satisfy any; allow all; auth_request /auth; }
    location /any/deny { satisfy any; deny all; auth_request /auth; }
    location /any/basic { satisfy any; auth_basic "r"; auth_basic_user_file htpasswd; auth_request /auth; }
    location /any/denybasic { satisfy any; deny all; auth_basic "r"; auth_basic_user_file htpasswd; auth_request /auth; }
    location /any/off { satisfy any; deny all; auth_request off; }
    location = /auth {
        if ($request_uri ~ "open$") { return 204; }
        if ($request_uri ~ "unauthorized$") { return 401; }
        if ($request_uri ~ "forbidden$") { return 403; }
        return 404;
    }
    location /proxied/ {
        auth_request /up/$uri;
        auth_request_set $who $upstream_http_x_user;
        auth_request_set $st $upstream_status;
        add_header X-Who "$who/$st" always;
        return 200 "in\n";
    }
    location /up/ {
        internal;
        proxy_pass http://{{BACKEND}}/accel?s=$arg_s&h=X-User:%20bob&h=WWW-Authenticate:%20Basic%20realm=%22up%22;
    }
    location = /up//proxied/401 { proxy_pass http://{{BACKEND}}/accel?s=401&h=X-User:%20bob&h=WWW-Authenticate:%20Basic%20realm=%22up%22; }
    location = /up//proxied/204 { proxy_pass http://{{BACKEND}}/accel?s=204&h=X-User:%20bob; }
    location = /up//proxied/500 { proxy_pass http://{{BACKEND}}/accel?s=500; }
    location = /up//proxied/302 { proxy_pass http://{{BACKEND}}/accel?s=302&h=Location:%20/x; }
    location /static/ { auth_request /ok.txt; }
    location /missing/ { auth_request /nothere.txt; }
    location /fallback/ {
        auth_request /up//proxied/204;
        auth_request_set $who $upstream_http_x_user;
        error_page 404 = @fb;
    }
    location @fb { add_header X-Who "fb $who" always; return 204; }
    location = /unset { add_header X-Who "x${who}x" always; return 204; }
    location /doc/ { auth_request /docauth; return 200 "doc $remote_user\n"; }
    location = /docauth {
        internal;
        proxy_pass http://{{BACKEND}}/accel?s=204;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Original-URI $request_uri;
    }
    location /two/ { satisfy any; auth_basic "b"; auth_basic_user_file htpasswd; auth_request /up//proxied/401; }
    location /twopage/ { satisfy any; auth_basic "b"; auth_basic_user_file htpasswd; auth_request /up//proxied/401; error_page 401 /ok.txt; }
    location /twoallow/ { satisfy any; auth_basic "b"; auth_basic_user_file htpasswd; auth_request /up//proxied/204; }
    location /twoall/ { auth_basic "b"; auth_basic_user_file htpasswd; auth_request /up//proxied/401; }
    location /viaprotected/ { auth_request /protected/ok.txt; return 200 "via\n"; }
    location /protected/ { deny all; auth_basic "p"; auth_basic_user_file htpasswd; }
}
`,
		Content: map[string]string{
			"htpasswd":              authHtpasswd,
			"html/ok.txt":           "ok\n",
			"html/protected/ok.txt": "protected\n",
		},
		ErrorLog: true,
		Requests: requests,
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// limit_except: which methods it limits (GET brings HEAD), what its block
// changes, and what the location's rewrite program and try_files do for
// the limited methods (nothing: they are not part of the block's
// configuration).
func TestServeLimitExcept(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	req := func(name, method, target, extra string) harness.Request {
		return serveRaw(name, method+" "+target+" HTTP/1.1\r\nHost: localhost\r\n"+extra+"Connection: close\r\n\r\n")
	}
	good := "Authorization: Basic " + basicAuth("plain", "secret") + "\r\n"
	var requests []harness.Request
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "FOO", "get", "Get"} {
		requests = append(requests,
			req(m+" deny", m, "/deny/x.txt", ""),
			req(m+" auth", m, "/auth/x.txt", ""),
			req(m+" auth with user", m, "/auth/x.txt", good),
			req(m+" return", m, "/ret/x.txt", ""),
			req(m+" try_files", m, "/try/nothing", ""),
			req(m+" proxied", m, "/proxy/x", ""),
		)
	}
	requests = append(requests,
		serveRaw("POST with body", "POST /deny/x.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nbody"),
		req("nested location not limited", "POST", "/deny/inner/x.txt", ""),
		req("allow inside", "POST", "/allowed/x.txt", ""),
		req("proxy inside", "POST", "/inproxy/x", ""),
		req("proxy inside, GET", "GET", "/inproxy/x.txt", ""),
		req("error_page makes it GET", "POST", "/ep/missing", ""),
		req("error_page keeps HEAD", "HEAD", "/ep/missing", ""),
		req("error_page to a named location", "DELETE", "/epn/missing", ""),
		req("error_page to a named location keeps the method", "POST", "/epp/missing", "Content-Length: 0\r\n"),
		req("error_page to a URI makes it GET", "POST", "/epu/missing", "Content-Length: 0\r\n"),
	)
	c := harness.Case{
		Name: "limit_except",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /deny/ {
        limit_except GET { deny all; }
        location /deny/inner/ { }
    }
    location /auth/ {
        limit_except GET POST { auth_basic "methods"; auth_basic_user_file htpasswd; }
    }
    location /ret/ {
        limit_except HEAD { deny 10.0.0.0/8; }
        return 200 "returned\n";
    }
    location /try/ {
        limit_except PUT { allow all; }
        try_files $uri /try/x.txt;
    }
    location /proxy/ {
        limit_except GET { allow 127.0.0.1; deny all; }
        proxy_pass http://{{BACKEND}};
    }
    location /allowed/ {
        deny all;
        limit_except GET { allow 127.0.0.1; deny all; }
    }
    location /inproxy/ {
        limit_except GET { proxy_pass http://{{BACKEND}}; }
    }
    location /ep/ { error_page 404 405 /deny/x.txt; }
    location /epn/ { error_page 404 405 @lim; }
    location @lim { limit_except GET { deny all; } return 200 "named\n"; }
    location /epp/ { error_page 404 @up; }
    location /epu/ { error_page 404 /up/x; }
    location @up { proxy_pass http://{{BACKEND}}; }
    location /up/ { proxy_pass http://{{BACKEND}}; }
}
`,
		Content: map[string]string{
			"htpasswd":              authHtpasswd,
			"html/deny/x.txt":       "deny\n",
			"html/deny/inner/x.txt": "inner\n",
			"html/auth/x.txt":       "auth\n",
			"html/ret/x.txt":        "ret\n",
			"html/try/x.txt":        "try\n",
			"html/allowed/x.txt":    "allowed\n",
			"html/inproxy/x.txt":    "inproxy\n",
		},
		ErrorLog: true,
		Requests: requests,
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Requests that try to reach a protected location by another spelling of
// its path or method: nginx normalizes the URI before matching, so each
// lands where nginx puts it.
func TestServeAccessBypass(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	var requests []harness.Request
	for _, p := range []string{
		"/secret/x.txt", "/%73ecret/x.txt", "/secret%2Fx.txt", "/%2e/secret/x.txt", "/pub/../secret/x.txt",
		"/pub/%2e%2e/secret/x.txt", "//secret/x.txt", "/./secret/x.txt", "/SECRET/x.txt", "/Secret/x.txt",
		"/secret./x.txt", "/secret/x.txt.", "/secret/x.txt%00", "/secret/./x.txt", "/secret//x.txt",
		"/pub/..%2Fsecret/x.txt", "/pub/%2E%2E/secret/x.txt", "/secret/x.txt?a=b", "/secret/x.txt#frag",
		"/auth/x.txt", "/%61uth/x.txt", "//auth//x.txt", "/AUTH/x.txt", "/re/x.TXT", "/re/x.txt",
		"/only/x.txt", "/ONLY/x.txt", "/only/x.txt/", "/only%2fx.txt", "http://localhost/secret/x.txt",
	} {
		requests = append(requests,
			authGet("GET "+p, p, ""),
			serveRaw("POST "+p, "POST "+p+" HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
	}
	for _, m := range []string{"get", "HEAD", "GET", "POST", "FOO", "G\x00T", "GET\t"} {
		requests = append(requests, serveRaw("method "+m, m+" /only/x.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
	}
	c := harness.Case{
		Name: "access bypass",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /secret/ { deny all; }
    location /auth/ { auth_basic "a"; auth_basic_user_file htpasswd; }
    location ~* \.txt$ { }
    location ~ ^/re/.*\.txt$ { deny all; }
    location ^~ /only/ { limit_except GET { deny all; } }
}
`,
		Content: map[string]string{
			"htpasswd":          authHtpasswd,
			"html/secret/x.txt": "secret\n",
			"html/SECRET/x.txt": "upper secret\n",
			"html/auth/x.txt":   "auth\n",
			"html/re/x.txt":     "re\n",
			"html/re/x.TXT":     "re upper\n",
			"html/only/x.txt":   "only\n",
			"html/pub/x.txt":    "pub\n",
		},
		ErrorLog: true,
		Requests: requests,
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A user file the workers may not read: 500 and nginx's crit line.
func TestServeAuthBasicUnreadable(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "auth_basic unreadable",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { auth_basic "x"; auth_basic_user_file htpasswd; }
}
`,
		Content:  map[string]string{"htpasswd": authHtpasswd, "html/index.html": "x\n"},
		Setup:    func(dir string) error { return os.Chmod(filepath.Join(dir, "htpasswd"), 0) },
		ErrorLog: true,
		Requests: []harness.Request{authGet("unreadable", "/", "Basic "+basicAuth("plain", "secret"))},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The info lines: no credentials, auth_delay's delay, and an access log
// with $remote_user.
func TestServeAuthInfoLog(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "auth info log",
		Config: `log_format user "$remote_user|$status|$request_uri";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/user.log user;
    # in the locations: the connection's own info lines are not these tests'
    location / { error_log logs/info.log info; auth_basic "x"; auth_basic_user_file htpasswd; }
    location /delay/ { error_log logs/info.log info; auth_delay 10ms; auth_basic "x"; auth_basic_user_file htpasswd; }
    location /any/ { error_log logs/info.log info; satisfy any; deny all; auth_basic "x"; auth_basic_user_file htpasswd; }
}
`,
		Content:        map[string]string{"htpasswd": authHtpasswd, "html/index.html": "x\n", "html/delay/index.html": "d\n", "html/any/index.html": "a\n", "logs/.keep": ""},
		LogFiles:       []string{"logs/info.log"},
		AccessLogFiles: []string{"logs/user.log"},
		Requests: []harness.Request{
			authGet("none", "/", ""),
			authGet("right", "/", "Basic "+basicAuth("plain", "secret")),
			authGet("wrong", "/", "Basic "+basicAuth("plain", "x")),
			authGet("delayed", "/delay/", "Basic "+basicAuth("plain", "x")),
			authGet("delay not for the right one", "/delay/", "Basic "+basicAuth("plain", "secret")),
			authGet("any, none", "/any/", ""),
			authGet("any, right", "/any/", "Basic "+basicAuth("plain", "secret")),
			authGet("any, wrong", "/any/", "Basic "+basicAuth("nobody", "x")),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// auth_basic, its file, satisfy and auth_request inherited from http and
// server levels and turned off or changed below.
func TestServeAuthInherit(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	good := "Basic " + basicAuth("plain", "secret")
	var requests []harness.Request
	for _, p := range []string{"/a/", "/b/", "/c/", "/d/", "/e/", "/f/", "/g/"} {
		requests = append(requests, authGet(p+" none", p, ""), authGet(p+" right", p, good))
	}
	requests = append(requests, authGet("args in auth_request", "/args/", ""),
		authGet("sent_http of the subrequest", "/sent/", ""),
		authGet("status of the subrequest", "/sent403/", ""))
	c := harness.Case{
		Name: "auth inherit",
		Config: `auth_basic_user_file htpasswd;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    auth_basic "srv";
    location /a/ { }
    location /b/ { auth_basic off; }
    location /c/ { auth_basic_user_file other.htpasswd; }
    location /d/ { satisfy any; allow 127.0.0.1; }
    location /e/ { auth_basic "e"; location /e/ { } }
    location /f/ { auth_request /yes; auth_basic off; }
    location /g/ { auth_request /no; satisfy any; }
    location = /yes { return 204; }
    location = /no { return 403; }
    location /args/ { auth_basic off; auth_request /argsauth?a=1; }
    location /argsauth { return 204; }
    location /sent/ {
        auth_basic off;
        auth_request /sentauth;
        auth_request_set $foo "$sent_http_x_foo/$status/$upstream_status/$request_uri/$uri";
        add_header X-Got $foo always;
    }
    location /sent403/ {
        auth_basic off;
        auth_request /sentno;
        auth_request_set $foo "$sent_http_x_foo/$status";
        add_header X-Got $foo always;
    }
    location = /sentauth { add_header X-Foo bar always; return 204; }
    location = /sentno { add_header X-Foo no always; return 403; }
}
`,
		Content: map[string]string{
			"htpasswd": authHtpasswd, "other.htpasswd": "plain:{PLAIN}other\n",
			"html/a/index.html": "a\n", "html/b/index.html": "b\n", "html/c/index.html": "c\n", "html/d/index.html": "d\n",
			"html/e/index.html": "e\n", "html/f/index.html": "f\n", "html/g/index.html": "g\n", "html/args/index.html": "args\n", "html/sent/index.html": "sent\n",
		},
		ErrorLog: true,
		Requests: requests,
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
