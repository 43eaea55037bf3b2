package difftest

import (
	"fmt"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The hashing balancers, nginx vs gonginx: which server each key reaches. The servers are the
// config's own, on unix sockets named relative to each run's directory, so the names the
// consistent hash's ring is made of are the same in both runs.
func TestServeUpstreamHash(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("hash", `upstream h {
    hash $arg_k;
    server unix:ha.sock;
    server unix:hb.sock;
    server unix:hc.sock weight=2;
}
upstream hdown {
    hash $arg_k;
    server unix:ha.sock;
    server unix:hb.sock down;
    server unix:hc.sock max_fails=0;
    server unix:hd.sock;
}
upstream c {
    hash $arg_k consistent;
    server unix:ha.sock;
    server unix:hb.sock;
    server unix:hc.sock weight=2;
}
upstream c2 {
    hash $arg_k consistent;
    server unix:ha.sock;
    server unix:hc.sock weight=2;
}
upstream cdown {
    hash $arg_k consistent;
    server unix:ha.sock;
    server unix:hb.sock down;
    server unix:hc.sock;
}
upstream ctext {
    hash "$arg_k-$request_method" consistent;
    server unix:ha.sock;
    server unix:hb.sock;
    server unix:hc.sock;
    server unix:hd.sock;
}
upstream iph {
    ip_hash;
    server unix:ha.sock;
    server unix:hb.sock weight=3;
    server unix:hc.sock down;
}
server { listen unix:ha.sock; location / { return 200 "a $request_uri\n"; } }
server { listen unix:hb.sock; location / { return 200 "b $request_uri\n"; } }
server { listen unix:hc.sock; location / { return 200 "c $request_uri\n"; } }
server { listen unix:hd.sock; location / { return 200 "d $request_uri\n"; } }
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { proxy_pass http://$arg_u; }
}
`)
	for _, u := range []string{"h", "hdown", "c", "c2", "cdown", "ctext"} {
		for k := range 12 {
			target := fmt.Sprintf("/%s-%d?u=%s&k=%d", u, k, u, k*7919)
			c.Requests = append(c.Requests, plainGet(fmt.Sprintf("%s key %d", u, k), target))
		}
		c.Requests = append(c.Requests, plainGet(u+" empty key", "/?u="+u+"&k="))
	}
	c.Requests = append(c.Requests, plainGet("ip_hash", "/?u=iph"))
	harness.Compare(t, c, want, got, serveAssets(t))
}
