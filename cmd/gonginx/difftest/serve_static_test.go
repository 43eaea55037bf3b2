package difftest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Static serving, try_files, index and the file tests of "if" under
// disable_symlinks, compared with nginx 1.22 including the error log lines.

// staticGet is a GET for the plain-HTTP static cases.
func staticGet(name, target string) harness.Request {
	return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

// symlinkTree makes links under html/ (link → target, as written) and,
// when running as root, gives html/other.txt and html/otherdir to
// another user so if_not_owner has something to refuse.
func symlinkTree(links map[string]string) func(dir string) error {
	return func(dir string) error {
		html := filepath.Join(dir, "html")
		for link, target := range links {
			p := filepath.Join(html, link)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(target, p); err != nil {
				return err
			}
		}
		if os.Getuid() == 0 {
			for _, n := range []string{"other.txt", "otherdir", "otherdir/file.txt"} {
				if err := os.Lchown(filepath.Join(html, n), 65534, 65534); err != nil && !os.IsNotExist(err) {
					return err
				}
			}
		}
		return nil
	}
}

func TestServeDisableSymlinks(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "disable_symlinks",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { }
    location /on/ { disable_symlinks on; }
    location /owner/ { disable_symlinks if_not_owner; }
    location /try/ {
        disable_symlinks on;
        try_files $uri $uri.txt =404;
    }
    location /if/ {
        disable_symlinks on;
        if (-f $request_filename) { return 204; }
        if (-e $request_filename) { return 205; }
    }
    location /ifowner/ {
        disable_symlinks if_not_owner;
        if (!-e $request_filename) { return 206; }
    }
    location /from/ {
        root html/rootlink;
        disable_symlinks on from=$document_root;
    }
    location /nofrom/ {
        root html/rootlink;
        disable_symlinks on;
    }
    location /fromalias/ {
        disable_symlinks on from=$document_root;
        alias html/rootlink/from/;
    }
    location ~ ^/re/(.+)$ {
        disable_symlinks on;
        alias html/on/$1;
    }
}
`,
		Content: map[string]string{
			"html/file.txt":             "top\n",
			"html/other.txt":            "owned by someone else\n",
			"html/otherdir/file.txt":    "in a dir owned by someone else\n",
			"html/on/file.txt":          "on\n",
			"html/on/sub/file.txt":      "sub\n",
			"html/on/idx/index.txt":     "idx\n",
			"html/owner/file.txt":       "owner\n",
			"html/try/file.txt":         "try\n",
			"html/try/ok.txt":           "try ok\n",
			"html/if/file.txt":          "if\n",
			"html/ifowner/file.txt":     "ifowner\n",
			"html/real/from/file.txt":   "from\n",
			"html/real/from/index.html": "from index\n",
			"html/real/nofrom/file.txt": "nofrom\n",
		},
		Setup: symlinkTree(map[string]string{
			"link":                  "file.txt",
			"on/link":               "file.txt",
			"on/abslink":            "../file.txt",
			"on/dirlink":            "sub",
			"on/loop":               "loop",
			"on/dangling":           "nowhere",
			"on/idxlink/index.html": "../file.txt",
			"owner/link":            "file.txt",
			"owner/other":           "../other.txt",
			"owner/otherdirlink":    "../otherdir",
			"try/link":              "file.txt",
			"try/ok":                "ok.txt",
			"if/link":               "file.txt",
			"if/dirlink":            "../on/sub",
			"ifowner/link":          "file.txt",
			"ifowner/other":         "../other.txt",
			"rootlink":              "real",
		}),
		ErrorLog: true,
		Requests: []harness.Request{
			staticGet("off follows", "/link"),
			staticGet("on plain file", "/on/file.txt"),
			staticGet("on link", "/on/link"),
			staticGet("on link up", "/on/abslink"),
			staticGet("on link to dir, file under it", "/on/dirlink/file.txt"),
			staticGet("on link to dir", "/on/dirlink"),
			staticGet("on link to dir with slash", "/on/dirlink/"),
			staticGet("on loop", "/on/loop"),
			staticGet("on dangling", "/on/dangling"),
			staticGet("on missing", "/on/missing"),
			staticGet("on dir", "/on/sub"),
			staticGet("on file with slash", "/on/file.txt/"),
			staticGet("on index file", "/on/idx/"),
			staticGet("on index is a link", "/on/idxlink/"),
			staticGet("on missing dir index", "/on/nodir/"),
			staticGet("if_not_owner same owner", "/owner/link"),
			staticGet("if_not_owner other owner", "/owner/other"),
			staticGet("if_not_owner dir of other owner", "/owner/otherdirlink/file.txt"),
			staticGet("try_files skips a link", "/try/link"),
			staticGet("try_files second", "/try/ok"),
			staticGet("if -f on a link", "/if/link"),
			staticGet("if -f on a file", "/if/file.txt"),
			staticGet("if -e on a dir link", "/if/dirlink"),
			staticGet("if !-e same owner", "/ifowner/link"),
			staticGet("if !-e other owner", "/ifowner/other"),
			staticGet("from document root", "/from/file.txt"),
			staticGet("from document root index", "/from/"),
			staticGet("no from", "/nofrom/file.txt"),
			staticGet("from with alias", "/fromalias/file.txt"),
			staticGet("regex alias link", "/re/link"),
			staticGet("regex alias file", "/re/file.txt"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// return with text, error_page chains and the Content-Type of what they
// send (ngx_http_send_response types the text by the URI's extension).
func TestServeReturnAndErrorPages(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "return and error_page",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    charset utf-8;
    location /text/ { return 200 "text"; }
    location /text404/ { return 404 "not here"; }
    location /text500/ { return 500 "oops"; }
    location /return204 { return 204; }
    location /return200 { return 200; }
    location /return405 { return 405; }
    location /return200text { return 200 "text"; }
    location /return302text { return 302 "text"; }
    location /error404return405 { error_page 404 /return405; return 404; }
    location /error405return204 { error_page 405 /return204; return 405; }
    location /error405return200 { error_page 405 /return200; return 405; }
    location /error405return200text { error_page 405 /return200text; return 405; }
    location /error302return200text { error_page 302 /return200text; return 302 "text"; }
    location /error405return302text { error_page 405 /return302text; return 405; }
    location /error404to302 { error_page 404 =302 /return200text; return 404; }
    location /error404to302url { error_page 404 =302 http://example.com/x; return 404; }
    location /error301 { error_page 301 /return200text; return 301 http://example.com/moved; }
    location /error301own { error_page 301 302 /page.html; return 301 /elsewhere; }
    location /error301static { error_page 301 /page.html; }
    location /error404page { error_page 404 /page.json; }
    location /post { error_page 405 /return200text; }
    location /dir { }
}
`,
		Content: map[string]string{
			"html/page.html":       "<p>page</p>\n",
			"html/page.json":       "{}\n",
			"html/dir/index.html":  "dir\n",
			"html/error301static/": "",
			"html/post/x.txt":      "post\n",
		},
		Requests: []harness.Request{
			staticGet("text html", "/text/a.html"),
			staticGet("text json", "/text/a.json"),
			staticGet("text upper ext", "/text/a.JSON"),
			staticGet("text no ext", "/text/a"),
			staticGet("text unknown ext", "/text/a.zzz"),
			staticGet("text dot dir", "/text/a.d/b"),
			staticGet("text 404 json", "/text404/a.json"),
			staticGet("text 500 css", "/text500/a.css"),
			staticGet("404 page json", "/missing.json"),
			staticGet("return 204", "/return204"),
			staticGet("return 200", "/return200"),
			staticGet("return 405", "/return405"),
			staticGet("return 302 text", "/return302text"),
			staticGet("error 404 return 405", "/error404return405"),
			staticGet("error 405 return 204", "/error405return204"),
			staticGet("error 405 return 200", "/error405return200"),
			staticGet("error 405 return 200 text", "/error405return200text"),
			staticGet("error 302 return 200 text", "/error302return200text"),
			staticGet("error 405 return 302 text", "/error405return302text"),
			staticGet("error 404 =302 uri", "/error404to302"),
			staticGet("error 404 =302 url", "/error404to302url"),
			staticGet("error 301 with return 301", "/error301"),
			staticGet("error 301 302 with return 301", "/error301own"),
			staticGet("error 301 for a directory redirect", "/error301static"),
			staticGet("error 404 page json", "/error404page/x"),
			serveRaw("post static with error page", "POST /post/x.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"),
			staticGet("dir redirect", "/dir"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// charset with a variable and charset_types "*" (ngx_http_charset_filter).
func TestServeCharset(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "charset",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { charset utf-8; }
    location /any/ { charset utf-8; charset_types *; }
    location /types/ { charset koi8-r; charset_types application/json; }
    location /var/ { charset $arg_c; }
    location /varany/ { charset $arg_c; charset_types *; }
    location /ret/ { charset utf-8; charset_types *; return 200 "x"; }
    location /redir/ { charset utf-8; charset_types *; return 302 /x; }
}
`,
		Content: map[string]string{
			"html/a.html":       "a\n",
			"html/a.css":        "a\n",
			"html/any/a.css":    "a\n",
			"html/any/a.bin":    "a\n",
			"html/any/a":        "a\n",
			"html/types/a.json": "{}\n",
			"html/types/a.html": "a\n",
			"html/var/a.html":   "a\n",
			"html/var/a.css":    "a\n",
			"html/varany/a.css": "a\n",
		},
		Requests: []harness.Request{
			staticGet("html", "/a.html"),
			staticGet("css not in types", "/a.css"),
			staticGet("any css", "/any/a.css"),
			staticGet("any octet-stream", "/any/a.bin"),
			staticGet("any no extension", "/any/a"),
			staticGet("any 404 page", "/any/missing"),
			staticGet("types json", "/types/a.json"),
			staticGet("types html not listed", "/types/a.html"),
			staticGet("var utf-8", "/var/a.html?c=utf-8"),
			staticGet("var other name", "/var/a.html?c=windows-1251"),
			staticGet("var empty", "/var/a.html?c="),
			// Not found: nginx's header filter fails, the connection closes
			// without a response.
			staticGet("var not found", "/var/a.html"),
			staticGet("var off", "/var/a.html?c=off"),
			staticGet("var css not in types", "/var/a.css?c=utf-8"),
			staticGet("var any", "/varany/a.css?c=utf-8"),
			staticGet("return text any", "/ret/x.bin"),
			staticGet("redirect any", "/redir/"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// server_name forms and $server_name: regexes with an uppercase letter
// are caseless, ".example.com" is named without its dot.
func TestServeServerNames(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	server := func(names string) string {
		return "server {\n    listen 127.0.0.1:{{PORT}};\n    server_name " + names + ";\n    return 200 \"$server_name|$name\\n\";\n}\n"
	}
	c := harness.Case{
		Name: "server names",
		Config: server("localhost") + server(`""`) + server("www.example.com") + server(`~^EXAMPLE\.COM$`) +
			server(`~^(?P<name>[a-z]+)\Q.example.com\E$`) + server(`~^(?<name>low)\.net$`) +
			server(".dot.example.com") + server("*.wc.example.com") + server("wc2.example.*") +
			server("many.example.com many2.example.com"),
		Requests: func() []harness.Request {
			var rs []harness.Request
			for _, h := range []string{"xxx", "www.example.com", "WWW.EXAMPLE.COM", "example.com", "EXAMPLE.COM",
				"blah.example.com", "BLAH.EXAMPLE.COM", "low.net", "LOW.NET", "dot.example.com", "a.dot.example.com",
				"a.wc.example.com", "wc2.example.org", "many2.example.com"} {
				rs = append(rs, serveRaw("host "+h, "GET / HTTP/1.1\r\nHost: "+h+"\r\nConnection: close\r\n\r\n"))
			}
			return append(rs, serveRaw("no host", "GET / HTTP/1.0\r\n\r\n"))
		}(),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A server alone on its address, named by a regex: the regex still runs
// for its captures (named and numbered), whatever the host.
func TestServeServerNameCapturesAlone(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "server name captures, one server",
		Config: "server {\n    listen 127.0.0.1:{{PORT}};\n    server_name ~^(?<sub>[a-z]+)\\.example\\.com$;\n" +
			"    return 200 \"sub=[$sub] 1=[$1] $server_name\\n\";\n}\n",
	}
	for _, h := range []string{"abc.example.com", "ABC.example.com", "other"} {
		c.Requests = append(c.Requests, serveRaw("host "+h, "GET / HTTP/1.1\r\nHost: "+h+"\r\nConnection: close\r\n\r\n"))
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// error_log at server and location level, with levels: each request's
// lines go to the logs of the configuration it runs under.
func TestServeErrorLogLevels(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "error_log levels",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log logs/server.log;
    location /crit/ { error_log logs/crit.log crit; error_log logs/warn.log warn; }
    location /twice/ { error_log logs/twice.log; error_log logs/twice.log warn; }
    location /nested/ {
        error_log logs/outer.log;
        location /nested/off/ { log_not_found off; }
        location /nested/inner/ { error_log logs/inner.log; }
    }
}
`,
		Content: map[string]string{"logs/.keep": ""},
		Requests: []harness.Request{
			staticGet("server level", "/missing"),
			staticGet("crit level drops an error", "/crit/missing"),
			staticGet("two logs of one file", "/twice/missing"),
			staticGet("nested inherits", "/nested/missing"),
			staticGet("nested log_not_found off", "/nested/off/missing"),
			staticGet("nested own log", "/nested/inner/missing"),
		},
	}
	c.ErrorLog = true
	c.LogFiles = []string{"logs/server.log", "logs/crit.log", "logs/warn.log", "logs/twice.log", "logs/outer.log", "logs/inner.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Preconditions of a static file (the not-modified filter's If-Match and
// If-Unmodified-Since before If-None-Match and If-Modified-Since) and the
// escaping of the redirects nginx makes itself.
func TestServeConditionalsAndRedirects(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	etag := `"65937d25-2"` // html/t: 2 bytes at harness.FixedTime
	cond := func(name, header string) harness.Request {
		return serveRaw(name, "GET /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+header+"\r\n\r\n")
	}
	c := harness.Case{
		Name: "conditionals and redirects",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { }
    location /noetag/ { etag off; }
    location /auto/ { proxy_pass http://{{BACKEND}}; }
    location "/auto sp/" { proxy_pass http://{{BACKEND}}; }
    location '/auto "#%<>?\^` + "`" + `{|}/' { proxy_pass http://{{BACKEND}}; }
    location /i/ { alias html/; }
    location /break { rewrite ^ /other; break; proxy_pass http://{{BACKEND}}/up; }
    location /breakflag { rewrite ^ /other break; proxy_pass http://{{BACKEND}}/up; }
    location /noop { rewrite ^/x$ /other; break; proxy_pass http://{{BACKEND}}/up; }
}
`,
		Content: map[string]string{
			"html/t":           "t\n",
			"html/noetag/t":    "t\n",
			"html/dir sp/x":    "x\n",
			"html/dir%/x":      "x\n",
			"html/dir\u00e9/x": "x\n",
			"html/dir/x":       "x\n",
		},
		Requests: []harness.Request{
			cond("if-match", "If-Match: "+etag),
			cond("if-match fail", `If-Match: "foo"`),
			cond("if-match list", "If-Match: \"foo\", \"bar\", \t"+etag+" , \"baz\""),
			cond("if-match all", "If-Match: *"),
			cond("if-match weak fails", "If-Match: W/"+etag),
			cond("if-match prefix of an item", "If-Match: "+etag+"x"),
			cond("if-none-match weak", "If-None-Match: W/"+etag),
			cond("if-none-match list", "If-None-Match: \"a\",W/"+etag),
			cond("if-unmodified-since later", "If-Unmodified-Since: Wed, 03 Jan 2024 00:00:00 GMT"),
			cond("if-unmodified-since earlier", "If-Unmodified-Since: Mon, 01 Jan 2024 00:00:00 GMT"),
			cond("if-unmodified-since bad", "If-Unmodified-Since: yesterday"),
			cond("if-unmodified-since and if-none-match", "If-Unmodified-Since: Wed, 03 Jan 2024 00:00:00 GMT\r\nIf-None-Match: "+etag),
			serveRaw("if-match without etag", "GET /noetag/t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-Match: *\r\n\r\n"),
			serveRaw("if-none-match star without etag", "GET /noetag/t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-None-Match: *\r\n\r\n"),
			serveRaw("if-match on a 404", "GET /none HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-Match: \"x\"\r\n\r\n"),
			staticGet("dir redirect", "/dir"),
			staticGet("dir redirect args", "/dir?a=b"),
			staticGet("dir redirect escaped", "/dir%20sp"),
			staticGet("dir redirect escaped args", "/dir%20sp?a=b"),
			staticGet("dir redirect percent", "/dir%25"),
			staticGet("dir redirect utf-8", "/dir%C3%A9"),
			staticGet("dir redirect alias", "/i/dir"),
			staticGet("auto", "/auto"),
			staticGet("auto args", "/auto?a=b"),
			staticGet("auto escaped", "/auto%20sp"),
			staticGet("auto escaped args", "/auto%20sp?a=b"),
			// "break" after a rewrite that changed the URI: proxy_pass sends
			// the whole URI without its URI part (valid_location = 0).
			staticGet("break after rewrite", "/break/x"),
			staticGet("rewrite with break flag", "/breakflag/x"),
			staticGet("break without a rewrite", "/noop/x"),
			staticGet("auto escaped strict", "/auto%20%22%23%25%3C%3E%3F%5C%5E%60%7B%7C%7D"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The range filter: max_ranges, If-Range, odd Range values.
func TestServeRanges(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	etag := `"65937d25-14"` // 20 bytes at harness.FixedTime
	rng := func(name, target, headers string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+headers+"\r\n")
	}
	c := harness.Case{
		Name: "ranges",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { }
    location /mr2/ { max_ranges 2; }
    location /mr0/ { max_ranges 0; }
    location /noetag/ { etag off; }
    location /nolm/ { add_header Last-Modified ""; }
    location /lm/ { add_header Last-Modified "Mon, 28 Sep 1970 06:00:00 GMT"; }
    location /tag/ { add_header ETag '"mine"'; }
}
`,
		Content: map[string]string{
			"html/nolm/t":   "0123456789abcdefghij",
			"html/lm/t":     "0123456789abcdefghij",
			"html/tag/t":    "0123456789abcdefghij",
			"html/t":        "0123456789abcdefghij",
			"html/mr2/t":    "0123456789abcdefghij",
			"html/mr0/t":    "0123456789abcdefghij",
			"html/noetag/t": "0123456789abcdefghij",
		},
		Requests: []harness.Request{
			rng("one range", "/t", "Range: bytes=0-4\r\n"),
			rng("empty range set", "/t", "Range: bytes=\r\n"),
			rng("three ranges", "/t", "Range: bytes=0-1,4-5,8-9\r\n"),
			rng("max 2 with two", "/mr2/t", "Range: bytes=0-1,4-5\r\n"),
			rng("max 2 with three", "/mr2/t", "Range: bytes=0-1,4-5,8-9\r\n"),
			rng("max 0", "/mr0/t", "Range: bytes=0-1\r\n"),
			rng("max 0 plain", "/mr0/t", ""),
			rng("if-range etag", "/t", "Range: bytes=0-1\r\nIf-Range: "+etag+"\r\n"),
			rng("if-range weak etag", "/t", "Range: bytes=0-1\r\nIf-Range: W/"+etag+"\r\n"),
			rng("if-range other etag", "/t", "Range: bytes=0-1\r\nIf-Range: \"x\"\r\n"),
			rng("if-range date", "/t", "Range: bytes=0-1\r\nIf-Range: Tue, 02 Jan 2024 03:04:05 GMT\r\n"),
			rng("if-range other date", "/t", "Range: bytes=0-1\r\nIf-Range: Tue, 02 Jan 2024 03:04:06 GMT\r\n"),
			rng("if-range etag without etags", "/noetag/t", "Range: bytes=0-1\r\nIf-Range: "+etag+"\r\n"),
			// The range filter sees Last-Modified and ETag as add_header left them.
			rng("if-range date, last-modified removed", "/nolm/t", "Range: bytes=0-1\r\nIf-Range: Tue, 02 Jan 2024 03:04:05 GMT\r\n"),
			rng("if-range date of add_header", "/lm/t", "Range: bytes=0-1\r\nIf-Range: Mon, 28 Sep 1970 06:00:00 GMT\r\n"),
			rng("if-range file date under add_header", "/lm/t", "Range: bytes=0-1\r\nIf-Range: Tue, 02 Jan 2024 03:04:05 GMT\r\n"),
			rng("if-range etag of add_header", "/tag/t", "Range: bytes=0-1\r\nIf-Range: \"mine\"\r\n"),
			rng("if-range file etag under add_header", "/tag/t", "Range: bytes=0-1\r\nIf-Range: "+etag+"\r\n"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Recoding a body between one-byte charsets (source_charset, charset_map)
// and how it meets ranges, return text and error pages.
func TestServeCharsetRecode(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name:     "charset recode",
		ErrorLog: true,
		Config: `charset_map B A {
    58 59; # X -> Y
    C8 D0;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { charset A; source_charset B; }
    location /same/ { charset b; source_charset B; }
    location /ret/ { charset A; source_charset B; charset_types *; return 200 "XXX\xc8\xff"; }
    location /var/ { charset $arg_c; source_charset B; }
    location /back/ { charset B; source_charset A; }
    location /dir/ { charset A; source_charset B; }
}
`,
		Content: map[string]string{
			"html/t.html":      "X0X1X2X3X4X5X6X7X8X9",
			"html/u.html":      "abc\xc8\xd0\xe0",
			"html/same/t.html": "XXXX",
			"html/var/t.html":  "XXXX",
			"html/back/t.html": "XYXY\xd0",
			"html/dir/sub/x":   "x",
		},
		Requests: []harness.Request{
			staticGet("recode", "/t.html"),
			staticGet("recode high bytes", "/u.html"),
			rangeReq("recode range", "/t.html", "bytes=0-4"),
			rangeReq("recode ranges", "/t.html", "bytes=0-1,10-11"),
			staticGet("same charset", "/same/t.html"),
			staticGet("return text", "/ret/x"),
			staticGet("404 page recoded", "/missing.html"),
			staticGet("var names the map", "/var/t.html?c=A"),
			staticGet("var names the source", "/var/t.html?c=B"),
			staticGet("var names no map", "/var/t.html?c=C"),
			staticGet("back the other way", "/back/t.html"),
			staticGet("301 body recoded", "/dir/sub"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

func rangeReq(name, target, r string) harness.Request {
	return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nRange: "+r+"\r\n\r\n")
}

// What the access log shows of requests the parser rejects: nginx leaves
// $uri empty but set after a URI it could not normalize, and
// $request_uri and $args unset.
func TestServeAccessLogBadRequests(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "access log of 400s",
		Config: `log_format uris "$status [$uri] [$request_uri] [$request] [$args] [$document_uri] [$is_args] [$request_filename]";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/uris.log uris;
    return 200 OK;
}
`,
		Content:        map[string]string{"logs/.keep": ""},
		AccessLogFiles: []string{"logs/uris.log"},
		Requests: []harness.Request{
			serveRaw("above the root", "GET /../bad_uri HTTP/1.0\r\n\r\n"),
			serveRaw("above the root with args", "GET /a/../../x?q=1 HTTP/1.0\r\n\r\n"),
			serveRaw("bad escape", "GET /%zz HTTP/1.0\r\n\r\n"),
			serveRaw("escaped nul", "GET /a%00b HTTP/1.0\r\n\r\n"),
			serveRaw("escaped dots above the root", "GET /%2e%2e/x HTTP/1.0\r\n\r\n"),
			serveRaw("fine", "GET /x?a=b HTTP/1.0\r\n\r\n"),
			serveRaw("empty args", "GET /x? HTTP/1.0\r\n\r\n"),
			serveRaw("bad version", "GET / FOO\r\n\r\n"),
			serveRaw("bad method", "G@T / HTTP/1.0\r\n\r\n"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// access_log takes the first log_format whose name matches caselessly,
// combined (defined first) included, an exact match defined later or
// not.
func TestServeAccessLogFormatCase(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "access log format names",
		Config: `log_format Short "first $status $uri";
log_format short "second $status $uri";
log_format COMBINED "mine $status $uri";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/short.log short;
    access_log logs/combined.log COMBINED;
    return 200 OK;
}
`,
		Content:        map[string]string{"logs/.keep": ""},
		AccessLogFiles: []string{"logs/short.log", "logs/combined.log"},
		Requests: []harness.Request{
			staticGet("one", "/one"),
			staticGet("two", "/two"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Recoding to and from utf-8 (a charset_map with utf-8 values): the body
// loses its length and its ranges; code points without a byte become
// "&#N;", invalid sequences "?".
func TestServeCharsetRecodeUTF8(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "charset recode utf-8",
		Config: `charset_map koi8-r utf-8 {
    C1 D0B0;
    C2 D0B1;
    80 E29480;
    95 E2889A;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /to/ { charset utf-8; source_charset koi8-r; }
    location /from/ { charset koi8-r; source_charset utf-8; }
    location /ret/ { charset utf-8; source_charset koi8-r; charset_types *; return 200 "a\xc1\xc2\x80\xff"; }
}
`,
		Content: map[string]string{
			"html/to/t.html":   "abc\xc1\xc2\x80\x95\xfe-end",
			"html/from/t.html": "abc\xd0\xb0\xd0\xb1\xe2\x94\x80 \xe2\x88\x9a \xd1\x8f \xf0\x9f\x98\x80 \xc0\xaf \xe2\x94 x\xd0",
			"html/from/big.html": func() string {
				b := make([]byte, 0, 70000)
				for len(b) < 69990 {
					b = append(b, "\xd0\xb0\xd0\xb1xyz"...)
				}
				return string(b)
			}(),
		},
		Requests: []harness.Request{
			staticGet("to utf-8", "/to/t.html"),
			rangeReq("to utf-8 ignores ranges", "/to/t.html", "bytes=0-2"),
			serveRaw("to utf-8 http/1.0", "GET /to/t.html HTTP/1.0\r\n\r\n"),
			serveRaw("to utf-8 head", "HEAD /to/t.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			staticGet("from utf-8", "/from/t.html"),
			staticGet("from utf-8 across reads", "/from/big.html"),
			staticGet("return text", "/ret/x"),
			staticGet("404 page", "/to/missing.html"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// nginx numbers charsets as it reads them: a name written again with
// other letter cases is the first spelling.
func TestServeCharsetSpelling(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "charset spelling",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /a/ { charset Windows-1251; }
    charset windows-1251;
    location /b/ { charset WINDOWS-1251; }
    location /c/ { charset $arg_c; }
}
`,
		Content: map[string]string{"html/a/t.html": "a", "html/b/t.html": "b", "html/c/t.html": "c", "html/t.html": "t"},
		Requests: []harness.Request{
			staticGet("first spelling", "/a/t.html"),
			staticGet("server level", "/t.html"),
			staticGet("later spelling", "/b/t.html"),
			staticGet("variable keeps its value", "/c/t.html?c=WINDOWS-1251"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The charset filter on proxied responses: charset_types, "*", a charset
// named by a variable, a backend's own charset left alone.
func TestServeCharsetProxied(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "charset proxied",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /plain/ { charset utf-8; proxy_pass http://{{BACKEND}}; }
    location /json/ { charset utf-8; charset_types application/json; proxy_pass http://{{BACKEND}}; }
    location /any/ { charset utf-8; charset_types *; proxy_pass http://{{BACKEND}}; }
    location /var/ { charset $arg_c; proxy_pass http://{{BACKEND}}; }
    location /redirect/ { charset utf-8; proxy_pass http://{{BACKEND}}; }
}
`,
		Requests: []harness.Request{
			staticGet("text/plain in the default types", "/plain/x"),
			staticGet("text/plain not in charset_types", "/json/x"),
			staticGet("any type", "/any/x"),
			staticGet("variable", "/var/x?c=koi8-r"),
			staticGet("variable empty", "/var/x?c="),
			staticGet("backend 404", "/plain/status/404"),
			staticGet("backend redirect", "/redirect/api/socket/redirect"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
