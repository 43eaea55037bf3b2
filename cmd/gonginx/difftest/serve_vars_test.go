package difftest

import (
	"strings"
	"testing"

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
