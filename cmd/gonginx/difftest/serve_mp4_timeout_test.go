package difftest

import (
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/gonginx/gonginx/location/mp4/mp4gen"
)

// A client that stops reading a cut movie past send_timeout: nginx's
// mp4 handler set its log action, so the info line says "while sending
// mp4 to client", and the access log has the status the cut had.
func TestServeMP4SendTimeout(t *testing.T) {
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	v := mp4Video(4000)
	for i := range v.Sizes {
		v.Sizes[i] = 8 << 10 // 32 MB of samples: more than the socket buffers hold
	}
	movie := mp4gen.Build(mp4gen.Movie{Timescale: 1000, Tracks: []mp4gen.Track{v}})
	c := harness.Case{Name: "mp4send", Config: `log_format mp4_sent 'ACCESS $status "$request"';
server {
    listen 127.0.0.1:{{PORT}};
    send_timeout 1s;
    access_log /dev/stderr mp4_sent;
    error_log /dev/stderr info;
    location / { root html; mp4; }
}
`, Content: map[string]string{"html/big.mp4": string(movie)}}
	timedOut := regexp.MustCompile(`\[info\] .*(client timed out .*?), client:`)
	run := func(im harness.Impl) []string {
		srv, err := harness.Start(c, im, serveAssets(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(srv.Port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET /big.mp4?start=1.5 HTTP/1.1\r\nHost: a\r\n\r\n")
		time.Sleep(2500 * time.Millisecond) // not reading, past send_timeout
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		io.Copy(io.Discard, conn)
		conn.Close()
		settleLog(srv, 1)
		out := srv.Stop()
		lines := accessLines(out)
		for _, l := range strings.Split(out, "\n") {
			if m := timedOut.FindStringSubmatch(l); m != nil {
				lines = append(lines, m[1])
			}
		}
		return lines
	}
	var wg sync.WaitGroup
	var want, got []string
	wg.Add(2)
	go func() { defer wg.Done(); want = run(nginx) }()
	go func() { defer wg.Done(); got = run(gonginx) }()
	wg.Wait()
	if len(want) != 2 {
		t.Fatalf("nginx logged %q, want an access line and the timeout", want)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("logs (-nginx +gonginx):\n%s", d)
	}
}
