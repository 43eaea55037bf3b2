package difftest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Issue 8's corrupted response: a "set" value with ${host} and a map
// evaluated inside the same return text, on a connection that serves
// several requests (the scratch memory of the first is reused by the next).
func TestServeNestedVariablesKeepAlive(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const config = `map $uri $mapped {
    default other;
    /m      from-map;
    ~^/r/(?<tail>.*)$ "re-$tail";
}
map $mapped $chained {
    default "c:$mapped:$host";
    other   "o:$uri";
}
geo $name $geo_of_name {
    default gdef;
}
split_clients "$name$mapped" $bucket {
    50% a;
    *   b;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name www.example.com;
    location / {
        set $name "w${host}x";
        return 200 "name=$name mapped=$mapped chained=$chained geo=$geo_of_name bucket=$bucket uri=$uri args=$args\n";
    }
    location /if/ {
        set $name "w${host}x";
        if ($chained ~ "^(c|o):(.*)$") {
            set $name "$2-$name-$mapped";
        }
        return 200 "name=$name mapped=$mapped chained=$chained\n";
    }
}
`
	get := func(target string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: Example.COM\r\nUser-Agent: difftest\r\n\r\n"
	}
	three := []string{"/m", "/r/" + strings.Repeat("long", 30), "/if/x?a=1"}
	c := harness.Case{
		Name:   "nested variables",
		Config: config,
		Requests: []harness.Request{
			{Name: "one request", Send: []string{get("/m")}},
			{Name: "keep-alive", Send: []string{get("/m"), get("/m"), get("/r/abc"), get("/m")}, Responses: 4},
			{Name: "pipelined", Send: []string{get(three[0]) + get(three[1]) + get(three[2]) + get(three[0])}, Responses: 4},
			{Name: "if keep-alive", Send: []string{get("/if/a"), get("/if/r/b"), get("/if/a")}, Responses: 3},
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Variables of the response and of the request's life, as nginx computes
// them: each request's access log line is read back by the next request
// (the log is a static file of the prefix).
func TestServeResponseVariables(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const config = `log_format vars "$request_method $uri $status ct=$sent_http_content_type cl=$sent_http_content_length loc=$sent_http_location conn=$sent_http_connection ka=$sent_http_keep_alive te=$sent_http_transfer_encoding cc=$sent_http_cache_control xl=$sent_http_x_lower srv=$sent_http_server date=$sent_http_date rate=$limit_rate body=$request_body creq=$connection_requests pipe=$pipe rid=$rid_shape";
map $request_id $rid_shape {
    "~^[0-9a-f]{32}$" hex32;
    default           bad;
}
log_format complete "$uri complete=$request_completion";
log_format nolength "$request_method $uri $status ct=$sent_http_content_type loc=$sent_http_location conn=$sent_http_connection rate=$limit_rate creq=$connection_requests pipe=$pipe";
log_format misc "$uri ir=$invalid_referer h2=$http2 fpi=$fastcgi_path_info sl=$secure_link uid=$uid_got gz=$gzip_ratio lrs=$limit_req_status lcs=$limit_conn_status sr=$slice_range pia=$proxy_protocol_addr ucs=$upstream_cache_status pibl=$proxy_internal_body_length wr=$connections_writing rd=$connections_reading https=$https isargs=$is_args args=$args msie=$msie modern=$modern_browser ancient=$ancient_browser complete=$request_completion rtt=$num_rtt cwnd=$num_cwnd ctime=$ctime_shape realip=$realip_remote_addr fcgi=$fastcgi_script_name dgmt=$dgmt_shape";
map $tcpinfo_rtt $num_rtt { "~^[0-9]+$" num; default bad; }
map $tcpinfo_snd_cwnd $num_cwnd { "~^[0-9]+$" num; default bad; }
map $connection_time $ctime_shape { "~^[0-9]+\.[0-9]{3}$" secs; default bad; }
map $date_gmt $dgmt_shape { "~^[A-Z][a-z]+day, [0-9]{2}-[A-Z][a-z]{2}-[0-9]{4} [0-9:]{8} GMT$" date; default bad; }
server {
    listen 127.0.0.1:{{PORT}};
    server_name www.example.com;
    keepalive_timeout 60 30;
    access_log logs/vars.log vars;
    location /addh/ {
        charset utf-8;
        add_header X-Sent "ct=$sent_http_content_type cl=$sent_http_content_length conn=$sent_http_connection te=$sent_http_transfer_encoding ka=$sent_http_keep_alive x=$sent_http_x_first";
        add_header X-First first;
        return 200 "x\n";
    }
    location /addh/redir {
        access_log logs/vars.log nolength;
        add_header X-Loc "loc=$sent_http_location" always;
        return 302 /there;
    }
    location /addh/abs {
        access_log logs/vars.log nolength;
        add_header X-Loc "loc=$sent_http_location" always;
        return 302 http://example.com/there;
    }
    location /addh/up/ {
        proxy_pass http://{{BACKEND}}/;
        add_header X-Sent "ct=$sent_http_content_type cl=$sent_http_content_length te=$sent_http_transfer_encoding xl=$sent_http_x_lower cc=$sent_http_cache_control";
    }
    location /complete {
        access_log logs/vars.log complete;
        return 200 "c=$request_completion\n";
    }
    location /complete/log {
        access_log logs/vars.log complete;
        return 200 "log only\n";
    }
    location /stats {
        return 200 "reading=$connections_reading writing=$connections_writing\n";
    }
    location /misc {
        access_log logs/vars.log misc;
        return 200 "misc\n";
    }
    location = /logs/vars.log {
        root .;
        access_log off;
    }
    location /ret {
        return 200 "text rate=$limit_rate\n";
    }
    location /redir {
        # The error page's length differs by the Server token it names.
        access_log logs/vars.log nolength;
        return 302 /elsewhere;
    }
    location /rate {
        set $limit_rate $arg_l;
        return 200 "rate=$limit_rate\n";
    }
    location /limited {
        limit_rate 100k;
        limit_rate_after 1k;
        return 200 "limited\n";
    }
    location /up/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_set_header X-Body $request_body;
        proxy_set_header X-Body-File-Set "$request_body_file";
    }
}
`
	h := "Host: www.example.com\r\n"
	get := func(target string) string { return "GET " + target + " HTTP/1.1\r\n" + h + "\r\n" }
	log := harness.Request{Name: "log", Send: []string{"GET /logs/vars.log HTTP/1.1\r\n" + h + "Connection: close\r\n\r\n"}}
	c := harness.Case{
		Name:    "response variables",
		Config:  config,
		Content: map[string]string{"logs/.keep": ""},
		Requests: []harness.Request{
			{Name: "return", Send: []string{get("/ret")}},
			{Name: "redirect", Send: []string{get("/redir")}},
			{Name: "set limit_rate", Send: []string{get("/rate?l=40k")}},
			{Name: "invalid limit_rate", Send: []string{get("/rate")}},
			{Name: "limit_rate", Send: []string{get("/limited")}},
			{Name: "proxied headers", Send: []string{get("/up/headers")}},
			{Name: "proxied chunked", Send: []string{get("/up/chunked")}},
			{Name: "proxied post", Send: []string{"POST /up/post HTTP/1.1\r\n" + h + "Content-Length: 11\r\n\r\nhello=world"}},
			{Name: "keep-alive and pipelined", Send: []string{get("/ret") + get("/redir") + "GET /up/x HTTP/1.1\r\n" + h + "Connection: close\r\n\r\n"}, Responses: 3},
			{Name: "http/1.0", Send: []string{"GET /ret HTTP/1.0\r\n\r\n"}},
			{Name: "connection counters", Send: []string{get("/stats")}},
			{Name: "completion in return", Send: []string{get("/complete")}},
			{Name: "completion in log", Send: []string{get("/complete/log")}},
			{Name: "add_header sent", Send: []string{get("/addh/x")}},
			{Name: "add_header location", Send: []string{get("/addh/redir")}},
			{Name: "add_header absolute location", Send: []string{get("/addh/abs")}},
			{Name: "add_header proxied", Send: []string{get("/addh/up/headers")}},
			{Name: "add_header proxied chunked", Send: []string{get("/addh/up/chunked")}},
			{Name: "msie", Send: []string{"GET /misc/1 HTTP/1.1\r\n" + h + "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\n\r\n"}},
			{Name: "msie short", Send: []string{"GET /misc/2 HTTP/1.1\r\n" + h + "User-Agent: MSIE 6.\r\n\r\n"}},
			{Name: "opera", Send: []string{"GET /misc/3 HTTP/1.1\r\n" + h + "User-Agent: Opera/9.80 (MSIE 6.0)\r\n\r\n"}},
			{Name: "no user agent", Send: []string{"GET /misc/4/? HTTP/1.1\r\n" + h + "\r\n"}},
			{Name: "two user agents", Send: []string{"GET /misc/5 HTTP/1.1\r\n" + h + "User-Agent: curl\r\nUser-Agent: MSIE 7.0 x\r\n\r\n"}},
			log,
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// $request_body and $request_body_file as nginx keeps a proxied body: in
// memory when what did not come with the head fits client_body_buffer_size,
// else in a file, and always in a file with client_body_in_file_only.
func TestServeRequestBodyVariables(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const config = `log_format body "$uri $request_body";
map $request_body_file $body_file {
    ""      none;
    default file;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name www.example.com;
    client_header_buffer_size 1k;
    location / {
        client_body_buffer_size 2k;
        proxy_pass http://{{BACKEND}};
        proxy_set_header X-Body $request_body;
        proxy_set_header X-Body-File $body_file;
    }
    location /only/ {
        client_body_buffer_size 2k;
        client_body_in_file_only clean;
        proxy_pass http://{{BACKEND}};
        proxy_set_header X-Body $request_body;
        proxy_set_header X-Body-File $body_file;
    }
    location /unbuffered/ {
        client_body_buffer_size 2k;
        proxy_request_buffering off;
        proxy_pass http://{{BACKEND}};
        proxy_set_header X-Body $request_body;
        proxy_set_header X-Body-File $body_file;
        access_log logs/body.log body;
    }
    location = /logs/body.log {
        root .;
        access_log off;
    }
    location /big/ {
        client_body_buffer_size 64k;
        proxy_pass http://{{BACKEND}};
        proxy_set_header X-Body-Length "$request_body" ;
        proxy_set_header X-Body-File $body_file;
    }
}
`
	post := func(target, body string) harness.Request {
		return harness.Request{Name: target + " " + strconv.Itoa(len(body)), Send: []string{"POST " + target + " HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body}}
	}
	chunked := func(target string, parts ...string) harness.Request {
		var b strings.Builder
		n := 0
		for _, p := range parts {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", len(p), p)
			n += len(p)
		}
		b.WriteString("0\r\n\r\n")
		return harness.Request{Name: target + " chunked " + strconv.Itoa(n), Send: []string{"POST " + target +
			" HTTP/1.1\r\nHost: www.example.com\r\nTransfer-Encoding: chunked\r\n\r\n" + b.String()}}
	}
	ten := "0123456789"
	c := harness.Case{
		Name:   "request body variables",
		Config: config,
		Requests: []harness.Request{
			post("/m", ten),
			post("/m", strings.Repeat(ten, 128)),
			post("/m", strings.Repeat(ten, 250)),
			post("/m", strings.Repeat(ten, 512)),
			post("/only/x", ten),
			post("/only/x", strings.Repeat(ten, 512)),
			post("/big/x", strings.Repeat(ten, 3000)),
			chunked("/m", ten, ten),
			chunked("/m", strings.Repeat(ten, 150), strings.Repeat(ten, 150)),
			{Name: "body after the head", Send: []string{"POST /m HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 10\r\n\r\n", ten}, Pause: 100 * time.Millisecond},
			{Name: "get", Send: []string{"GET /m HTTP/1.1\r\nHost: www.example.com\r\n\r\n"}},
			post("/unbuffered/x", ten),
			post("/unbuffered/x", strings.Repeat(ten, 128)),
			post("/unbuffered/x", strings.Repeat(ten, 512)),
			{Name: "body log", Send: []string{"GET /logs/body.log HTTP/1.1\r\nHost: www.example.com\r\n\r\n"}},
		},
		Content: map[string]string{"logs/.keep": ""},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
