package location

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

// recordConn replays one request and keeps what is written.
type recordConn struct {
	loopConn
	out strings.Builder
}

func (r *recordConn) Write(p []byte) (int, error) { r.out.Write(p); return len(p), nil }

// An internal redirect clears userid's context, as nginx zeroes r->ctx:
// the filter then makes a new uid for the cookie, while $uid_set keeps
// the value the request cached before the redirect (checked against
// nginx 1.22 by hand: X-Set and the cookie differ after try_files).
func TestUseridInternalRedirect(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/index.html", []byte("hi"), 0o644)
	rt := compileConf(t, strings.ReplaceAll(`server { listen 127.0.0.1:19300; root DIR; userid on; add_header X-Set $uid_set;
	location /s/ { set $x "v:$uid_set"; try_files /nope /index.html; } }`, "DIR", dir))
	cookieRe := regexp.MustCompile(`Set-Cookie: uid=([A-Za-z0-9+/]{22}==)`)
	setRe := regexp.MustCompile(`X-Set: uid=([0-9A-F]{32})`)
	same := func(target string) bool {
		info := &http1.ConnInfo{RemoteAddr: "127.0.0.1", RemotePort: 5000, Local: http1.AddrText("127.0.0.1"), ServerPort: 80}
		lc := &recordConn{loopConn: loopConn{req: []byte("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n")}}
		c := http1.NewConn(lc, info)
		x := newExchange(rt, c, NewLogger(io.Discard))
		req, err := c.ReadRequest()
		if err != nil {
			t.Fatal(err)
		}
		x.serve(rt.Sockets[0].AddrFor(net.IPv4(127, 0, 0, 1)), req)
		out := lc.out.String()
		ck, set := cookieRe.FindStringSubmatch(out), setRe.FindStringSubmatch(out)
		if ck == nil || set == nil {
			t.Fatalf("%s: no cookie or X-Set in\n%s", target, out)
		}
		b, _ := base64.StdEncoding.DecodeString(ck[1])
		var hex string
		for i := 0; i < 4; i++ {
			hex += fmt.Sprintf("%08X", binary.LittleEndian.Uint32(b[4*i:]))
		}
		return hex == set[1]
	}
	got := map[string]bool{"/index.html": same("/index.html"), "/s/": same("/s/")}
	if diff := cmp.Diff(map[string]bool{"/index.html": true, "/s/": false}, got); diff != "" {
		t.Errorf("X-Set equals the cookie's uid (-want +got):\n%s", diff)
	}
}
