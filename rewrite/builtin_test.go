package rewrite

import (
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

// emptyAsInNginx are the built-in variables that read empty on every
// request gonginx can serve, each as nginx's would, with why. Every other
// built-in must have a value on the request of TestNoBuiltinIsConstantEmpty.
var emptyAsInNginx = map[string]string{
	// The TLS variables are another change's.
	"ssl_protocol": "tls", "ssl_cipher": "tls", "ssl_server_name": "tls", "ssl_session_reused": "tls",
	"ssl_client_verify": "tls", "ssl_ciphers": "tls", "ssl_curve": "tls", "ssl_curves": "tls",
	"ssl_session_id": "tls", "ssl_early_data": "tls", "ssl_client_cert": "tls", "ssl_client_raw_cert": "tls",
	"ssl_client_escaped_cert": "tls", "ssl_client_s_dn": "tls", "ssl_client_i_dn": "tls",
	"ssl_client_s_dn_legacy": "tls", "ssl_client_i_dn_legacy": "tls", "ssl_client_serial": "tls",
	"ssl_client_fingerprint": "tls", "ssl_client_v_start": "tls", "ssl_client_v_end": "tls",
	"ssl_client_v_remain": "tls", "ssl_alpn_protocol": "tls",
	"upstream_cache_status": "empty without proxy_cache, as in nginx",
	"upstream_cache_etag":   "empty unless an expired entry is revalidated", "upstream_cache_last_modified": "empty unless an expired entry is revalidated",
	// Their modules' directives refuse to start, and without them nginx's
	// values are empty too.
	"gzip_ratio":                 "the gzip filter (package location) defines it; empty in this package alone",
	"secure_link":                "the secure_link module (package location) defines it",
	"secure_link_expires":        "the secure_link module (package location) defines it",
	"invalid_referer":            "the referer module (package location) defines it; empty without valid_referers",
	"modern_browser":             "modern_browser refuses to start; without it no client is modern",
	"uid_got":                    "the userid filter (package location) defines it",
	"uid_set":                    "the userid filter (package location) defines it",
	"uid_reset":                  "empty unless \"set\" or map define it",
	"limit_req_status":           "limit_req refuses to start",
	"limit_conn_status":          "limit_conn refuses to start",
	"slice_range":                "slice refuses to start",
	"fastcgi_path_info":          "empty without fastcgi_split_path_info",
	"proxy_internal_body_length": "proxy_set_body refuses to start; internal to proxy_pass",
	"proxy_internal_chunked":     "internal to proxy_pass",
	"grpc_internal_trailers":     "grpc_pass refuses to start",
	"http2":                      "HTTP/2 is not served: every request is HTTP/1",
}

// TestNoBuiltinIsConstantEmpty evaluates every built-in variable on a
// request read from a real socket, answered, with a body and an upstream
// try, and requires a value from each but those of emptyAsInNginx.
func TestNoBuiltinIsConstantEmpty(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	go client.Write([]byte("POST /dir/a.txt?a=1&b=2 HTTP/1.1\r\nHost: www.example.com\r\n" +
		"User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\nReferer: http://x/\r\n" +
		"Via: 1.1 p\r\nX-Forwarded-For: 10.0.0.1\r\nCookie: c=1\r\nAuthorization: Basic dXNlcjpwYXNz\r\n" +
		"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"))
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := client.Read(buf); err != nil {
				return
			}
		}
	}()
	c := http1.NewConn(server, &http1.ConnInfo{RemoteAddr: "127.0.0.1", RemotePort: 40000, Local: http1.AddrText("127.0.0.1"), ServerPort: 8080,
		Proxied: true, Proxy: &http1.ProxyAddrs{Addr: "192.0.2.1", Port: "123", ServerAddr: "192.0.2.2", ServerPort: "5678"}})
	req, err := c.ReadRequest()
	if err != nil {
		t.Fatal(err)
	}
	comp := NewCompiler()
	root := t.TempDir()
	s := &State{}
	s.Reset(req)
	s.Conn, s.ConnStart, s.Start = c, time.Now().Add(-time.Second), time.Now()
	s.Stats = &ConnStats{}
	s.Stats.Active.Add(2)
	s.Stats.Reading.Add(1)
	s.Stats.Writing.Add(1)
	s.ServerName, s.DocumentRoot, s.ProxyHost, s.ProxyPort = "www.example.com", root, "127.0.0.1:9000", "9000"
	s.Connection, s.ConnectionRequests, s.Status = 7, 1, 200
	s.RequestLength, s.BytesSent, s.BodyBytesSent = 300, 200, 5
	s.SetRequestBody([]byte("hello"))
	s.RequestBodyFile = root + "/0000001"
	s.RequestComplete = true
	s.AddUpstreamTry("127.0.0.1:9000", 200, time.Millisecond)
	c.SetLimitRate(1024, true)
	resp := &http1.Response{Status: 200, ContentType: []byte("text/plain"), ContentLength: -1, LastModified: 1,
		Location: []byte("/x"), KeepAliveTimeout: 5,
		Headers: []http1.Header{{Name: []byte("Cache-Control"), Value: []byte("no-cache")}, {Name: []byte("Link"), Value: []byte("<a>")}}}
	if err := c.WriteHeader(resp); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("body"))
	c.Finish()

	// The first pass: plain HTTP, the body in a file, a chunked
	// response; the second: TLS, the body in memory, a Content-Length.
	values := map[string]string{}
	for pass := 0; pass < 2; pass++ {
		if pass == 1 {
			req.Conn.TLS = true
			s.RequestBodyFile = ""
			resp.ContentLength = 4
			if err := c.WriteHeader(resp); err != nil {
				t.Fatal(err)
			}
		}
		for name, v := range comp.vars {
			if v.builtin {
				values[name] += string((&Var{v}).Eval(s, nil))
			}
		}
		if pass == 0 {
			if got := values["request_body"]; got != "" {
				t.Errorf("$request_body with the body in a file = %q, want empty", got)
			}
		}
	}
	var empty []string
	for name, got := range values {
		_, exempt := emptyAsInNginx[name]
		if got == "" && !exempt {
			empty = append(empty, name)
		}
		if got != "" && exempt {
			t.Errorf("$%s = %q, but emptyAsInNginx lists it: drop it from the list", name, got)
		}
	}
	sort.Strings(empty)
	if diff := cmp.Diff([]string(nil), empty); diff != "" {
		t.Errorf("built-in variables empty on a full request (-want +got):\n%s", diff)
	}
	for name := range emptyAsInNginx {
		if v := comp.vars[name]; v == nil || !v.builtin {
			t.Errorf("emptyAsInNginx names %q, which is no built-in variable", name)
		}
	}
	if got := string(comp.Variable("request_body").Eval(s, nil)); got != "hello" {
		t.Errorf("$request_body = %q, want %q", got, "hello")
	}
	if got := string(comp.Variable("sent_http_cache_control").Eval(s, nil)); !strings.Contains(got, "no-cache") {
		t.Errorf("$sent_http_cache_control = %q", got)
	}
}

// TestStubStatusPage: the page's layout, as ngx_http_stub_status_handler
// prints it (trailing spaces included); waiting is counted apart, as
// nginx's reusable connections (a request being logged is none of the three).
func TestStubStatusPage(t *testing.T) {
	var st ConnStats
	st.Active.Add(3)
	st.Accepted.Add(7)
	st.Requests.Add(12)
	st.Reading.Add(1)
	st.Writing.Add(1)
	st.Waiting.Add(1)
	want := "Active connections: 3 \nserver accepts handled requests\n 7 7 12 \nReading: 1 Writing: 1 Waiting: 1 \n"
	if diff := cmp.Diff(want, string(st.AppendStubStatus(nil))); diff != "" {
		t.Errorf("stub_status page (-want +got):\n%s", diff)
	}
}
