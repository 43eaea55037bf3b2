package location

import (
	"io"
	"net"
	"testing"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// limitLoop serves request on one exchange as a connection would, the
// request's end included (limit_conn's count goes there).
func limitLoop(t testing.TB, httpBody, request string) (serve func() int) {
	rt := compileConf(t, httpBody)
	info := &http1.ConnInfo{RemoteAddr: "127.0.0.1", RemotePort: 5000, Local: http1.AddrText("127.0.0.1"), ServerPort: 80}
	c := http1.NewConn(&loopConn{req: []byte(request)}, info)
	x := newExchange(rt, c, NewLogger(io.Discard))
	addr := rt.Sockets[0].AddrFor(net.IPv4(127, 0, 0, 1))
	return func() int {
		req, err := c.ReadRequest()
		if err != nil {
			t.Fatal(err)
		}
		x.serve(addr, req)
		x.endLimitConn()
		return x.status
	}
}

const limitBench = `limit_req_zone $binary_remote_addr zone=r:1m rate=100000r/s;
limit_conn_zone $binary_remote_addr zone=c:1m;
server { listen 127.0.0.1:19300;
	location / { limit_req zone=r burst=1000000000 nodelay; limit_conn c 1; empty_gif; } }`

// A request limit_req and limit_conn let through allocates nothing in
// the steady state: keys are evaluated into reused buffers and the zones
// are looked up in place.
func TestLimitNoAllocs(t *testing.T) {
	serve := limitLoop(t, limitBench, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	serve()
	if n := testing.AllocsPerRun(200, func() {
		if st := serve(); st != 200 {
			t.Fatalf("status %d", st)
		}
	}); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}

func BenchmarkServeLimits(b *testing.B) {
	serve := limitLoop(b, limitBench, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}
