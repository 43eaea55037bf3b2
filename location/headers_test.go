package location

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

func TestParseExpires(t *testing.T) {
	type result struct {
		Mode expiresMode
		Time int64
		Msg  string
	}
	tests := []struct {
		in   string
		mode expiresMode
		want result
	}{
		{"epoch", expiresAccess, result{expiresEpoch, 0, ""}},
		{"max", expiresAccess, result{expiresMax, 0, ""}},
		{"off", expiresAccess, result{expiresOff, 0, ""}},
		{"2048", expiresAccess, result{expiresAccess, 2048, ""}},
		{"+1h", expiresAccess, result{expiresAccess, 3600, ""}},
		{"-2048", expiresAccess, result{expiresAccess, -2048, ""}},
		{"1d 2h", expiresAccess, result{expiresAccess, 93600, ""}},
		{"@15h30m33s", expiresAccess, result{expiresDaily, 55833, ""}},
		{"@25h", expiresAccess, result{expiresDaily, 0, "daily time value must be less than 24 hours"}},
		{"2048", expiresModified, result{expiresModified, 2048, ""}},
		{"epoch", expiresModified, result{expiresModified, 0, "invalid value"}},
		{"@1h", expiresModified, result{expiresModified, 0, `daily time cannot be used with "modified" parameter`}},
		{"", expiresAccess, result{expiresAccess, 0, "invalid value"}},
		{"1x", expiresAccess, result{expiresAccess, 0, "invalid value"}},
	}
	for _, tt := range tests {
		m, n, msg := parseExpires(tt.in, tt.mode)
		if diff := cmp.Diff(tt.want, result{m, n, msg}); diff != "" {
			t.Errorf("parseExpires(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestNextTime(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		sec  int64
		want time.Time
	}{
		{15*3600 + 30*60 + 33, time.Date(2026, 12, 6, 15, 30, 33, 0, time.UTC)},
		{10 * 3600, time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}, // not ahead: tomorrow
		{3600, time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		if got := nextTime(now, tt.sec); got != tt.want.Unix() {
			t.Errorf("nextTime(%d) = %v, want %v", tt.sec, time.Unix(got, 0).UTC(), tt.want)
		}
	}
}

func hdrs(kv ...string) []http1.Header {
	var out []http1.Header
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, http1.Header{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return out
}

func hdrText(hs []http1.Header) []string {
	var out []string
	for _, h := range hs {
		out = append(out, string(h.Name)+": "+string(h.Value))
	}
	return out
}

func addHdr(name, value string, always bool) addHeader {
	h := addHeader{name: []byte(name), static: []byte(value), always: always}
	switch strings.ToLower(name) {
	case "last-modified":
		h.kind = addLastModified
	case "etag":
		h.kind = addETag
	}
	return h
}

// TestApplyHeaders runs the filter on response heads as the handlers
// build them, with the results nginx 1.22 gives (checked against it).
func TestApplyHeaders(t *testing.T) {
	const lm1970 = 23349600 // Mon, 28 Sep 1970 06:00:00 GMT
	tests := []struct {
		name    string
		conf    locConf
		status  int
		lastMod int64
		in      []http1.Header
		want    []string
		wantLM  int64
	}{
		{"append after the handler's", locConf{addHeaders: []addHeader{addHdr("X-A", "a", false), addHdr("X-B", "b", true)}},
			200, -1, hdrs("ETag", `"1-2"`), []string{`ETag: "1-2"`, "X-A: a", "X-B: b"}, -1},
		{"404: always only", locConf{addHeaders: []addHeader{addHdr("X-A", "a", false), addHdr("X-B", "b", true)}},
			404, -1, nil, []string{"X-B: b"}, -1},
		{"empty adds nothing", locConf{addHeaders: []addHeader{addHdr("X-A", "", true)}},
			200, -1, nil, nil, -1},
		{"ETag replaced in place", locConf{addHeaders: []addHeader{addHdr("ETag", "foo", false)}},
			200, -1, hdrs("ETag", `"1-2"`, "X-Up", "u"), []string{"ETag: foo", "X-Up: u"}, -1},
		{"ETag removed by empty", locConf{addHeaders: []addHeader{addHdr("etag", "", false)}},
			200, -1, hdrs("ETag", `"1-2"`, "X-Up", "u"), []string{"X-Up: u"}, -1},
		{"Last-Modified replaces the file's time", locConf{addHeaders: []addHeader{addHdr("Last-Modified", "Mon, 28 Sep 1970 06:00:00 GMT", false)}},
			200, 1000, nil, []string{"Last-Modified: Mon, 28 Sep 1970 06:00:00 GMT"}, -1},
		{"empty Last-Modified removes the backend's", locConf{addHeaders: []addHeader{addHdr("Last-Modified", "", false)}},
			200, -1, hdrs("Last-Modified", "x", "X-Up", "u"), []string{"X-Up: u"}, -1},
		{"Cache-Control appends", locConf{addHeaders: []addHeader{addHdr("Cache-Control", "private", false)}},
			200, -1, hdrs("Cache-Control", "public"), []string{"Cache-Control: public", "Cache-Control: private"}, -1},
		{"epoch", locConf{expires: expiresConf{mode: expiresEpoch}},
			200, -1, nil, []string{"Expires: Thu, 01 Jan 1970 00:00:01 GMT", "Cache-Control: no-cache"}, -1},
		{"max", locConf{expires: expiresConf{mode: expiresMax}},
			301, -1, nil, []string{"Expires: Thu, 31 Dec 2037 23:55:55 GMT", "Cache-Control: max-age=315360000"}, -1},
		{"not for 404", locConf{expires: expiresConf{mode: expiresMax}}, 404, -1, nil, nil, -1},
		{"backend's replaced: last Expires, first Cache-Control, others dropped",
			locConf{expires: expiresConf{mode: expiresEpoch}, addHeaders: []addHeader{addHdr("X-A", "a", false)}},
			200, -1, hdrs("Expires", "e1", "Cache-Control", "c1", "Cache-Control", "c2", "Expires", "e2", "X-Up", "u"),
			[]string{"Expires: e1", "Cache-Control: no-cache", "Expires: Thu, 01 Jan 1970 00:00:01 GMT", "X-Up: u", "X-A: a"}, -1},
		{"Expires kept in place, Cache-Control appended", locConf{expires: expiresConf{mode: expiresMax}},
			200, -1, hdrs("Expires", "e1", "X-Up", "u"),
			[]string{"Expires: Thu, 31 Dec 2037 23:55:55 GMT", "X-Up: u", "Cache-Control: max-age=315360000"}, -1},
		{"modified: the file's time", locConf{expires: expiresConf{mode: expiresModified, time: 2048}},
			200, lm1970, nil, []string{"Expires: Mon, 28 Sep 1970 06:34:08 GMT", "Cache-Control: no-cache"}, lm1970},
		{"modified: a proxied Last-Modified", locConf{expires: expiresConf{mode: expiresModified, time: 2048}},
			200, -1, hdrs("Last-Modified", "Mon, 28 Sep 1970 06:00:00 GMT"),
			[]string{"Last-Modified: Mon, 28 Sep 1970 06:00:00 GMT", "Expires: Mon, 28 Sep 1970 06:34:08 GMT", "Cache-Control: no-cache"}, -1},
		{"negative: no-cache", locConf{expires: expiresConf{mode: expiresModified, time: -1}},
			200, lm1970, nil, []string{"Expires: Mon, 28 Sep 1970 05:59:59 GMT", "Cache-Control: no-cache"}, lm1970},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := &exchange{}
			resp := &http1.Response{Status: tt.status, LastModified: tt.lastMod}
			got := x.applyHeaders(&tt.conf, resp, tt.status, append([]http1.Header(nil), tt.in...))
			if diff := cmp.Diff(tt.want, hdrText(got)); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if resp.LastModified != tt.wantLM {
				t.Errorf("LastModified = %d, want %d", resp.LastModified, tt.wantLM)
			}
		})
	}
}

// TestApplyHeadersAccess checks "expires TIME" from now: the max-age is
// the time, Expires a date.
func TestApplyHeadersAccess(t *testing.T) {
	x := &exchange{}
	conf := &locConf{expires: expiresConf{mode: expiresAccess, time: 2048}}
	got := hdrText(x.applyHeaders(conf, &http1.Response{Status: 200, LastModified: 1}, 200, nil))
	if len(got) != 2 || got[1] != "Cache-Control: max-age=2048" || !strings.HasPrefix(got[0], "Expires: ") {
		t.Fatalf("got %q", got)
	}
	if _, err := time.Parse(time.RFC1123, strings.TrimPrefix(got[0], "Expires: ")); err != nil {
		t.Errorf("Expires: %v", err)
	}
}

// Expires is made from the time the head's Date carries: nginx's both are
// its one cached time, so they agree when a second turns between them
// (a difftest saw Expires one second short of Date plus max-age).
func TestApplyHeadersExpiresFromHeadTime(t *testing.T) {
	c := http1.NewConn(&loopConn{}, &http1.ConnInfo{})
	at := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	c.SetEventTime(at)
	x := &exchange{c: c}
	conf := &locConf{expires: expiresConf{mode: expiresAccess, time: 2048}}
	got := hdrText(x.applyHeaders(conf, &http1.Response{Status: 200, LastModified: 1}, 200, nil))
	want := []string{"Expires: " + at.Add(2048*time.Second).Format(http.TimeFormat), "Cache-Control: max-age=2048"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if ht := c.HeadTime(); !ht.Equal(at) {
		t.Errorf("the head's time moved to %v", ht)
	}
}

func TestFilterHeaderAllocs(t *testing.T) {
	conf := &locConf{addHeaders: []addHeader{addHdr("X-A", "a", false), addHdr("ETag", "e", false)},
		expires: expiresConf{mode: expiresAccess, time: 3600}}
	x := &exchange{srv: &VirtualServer{}, curConf: conf, req: &http1.Request{}}
	own := hdrs("ETag", `"1-2"`, "Cache-Control", "c")
	resp := &http1.Response{}
	run := func() {
		*resp = http1.Response{Status: 200, LastModified: -1, Headers: own}
		x.FilterHeader(resp)
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("FilterHeader: %v allocs per request, want 0", n)
	}
}

// TestServeHeaders runs the filter through the server: inheritance by
// level and "if" block, static files (before the range filter's
// Accept-Ranges), return, error pages.
func TestServeHeaders(t *testing.T) {
	ts := startTest(t, `server {
    listen 127.0.0.1:PORT;
    root DIR/html;
    add_header X-Srv s;
    location / { }
    location /own/ {
        add_header X-Own $uri always;
        expires epoch;
        if ($arg_if) { add_header X-If i; }
    }
    location /ret { add_header X-Ret r; return 200 "t"; }
    location /nf { add_header X-Nf n; add_header X-Nfa a always; return 404; }
    location /ep { error_page 404 /own/page.txt; }
    location /tr/ { add_trailer X-T "t $uri"; add_trailer X-E ""; add_trailer X-404 n always; }
    location /trnc/ { add_trailer X-T t; chunked_transfer_encoding off; }
}`)
	ts.file(t, "html/tr/a.txt", "tr")
	ts.file(t, "html/trnc/a.txt", "nc")
	ts.file(t, "html/a.txt", "a")
	ts.file(t, "html/own/a.txt", "b")
	ts.file(t, "html/own/page.txt", "page")
	tests := []struct{ req, want string }{
		{get("/a.txt"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n" +
			"X-Srv: s\r\nAccept-Ranges: bytes\r\n\r\na"},
		{get("/own/a.txt"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n" +
			"Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\nCache-Control: no-cache\r\nX-Own: /own/a.txt\r\nAccept-Ranges: bytes\r\n\r\nb"},
		{get("/own/a.txt?if=1"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n" +
			"Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\nCache-Control: no-cache\r\nX-If: i\r\nAccept-Ranges: bytes\r\n\r\nb"},
		{get("/own/a.txt", "Range: bytes=0-0\r\n"), "HTTP/1.1 206 Partial Content\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n" +
			"Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\nCache-Control: no-cache\r\nX-Own: /own/a.txt\r\nContent-Range: bytes 0-0/1\r\n\r\nb"},
		{get("/ret"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\nX-Ret: r\r\n\r\nt"},
		{get("/nf"), "HTTP/1.1 404 Not Found\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html\r\nContent-Length: 154\r\nConnection: close\r\nX-Nfa: a\r\n\r\n" + string(mustPage(404))},
		{get("/tr/a.txt"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n" +
			"X-Srv: s\r\nAccept-Ranges: bytes\r\n\r\n2\r\ntr\r\n0\r\nX-T: t /tr/a.txt\r\nX-404: n\r\n\r\n"},
		{get("/tr/nope"), "HTTP/1.1 404 Not Found\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
			"9a\r\n" + string(mustPage(404)) + "\r\n0\r\nX-404: n\r\n\r\n"},
		{"HEAD /tr/a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n" +
			"X-Srv: s\r\nAccept-Ranges: bytes\r\n\r\n"},
		{get("/trnc/a.txt"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n" +
			"X-Srv: s\r\nAccept-Ranges: bytes\r\n\r\nnc"},
		{get("/ep"), "HTTP/1.1 404 Not Found\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\nX-Own: /own/page.txt\r\n\r\npage"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ts.roundTrip(t, tt.req)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.req, diff)
		}
	}
}

// What add_header's values see while the filter runs: $status is the
// status going out (an error_page's included), and $sent_http_* the
// lines already added, Cache-Control and Link joined.
func TestAddHeaderSeesResponse(t *testing.T) {
	ts := startTest(t, `server {
    listen 127.0.0.1:PORT;
    location /s {
        add_header Cache-Control foo;
        add_header Cache-Control bar;
        add_header Link "</a>";
        add_header Foo foo;
        add_header Foo bar;
        add_header X-Sent "cc=$sent_http_cache_control link=$sent_http_link foo=$sent_http_foo later=$sent_http_x_later";
        add_header X-Later later;
        add_header X-Status $status always;
        return 204;
    }
    location /ep { error_page 404 =200 /text404; return 404; }
    location /text404 { add_header X-Status $status always; return 404 "text"; }
    location /ret { add_header X-Status $status; return 200 "$status"; }
    location /epret { error_page 404 =201 /ret; return 404; }
}`)
	tests := []struct {
		path string
		want []string
	}{
		{"/s", []string{"HTTP/1.1 204 No Content", "X-Sent: cc=foo, bar link=</a> foo=foo later=", "X-Status: 204"}},
		{"/ep", []string{"HTTP/1.1 200 OK", "X-Status: 200"}},
		// The text is evaluated once the status is set (ngx_http_send_response).
		{"/ret", []string{"HTTP/1.1 200 OK", "X-Status: 200", "200"}},
		{"/epret", []string{"HTTP/1.1 201 Created", "X-Status: 201", "201"}},
	}
	for _, tt := range tests {
		resp := ts.roundTrip(t, get(tt.path))
		var got []string
		for _, l := range strings.Split(resp, "\r\n") {
			if strings.HasPrefix(l, "HTTP/") || strings.HasPrefix(l, "X-Sent:") || strings.HasPrefix(l, "X-Status:") || l == "200" || l == "201" {
				got = append(got, l)
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tt.path, diff)
		}
	}
}

func TestURIExtension(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"/a.txt", "txt"},
		{"/a.tar.gz", "gz"},
		{"/.txt", ""},
		{"/d/.txt", ""},
		{"/.a.txt", "txt"},
		{"/d.txt/f", ""},
		{"/a.", ""},
		{"/noext", ""},
		{"/", ""},
		{".x", ""},
	}
	for _, tt := range tests {
		if got := string(uriExtension([]byte(tt.uri))); got != tt.want {
			t.Errorf("uriExtension(%q) = %q, want %q", tt.uri, got, tt.want)
		}
	}
}
