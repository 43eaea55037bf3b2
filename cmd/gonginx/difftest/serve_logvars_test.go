package difftest

import (
	"crypto/tls"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Access log lines compared with nginx's byte for byte for every variable
// nginx 1.22's core, log, upstream, proxy, fastcgi, realip, ssl, limit,
// secure_link, userid, referer, gzip, slice, ssi, browser and stub_status
// modules define (the list is ngx_http_variables.c's and each module's
// ngx_http_variable_t array; geoip's module is not loaded by Debian's
// default), in the three escapings, over static files, a 404, HEAD,
// proxied requests with bodies, query strings and headers with quotes,
// backslashes, control bytes and UTF-8. Values that differ between any
// two runs (times, client ports, pids, connection numbers, random ids) are
// compared by their shape; the error log's request lines at info are
// compared too.

// logVarNames is every variable of the format, in nginx's source order.
var logVarNames = []string{
	// ngx_http_variables.c
	"http_host", "http_user_agent", "http_referer", "http_via", "http_x_forwarded_for", "http_cookie",
	"content_length", "content_type", "host", "binary_remote_addr", "remote_addr", "remote_port",
	"proxy_protocol_addr", "proxy_protocol_port", "proxy_protocol_server_addr", "proxy_protocol_server_port",
	"server_addr", "server_port", "server_protocol", "scheme", "https", "request_uri", "uri",
	"document_uri", "request", "document_root", "realpath_root", "query_string", "args", "is_args",
	"request_filename", "server_name", "request_method", "remote_user", "bytes_sent", "body_bytes_sent",
	"pipe", "request_completion", "request_body", "request_body_file", "request_length", "request_time",
	"request_id", "status", "sent_http_content_type", "sent_http_content_length", "sent_http_location",
	"sent_http_last_modified", "sent_http_connection", "sent_http_keep_alive",
	"sent_http_transfer_encoding", "sent_http_cache_control", "sent_http_link", "limit_rate",
	"connection", "connection_requests", "connection_time", "nginx_version", "hostname", "pid", "msec",
	"time_iso8601", "time_local", "tcpinfo_rtt", "tcpinfo_rttvar", "tcpinfo_snd_cwnd",
	"tcpinfo_rcv_space",
	// prefixed ones
	"http_x_test", "sent_http_x_sent", "sent_trailer_x_tr", "cookie_a", "arg_a", "arg_q",
	"upstream_http_x_lower", "upstream_trailer_x_t", "upstream_cookie_b",
	// ngx_http_upstream.c
	"upstream_addr", "upstream_status", "upstream_connect_time", "upstream_header_time",
	"upstream_response_time", "upstream_response_length", "upstream_bytes_received",
	"upstream_bytes_sent", "upstream_cache_status", "upstream_cache_last_modified",
	"upstream_cache_etag",
	// modules
	"msie", "modern_browser", "ancient_browser", "fastcgi_script_name", "fastcgi_path_info",
	"grpc_internal_trailers", "limit_conn_status", "limit_req_status", "proxy_host", "proxy_port",
	"proxy_add_x_forwarded_for", "proxy_internal_body_length", "proxy_internal_chunked",
	"realip_remote_addr", "realip_remote_port", "date_local", "date_gmt", "connections_active",
	"connections_reading", "connections_writing", "connections_waiting", "http2", "gzip_ratio",
	"secure_link", "secure_link_expires", "uid_got", "uid_set", "uid_reset", "invalid_referer",
	"slice_range",
}

// logVarsTLS are the ssl module's, logged by the TLS case.
var logVarsTLS = []string{
	"scheme", "https", "server_port", "ssl_protocol", "ssl_cipher", "ssl_ciphers", "ssl_curve", "ssl_curves",
	"ssl_session_id", "ssl_session_reused", "ssl_early_data", "ssl_server_name", "ssl_alpn_protocol",
	"ssl_client_cert", "ssl_client_raw_cert", "ssl_client_escaped_cert", "ssl_client_s_dn",
	"ssl_client_i_dn", "ssl_client_s_dn_legacy", "ssl_client_i_dn_legacy", "ssl_client_serial",
	"ssl_client_fingerprint", "ssl_client_verify", "ssl_client_v_start", "ssl_client_v_end",
	"ssl_client_v_remain", "bytes_sent", "request_length", "status",
}

// logVarShapes are the variables whose values differ between two runs of
// the same server, each with the shape its value must have.
var logVarShapes = map[string]*regexp.Regexp{
	"remote_port":            regexp.MustCompile(`^\d+$`),
	"realip_remote_port":     regexp.MustCompile(`^(\d+|-)$`),
	"request_time":           regexp.MustCompile(`^\d+\.\d{3}$`),
	"request_id":             regexp.MustCompile(`^[0-9a-f]{32}$`),
	"connection":             regexp.MustCompile(`^\d+$`),
	"connection_time":        regexp.MustCompile(`^\d+\.\d{3}$`),
	"pid":                    regexp.MustCompile(`^\d+$`),
	"msec":                   regexp.MustCompile(`^\d{10}\.\d{3}$`),
	"time_iso8601":           regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$`),
	"time_local":             regexp.MustCompile(`^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [-+]\d{4}$`),
	"tcpinfo_rtt":            regexp.MustCompile(`^\d+$`),
	"tcpinfo_rttvar":         regexp.MustCompile(`^\d+$`),
	"tcpinfo_snd_cwnd":       regexp.MustCompile(`^\d+$`),
	"tcpinfo_rcv_space":      regexp.MustCompile(`^\d+$`),
	"upstream_connect_time":  regexp.MustCompile(`^(-|\d+\.\d{3})((, | : )(-|\d+\.\d{3}))*$`),
	"upstream_header_time":   regexp.MustCompile(`^(-|\d+\.\d{3})((, | : )(-|\d+\.\d{3}))*$`),
	"upstream_response_time": regexp.MustCompile(`^(-|\d+\.\d{3})((, | : )(-|\d+\.\d{3}))*$`),
	"date_local":             regexp.MustCompile(`^[A-Z][a-z]+day, \d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [A-Z]+$`),
	"date_gmt":               regexp.MustCompile(`^[A-Z][a-z]+day, \d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d GMT$`),
	"uid_set":                regexp.MustCompile(`^(-|uid=[0-9A-F]{32})$`),
	"ssl_session_id":         regexp.MustCompile(`^[0-9a-f]{64}$`),
	"hostname":               regexp.MustCompile(`^[^ ]+$`),
	// The previous test connection may still be closing (lingering, or
	// the harness's readiness probe) when a request is logged, in either
	// server; reading and writing are compared as they are.
	"connections_active":  regexp.MustCompile(`^\d+$`),
	"connections_waiting": regexp.MustCompile(`^\d+$`),
}

// logVarFormat is "name=$name" for each variable, " |"-separated.
func logVarFormat(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(" |")
		}
		b.WriteString(n + "=$" + n)
	}
	return b.String()
}

// maskLogVars replaces each shape-checked value of a line made by
// logVarFormat with "<name>" when it has its shape (and leaves it for the
// diff to show when not), one field a line. The server token counts in
// $bytes_sent (the Server header) and, in the server's own error pages, in
// the body: those counts are written without it ("N-token"). In
// escape=json the separators and names are the same.
func maskLogVars(line, token string) string {
	fields := strings.Split(line, " |")
	values := map[string]string{}
	for _, f := range fields {
		name, value, _ := strings.Cut(f, "=")
		values[name] = value
	}
	status, _ := strconv.Atoi(values["status"])
	// (No backend of this test answers text/html.)
	ownPage := status >= 301 && status != 304 && values["sent_http_content_type"] == "text/html"
	withoutToken := func(value string, tokens int) string {
		n, err := strconv.Atoi(value)
		if err != nil || n < tokens*len(token) {
			return value
		}
		return strconv.Itoa(n-tokens*len(token)) + "-token"
	}
	for i, f := range fields {
		name, value, _ := strings.Cut(f, "=")
		switch {
		case logVarShapes[name] != nil && logVarShapes[name].MatchString(value):
			value = "<" + name + ">"
		case name == "bytes_sent" && ownPage:
			value = withoutToken(value, 2)
		case name == "bytes_sent":
			value = withoutToken(value, 1)
		case (name == "body_bytes_sent" || name == "sent_http_content_length") && ownPage:
			value = withoutToken(value, 1)
		}
		fields[i] = name + "=" + value
	}
	// One field a line: cmp.Diff shows the fields that differ.
	return strings.Join(fields, "\n")
}

func TestServeLogVariables(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	format := logVarFormat(logVarNames)
	config := `log_format all '` + format + `';
log_format json escape=json '` + format + `';
log_format none escape=none '` + format + `';
limit_req_zone $binary_remote_addr zone=lr:1m rate=100r/s;
limit_conn_zone $binary_remote_addr zone=lc:1m;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost alias.example;
    access_log logs/all.log all;
    access_log logs/json.log json;
    access_log logs/none.log none;
    error_log logs/info.log info;
    root html;
    location /static/ { }
    location /ret {
        add_header X-Sent "a\"b\\c";
        add_trailer X-Tr "tr";
        return 200 "ret\n";
    }
    location /proxy/ { proxy_pass http://{{BACKEND}}/; }
    location /down/ { proxy_pass http://127.0.0.1:1/; }
    location /php/ {
        fastcgi_split_path_info ^(.+\.php)(/.*)$;
        fastcgi_index index.php;
        return 200 "$fastcgi_script_name\n";
    }
    location /lim/ { limit_req zone=lr; limit_conn lc 10; return 200 "lim\n"; }
    location /sl/ { secure_link $arg_h,$arg_e; secure_link_md5 "$secure_link_expires$uri x"; return 200 "sl\n"; }
    location /ref/ { valid_referers none blocked server_names; return 200 "ref\n"; }
    location /uid/ { userid on; userid_name uid; return 200 "uid\n"; }
    location /rip/ { set_real_ip_from 127.0.0.1; real_ip_header X-Real-IP; return 200 "rip\n"; }
    location /timeout/ { proxy_read_timeout 100ms; proxy_pass http://{{BACKEND}}/; }
    location /small/ { client_max_body_size 1; proxy_pass http://{{BACKEND}}/; }
    location /deny/ { deny all; }
    location /slice/ { slice 10; proxy_set_header Range $slice_range; proxy_pass http://{{BACKEND}}/; }
}
`
	get := func(target, headers string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + headers + "Connection: close\r\n\r\n"
	}
	odd := "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0) \"q\" back\\slash caf\xc3\xa9 \x7f\tend\r\n" +
		"Referer: http://other.example/p?\"x\"\r\nCookie: a=1; b=\"two\"\r\nX-Test: ünï\x01cöde\r\n" +
		"Via: 1.1 proxy\r\nX-Forwarded-For: 10.0.0.1\r\n"
	c := harness.Case{
		Name:   "log variables",
		Config: config,
		Content: map[string]string{
			"html/static/index.html": "index\n",
			"html/static/a.txt":      "a file\n",
			"html/static/dir/.keep":  "",
			"logs/.keep":             "",
		},
		AccessLogFiles: []string{"logs/all.log", "logs/json.log", "logs/none.log"},
		LogFiles:       []string{"logs/info.log"},
		Mask:           maskLogVars,
		Requests: []harness.Request{
			serveRaw("static", get("/static/a.txt", "User-Agent: curl/8\r\n")),
			serveRaw("static index", get("/static/", "")),
			serveRaw("head", "HEAD /static/a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			serveRaw("missing", get("/static/missing?a=1", "")),
			serveRaw("dir forbidden", get("/static/dir/", "")),
			serveRaw("odd headers", get("/ret?a=%22x%22&q=caf\xc3\xa9\"\\", odd)),
			serveRaw("http/1.0", "GET /ret HTTP/1.0\r\n\r\n"),
			serveRaw("absolute", "GET http://alias.example/ret?x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			{Name: "keep-alive", Send: []string{"GET /ret HTTP/1.1\r\nHost: localhost\r\n\r\n" + get("/static/a.txt", "")}, Responses: 2},
			serveRaw("proxied", get("/proxy/x?a=1", odd)),
			serveRaw("proxied headers", get("/proxy/headers", "")),
			serveRaw("proxied post", "POST /proxy/post?a=2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello=world"),
			serveRaw("proxied chunked", "POST /proxy/te HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
			serveRaw("proxied 503", get("/proxy/status/503", "")),
			serveRaw("upstream refused", get("/down/x", "")),
			serveRaw("fastcgi vars", get("/php/a.php/extra/path", "")),
			serveRaw("limits", get("/lim/", "")),
			serveRaw("secure link", get("/sl/x?h=bad&e=2147483647", "")),
			serveRaw("referer blocked", get("/ref/", "Referer: nothttp\r\n")),
			serveRaw("referer invalid", get("/ref/", "Referer: http://evil.example/\r\n")),
			serveRaw("uid got", get("/uid/", "Cookie: uid=fwAAAWXJ7KNTFkgSAwMDAg==\r\n")),
			serveRaw("realip", get("/rip/", "X-Real-IP: 192.0.2.7\r\n")),
			serveRaw("slice", get("/slice/x", "")),
			serveRaw("upstream closes early", get("/proxy/close-early", "")),
			serveRaw("upstream hangs up", get("/proxy/hangup", "")),
			{Name: "client leaves mid-head", Send: []string{"GET /ret HTTP/1.1\r\nHost: localhost\r\n"}, HangUp: true, Settle: 100 * time.Millisecond},
			{Name: "client closes a kept connection", Send: []string{"GET /ret HTTP/1.1\r\nHost: localhost\r\n\r\n"}, SkipEnd: true, Settle: 100 * time.Millisecond},
			// A preconnect: its request (or its end) comes after the wait parked it (gonginx).
			{Name: "request after a preconnect", Send: []string{"", get("/ret", "")}, Pause: 300 * time.Millisecond},
			{Name: "preconnect closed", Send: []string{""}, HangUpAfter: 300 * time.Millisecond, Settle: 100 * time.Millisecond},
			// Closed after the wait parked it (gonginx): the line is still the last location's.
			{Name: "client closes a kept connection later", Send: []string{"GET /ret HTTP/1.1\r\nHost: localhost\r\n\r\n"}, ReadAfter: 300 * time.Millisecond, SkipEnd: true, Settle: 100 * time.Millisecond},
			serveRaw("upstream times out", get("/timeout/slow", "")),
			serveRaw("body too large", "POST /small/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello=world"),
			serveRaw("denied", get("/deny/", "")),
			serveRaw("invalid header line", get("/ret", "X\x01Bad: y\r\n")),
			serveRaw("unknown transfer-encoding", "POST /ret HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n"),
			serveRaw("bad request", "GET /\x01 HTTP/1.1\r\nHost: localhost\r\n\r\n"),
			serveRaw("duplicate host", "GET /ret HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
			serveRaw("bad version", "GET /ret HTTP/2.0\r\nHost: localhost\r\n\r\n"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The ssl module's variables in the access log: a handshake without and
// with a client certificate (optional_no_ca), with ALPN, with TLS 1.2.
func TestServeLogVariablesTLS(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	format := logVarFormat(logVarsTLS)
	ca := harness.NewCA("log vars CA")
	client := ca.Issue(harness.CertSpec{CN: "log client", Client: true, NotAfter: time.Now().Add(36 * time.Hour)})
	config := `log_format all '` + format + `';
log_format json escape=json '` + format + `';
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name localhost;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_verify_client optional_no_ca;
    access_log logs/all.log all;
    access_log logs/json.log json;
    location / { return 200 "tls\n"; }
}
`
	get := "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
	c := harness.Case{
		Name:           "log variables TLS",
		Config:         config,
		Files:          []string{"cert.pem", "key.pem"},
		Content:        map[string]string{"logs/.keep": ""},
		TLS:            true,
		SNI:            "localhost",
		AccessLogFiles: []string{"logs/all.log", "logs/json.log"},
		Mask:           maskLogVars,
		Requests: []harness.Request{
			{Name: "no certificate", Send: []string{get}},
			{Name: "alpn", Send: []string{get}, ALPN: []string{"http/1.1"}},
			{Name: "tls1.2", Send: []string{get}, TLSMax: tls.VersionTLS12},
			{Name: "client certificate", Send: []string{get}, ClientCert: &client.TLS},
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
