package difftest

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Stream realip side by side: with a PROXY protocol header from an
// address set_real_ip_from trusts, $remote_* are the header's and
// $realip_remote_* the connection's own; from one it does not trust,
// both are the connection's. The client's own port and the listener's
// are replaced by names, so the two servers' answers compare.
const streamRealIPConf = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
stream {
    server {
        listen 127.0.0.1:PORT proxy_protocol;
        set_real_ip_from 127.0.0.1;
        return "$remote_addr:$remote_port $realip_remote_addr:$realip_remote_port $server_addr:$server_port $proxy_protocol_addr:$proxy_protocol_port";
    }
    server {
        listen 127.0.0.1:UNTRUSTEDPORT proxy_protocol;
        set_real_ip_from 10.0.0.0/8;
        return "$remote_addr:$remote_port $realip_remote_addr:$realip_remote_port $server_addr:$server_port $proxy_protocol_addr:$proxy_protocol_port";
    }
}
`

func TestServeStreamRealIP(t *testing.T) {
	requireRoot(t)
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		port, untrusted := freeTCPPort(t), freeTCPPort(t)
		m := startMaster(t, im, dir, strings.ReplaceAll(streamRealIPConf, "UNTRUSTEDPORT", strconv.Itoa(untrusted)), port)
		var out []string
		for _, p := range []int{port, untrusted} {
			out = append(out, streamPortsNamed(t, p, "PROXY TCP4 192.0.2.7 127.0.0.1 5000 80\r\n"))
		}
		m.quit()
		got[im.name] = out
	}
	if testing.Verbose() {
		t.Logf("nginx:\n%s", strings.Join(got["nginx"], "\n"))
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("stream realip variables (-nginx +gonginx):\n%s", diff)
	}
}

// streamPortsNamed sends header and reads the answer, with the client's
// own port written CPORT and the server's SPORT.
func streamPortsNamed(t *testing.T, port int, header string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		return "connect: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, header)
	b, _ := io.ReadAll(c)
	own := strconv.Itoa(c.LocalAddr().(*net.TCPAddr).Port)
	s := strings.ReplaceAll(string(b), ":"+own, ":CPORT")
	return strings.ReplaceAll(s, ":"+strconv.Itoa(port), ":SPORT")
}
