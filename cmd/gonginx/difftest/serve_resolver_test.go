package difftest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/gonginx/gonginx/upstream/resolver/dnstest"
)

// resolver: proxy_pass with a variable host looked up on a name server
// (a fake one here): addresses, a CNAME, errors of both families, a
// truncated UDP answer asked again over TCP, a silent server timing out,
// and the cache ($upstream_addr shows which address was used). The error
// log lines are compared too.
func TestServeResolver(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	a := func(ip string) dnstest.Record { return dnstest.Record{Type: dnstest.A, TTL: 60, Addr: ip} }
	dns := dnstest.Start(t, map[string]dnstest.Reply{
		"ok.test A":      {Records: []dnstest.Record{a("127.0.0.1")}},
		"alias.test A":   {Records: []dnstest.Record{{Type: dnstest.CNAME, TTL: 60, CNAME: "ok.test"}}},
		"nx.test A":      {Code: 3},
		"sf.test A":      {Code: 2},
		"tc.test A":      {Truncate: true, Records: []dnstest.Record{a("127.0.0.1")}},
		"silent.test A":  {Silent: true},
		"refused.test A": {Code: 5},
	})
	port := strconv.Itoa(int(dns.Addr.Port()))
	c := serveProxyCase("resolver", strings.ReplaceAll(`log_format n '$connection $request $status';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/a.log n;
    resolver 127.0.0.1:DNSPORT ipv6=off;
    resolver_timeout 1s;
    location /r/ { proxy_pass http://$arg_h:{{BACKEND_PORT}}/x; }
    location /e/ {
        proxy_pass http://$arg_h:{{BACKEND_PORT}}/x;
        error_page 502 /addr;
    }
    location = /addr { return 200 "[$upstream_addr]\n"; }
}
`, "DNSPORT", port),
		plainGet("A record", "/r/?h=ok.test"),
		plainGet("same name, another case, from the cache", "/r/?h=OK.Test"),
		plainGet("CNAME followed", "/r/?h=alias.test"),
		plainGet("Host not found", "/r/?h=nx.test"),
		plainGet("Server failure", "/r/?h=sf.test"),
		plainGet("Operation refused", "/r/?h=refused.test"),
		plainGet("truncated, asked over TCP", "/r/?h=tc.test"),
		plainGet("no answer: resolver_timeout", "/r/?h=silent.test"),
		plainGet("error page sees no upstream address", "/e/?h=nx.test"),
	)
	c.ErrorLog = true
	// $connection: the resolver's UDP socket, opened at its first query
	// and kept, and its TCP connection take numbers, as backend ones.
	c.Content = map[string]string{"logs/.keep": ""}
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
