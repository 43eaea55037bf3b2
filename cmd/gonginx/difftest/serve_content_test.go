package difftest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The content modules of real configs: autoindex (every format, the
// options, index first, errors and conditional requests), random_index
// and empty_gif, compared with nginx 1.22 byte for byte, error log
// included.

// listedTree makes the directories and links of a listing case and then
// gives every name under html/ (links themselves included) one mtime, so
// the dates of the listings agree between the two servers.
func listedTree(dirs []string, links map[string]string, sizes map[string]int64, modes map[string]os.FileMode) func(dir string) error {
	return func(dir string) error {
		html := filepath.Join(dir, "html")
		for _, d := range dirs {
			if err := os.MkdirAll(filepath.Join(html, d), 0o755); err != nil {
				return err
			}
		}
		for link, target := range links {
			if err := os.Symlink(target, filepath.Join(html, link)); err != nil {
				return err
			}
		}
		for name, size := range sizes {
			// Sparse: a "5G" file costs nothing.
			if err := os.Truncate(filepath.Join(html, name), size); err != nil {
				return err
			}
		}
		err := filepath.Walk(html, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return lutimes(p, harness.FixedTime)
		})
		if err != nil {
			return err
		}
		for name, mode := range modes {
			if err := os.Chmod(filepath.Join(html, name), mode); err != nil {
				return err
			}
		}
		return nil
	}
}

// lutimes sets the times of p itself, not of what a link points to
// (utimensat with AT_SYMLINK_NOFOLLOW).
func lutimes(p string, t time.Time) error {
	b, err := syscall.BytePtrFromString(p)
	if err != nil {
		return err
	}
	ts := [2]syscall.Timespec{syscall.NsecToTimespec(t.UnixNano()), syscall.NsecToTimespec(t.UnixNano())}
	const atFDCWD, atSymlinkNofollow = -100, 0x100
	fd := atFDCWD
	_, _, e := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), uintptr(unsafe.Pointer(b)), uintptr(unsafe.Pointer(&ts[0])), atSymlinkNofollow, 0, 0)
	if e != 0 {
		return &os.PathError{Op: "utimensat", Path: p, Err: e}
	}
	return nil
}

func TestServeAutoindex(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	long := strings.Repeat("0", 50)
	utf := strings.Repeat("\u0444", 45)
	c := harness.Case{
		Name: "autoindex",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { autoindex on; }
    location /utf8/ { autoindex on; charset utf-8; }
    location /badutf8/ { autoindex on; charset utf-8; alias html/bad/; }
    location /koi/ { autoindex on; charset koi8-r; alias html/utf8/; }
    location /scaled/ { autoindex on; autoindex_exact_size off; alias html/sizes/; }
    location /exact/ { autoindex on; alias html/sizes/; }
    location /local/ { autoindex on; autoindex_localtime on; alias html/sizes/; }
    location /json/ { autoindex on; autoindex_format json; alias html/; }
    location /jsonp/ { autoindex on; autoindex_format jsonp; alias html/; charset utf-8; }
    location /xml/ { autoindex on; autoindex_format xml; alias html/; charset koi8-r; }
    location /hdr/ { autoindex on; alias html/sizes/; add_header X-Listing yes; expires epoch; }
    location /off/ { alias html/sizes/; }
    location /idx/ { autoindex on; }
    location /qidx/ { index "a?b.html"; }
    location /absidx/ { index /qidx/a?b.html; }
    location /closed/ { autoindex on; }
    location ~ ^/re(/.*)$ { autoindex on; alias html$1; }
}
`,
		Content: map[string]string{
			"html/test-file":                                                 "",
			"html/test-colon:blah":                                           "",
			"html/test-long-" + long:                                         "",
			"html/test-long-" + strings.Repeat(">", 50):                      "",
			"html/test-escape-url-%":                                         "",
			"html/test-escape-url2-?":                                        "",
			"html/test-escape-html-<>&\"'":                                   "",
			"html/test-json-\\\t\x01\x1f":                                    "",
			"html/.hidden":                                                   "",
			"html/exactly-fifty-" + strings.Repeat("x", 31):                  "",
			"html/utf8/test-utf8-" + utf[:6]:                                 "",
			"html/utf8/test-utf8-" + utf:                                     "",
			"html/utf8/test-utf8-<>&-" + utf:                                 "",
			"html/utf8/test-utf8-" + utf[:6] + "-" + strings.Repeat(">", 45): "",
			"html/bad/bad-\xff\xfe-" + utf[:4]:                               "",
			"html/sizes/zero":                                                "",
			"html/sizes/b9999":                                               strings.Repeat("x", 9999),
			"html/sizes/k10000":                                              strings.Repeat("x", 10000),
			"html/sizes/k10751":                                              strings.Repeat("x", 10751),
			"html/sizes/k10752":                                              strings.Repeat("x", 10752),
			"html/sizes/m1":                                                  "",
			"html/sizes/m23":                                                 "",
			"html/sizes/g5":                                                  "",
			"html/idx/index.html":                                            "index wins\n",
			"html/qidx/a?b.html":                                             "a?b\n",
			"html/closed/x":                                                  "",
		},
		Setup: listedTree(
			[]string{"test-dir", "test-dir-escape-<>&", "d-" + strings.Repeat("y", 47), "d-" + strings.Repeat("y", 48), "sizes/sub", "empty"},
			map[string]string{"test-dir-link": "test-dir", "test-file-link": "test-file", "dangling": "nowhere", "loop": "loop"},
			map[string]int64{"sizes/m1": 1024*1024 - 1, "sizes/m23": 23*1024*1024 + 512*1024, "sizes/g5": 5 << 30},
			map[string]os.FileMode{"closed": 0o311},
		),
		ErrorLog: true,
		Requests: []harness.Request{
			staticGet("html", "/"),
			serveRaw("html HTTP/1.0", "GET / HTTP/1.0\r\n\r\n"),
			serveRaw("head", "HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			serveRaw("post declines", "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"),
			serveRaw("put", "PUT / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"),
			serveRaw("expect", "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"),
			serveRaw("if-none-match star", "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-None-Match: *\r\n\r\n"),
			serveRaw("if-none-match star and ims", "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-None-Match: *\r\nIf-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT\r\n\r\n"),
			serveRaw("if-none-match etag", "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-None-Match: \"x\"\r\n\r\n"),
			serveRaw("if-unmodified-since", "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-Unmodified-Since: Tue, 02 Jan 2024 03:04:05 GMT\r\n\r\n"),
			serveRaw("if-match star", "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-Match: *\r\n\r\n"),
			serveRaw("range", "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nRange: bytes=0-10\r\n\r\n"),
			{Name: "keep-alive: three listings", Responses: 3, Send: []string{
				"GET /sizes/ HTTP/1.1\r\nHost: localhost\r\n\r\n" +
					"GET /scaled/ HTTP/1.1\r\nHost: localhost\r\n\r\n" +
					"GET /json/sizes/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"}},
			serveRaw("HTTP/0.9", "GET /sizes/\r\n"),
			staticGet("escaped title", "/test-dir-escape-%3C%3E&/"),
			staticGet("empty dir", "/empty/"),
			staticGet("dir without slash", "/empty"),
			staticGet("missing dir", "/missing/"),
			staticGet("file with slash", "/test-file/"),
			staticGet("utf8", "/utf8/"),
			staticGet("not utf8", "/koi/"),
			staticGet("invalid utf8", "/bad/"),
			staticGet("invalid utf8 with charset utf-8", "/badutf8/"),
			staticGet("scaled sizes", "/scaled/"),
			staticGet("exact sizes", "/exact/"),
			staticGet("localtime", "/local/"),
			staticGet("json", "/json/"),
			staticGet("json empty", "/json/empty/"),
			staticGet("jsonp", "/jsonp/?callback=foo.bar_1"),
			staticGet("jsonp empty callback", "/jsonp/?callback="),
			staticGet("jsonp no callback", "/jsonp/?x=1"),
			staticGet("jsonp callback later", "/jsonp/?a=1&CALLBACK=cb"),
			staticGet("jsonp bad callback", "/jsonp/?callback=a-b"),
			staticGet("jsonp long callback", "/jsonp/?callback="+strings.Repeat("a", 129)),
			staticGet("xml", "/xml/"),
			staticGet("headers", "/hdr/"),
			staticGet("autoindex off", "/off/"),
			staticGet("index first", "/idx/"),
			staticGet("index name with '?'", "/qidx/?x=1"),
			staticGet("absolute index with '?'", "/absidx/?x=1"),
			staticGet("unreadable dir", "/closed/"),
			staticGet("regex alias", "/re/sizes/"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

func TestServeRandomIndexAndEmptyGif(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "random_index and empty_gif",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { random_index on; }
    location /auto/ { random_index on; autoindex on; }
    location /gif { empty_gif; }
    location /gif/nested { }
    location /gifcharset { empty_gif; charset utf-8; charset_types *; add_header X-Gif yes; expires modified 1h; }
    location /gifif { if ($arg_x) { } empty_gif; }
    location /gifbefore { empty_gif; if_modified_since before; }
    location /gifimsoff { empty_gif; if_modified_since off; }
    location /gifstub { stub_status; empty_gif; }
    location /proxygif { proxy_pass http://{{BACKEND}}; empty_gif; }
    location /gifproxy { empty_gif; proxy_pass http://{{BACKEND}}; }
}
`,
		Content: map[string]string{
			"html/one/only.txt":     "the only file\n",
			"html/one/.hidden":      "hidden\n",
			"html/q/a?b":            "question\n",
			"html/auto/sub/x":       "",
			"html/auto/.dot":        "",
			"html/gif/nested/a.txt": "nested\n",
		},
		Setup:    listedTree([]string{"none", "q/d"}, map[string]string{"one/dirlink": "../none", "one/dangling": "nowhere"}, nil, nil),
		ErrorLog: true,
		Requests: []harness.Request{
			staticGet("one file", "/one/"),
			staticGet("one file with args", "/one/?a=1"),
			staticGet("name with question mark", "/q/"),
			staticGet("no files: index", "/none/"),
			staticGet("missing dir", "/missing/"),
			staticGet("no files: autoindex", "/auto/"),
			serveRaw("post", "POST /one/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"),
			serveRaw("put", "PUT /one/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"),
			staticGet("gif", "/gif"),
			staticGet("gif any uri", "/gif/x.html?y"),
			serveRaw("gif HTTP/0.9", "GET /gif\r\n"),
			staticGet("gif not in nested location", "/gif/nested/a.txt"),
			serveRaw("gif head", "HEAD /gif HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			serveRaw("gif post", "POST /gif HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"),
			serveRaw("gif put", "PUT /gif HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi"),
			serveRaw("gif not modified", "GET /gif HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-Modified-Since: Mon, 28 Sep 1970 06:00:00 GMT\r\n\r\n"),
			serveRaw("gif modified", "GET /gif HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-Modified-Since: Mon, 28 Sep 1970 05:00:00 GMT\r\n\r\n"),
			serveRaw("gif modified since before", "GET /gifbefore HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT\r\n\r\n"),
			serveRaw("gif if_modified_since off", "GET /gifimsoff HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-Modified-Since: Mon, 28 Sep 1970 06:00:00 GMT\r\n\r\n"),
			serveRaw("gif none match star", "GET /gif HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-None-Match: *\r\n\r\n"),
			serveRaw("gif unmodified since", "GET /gif HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-Unmodified-Since: Mon, 28 Sep 1970 05:00:00 GMT\r\n\r\n"),
			serveRaw("gif if-match", "GET /gif HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nIf-Match: \"x\"\r\n\r\n"),
			serveRaw("gif range", "GET /gif HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nRange: bytes=0-1\r\n\r\n"),
			serveRaw("gif expect", "GET /gif HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"),
			staticGet("gif charset and headers", "/gifcharset"),
			staticGet("gif in if", "/gifif?x=1"),
			staticGet("the last handler wins", "/gifstub"),
			staticGet("empty_gif after proxy_pass", "/proxygif"),
			staticGet("proxy_pass after empty_gif", "/gifproxy"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
