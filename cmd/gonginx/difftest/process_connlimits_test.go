package difftest

// worker_connections, side by side: one worker with 6 connection slots
// (its listening socket and its channel to the master take two) serves
// clients and backend connections until none is free; what each client
// gets and the error log's lines are compared.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const connLimitsConf = `daemon off;
worker_processes 1;
error_log DIR/error.log warn;
pid DIR/nginx.pid;
events { worker_connections 6; }
http {
    access_log off;
    upstream held {
        server 127.0.0.1:BACKEND;
        keepalive 2;
    }
    server {
        listen 127.0.0.1:PORT;
        location / { return 200 "x\n"; }
        location /hold {
            proxy_pass http://held;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /direct { proxy_pass http://127.0.0.1:BACKEND; }
    }
}
`

// holdingBackend accepts connections, reads a request head on each and
// answers it only when told to (release), so a test knows a request
// reached it and keeps its connection open meanwhile.
type holdingBackend struct {
	ln      net.Listener
	arrived chan chan struct{} // one per request: close it to answer
}

func newHoldingBackend(t *testing.T) *holdingBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &holdingBackend{ln: ln, arrived: make(chan chan struct{}, 8)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for { // requests, kept alive
					for {
						l, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if l == "\r\n" {
							break
						}
					}
					release := make(chan struct{})
					b.arrived <- release
					select {
					case <-release:
					case <-time.After(20 * time.Second):
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nheld\n")
				}
			}()
		}
	}()
	return b
}

func (b *holdingBackend) port() int { return b.ln.Addr().(*net.TCPAddr).Port }

// next waits for the next request to reach the backend.
func (b *holdingBackend) next(t *testing.T) chan struct{} {
	t.Helper()
	select {
	case r := <-b.arrived:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the backend")
		return nil
	}
}

// openClient connects and sends head (if any).
func openClient(t *testing.T, port int, head string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if head != "" {
		io.WriteString(c, head)
	}
	return c
}

// answer reads what the server sends until it closes (every request
// here is HTTP/1.0, so its slot is free once this returns): the status,
// "closed" when it sent nothing.
func answer(c net.Conn) string {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	if len(b) == 0 {
		return "closed"
	}
	if f := strings.Fields(string(b)); len(f) > 1 {
		return f[1]
	}
	return "garbage " + strconv.Quote(string(b))
}

func TestProcessWorkerConnections(t *testing.T) {
	requireRoot(t)
	keep := regexp.MustCompile(`worker_connections`)
	type result struct {
		Clients []string
		Log     []string
	}
	got := map[string]result{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		port := freeTCPPort(t)
		be := newHoldingBackend(t)
		conf := strings.ReplaceAll(connLimitsConf, "BACKEND", strconv.Itoa(be.port()))
		m := startMaster(t, im, dir, conf, port)
		var r result
		note := func(what, got string) { r.Clients = append(r.Clients, what+": "+got) }

		// Listener, channel, two clients and their backends: all six
		// slots busy, none reusable; a new client is closed at once.
		c1 := openClient(t, port, "GET /hold HTTP/1.0\r\nHost: localhost\r\n\r\n")
		rel1 := be.next(t)
		c2 := openClient(t, port, "GET /hold HTTP/1.0\r\nHost: localhost\r\n\r\n")
		rel2 := be.next(t)
		note("client past the limit", answer(openClient(t, port, "GET / HTTP/1.0\r\n\r\n")))

		// The first frees its client; its backend connection stays in the
		// keepalive pool, holding a slot. A client takes the last slot,
		// its new backend connection finds none: 500.
		close(rel1)
		note("first held", answer(c1))
		note("backend past the limit", answer(openClient(t, port, "GET /direct HTTP/1.0\r\nHost: localhost\r\n\r\n")))

		// An idle client takes the last slot; the next one makes the
		// worker close it (the oldest reusable) and is served.
		idle := openClient(t, port, "")
		note("served by reusing", answer(openClient(t, port, "GET / HTTP/1.0\r\n\r\n")))
		note("idle client reused", answer(idle))

		close(rel2)
		note("second held", answer(c2))
		m.quit()
		r.Log = logLines(t, filepath.Join(dir, "error.log"), keep, dir) // numbers of 3+ digits as N
		got[im.name] = r
	}
	want := result{
		Clients: []string{"client past the limit: closed", "first held: 200", "backend past the limit: 500",
			"served by reusing: 200", "idle client reused: closed", "second held: 200"},
		Log: []string{
			"[alert] *C 6 worker_connections are not enough while connecting to upstream, client: N.0.0.1, server: , request: \"GET /direct HTTP/1.0\", upstream: \"http://N.0.0.1:N/direct\", host: \"localhost\"",
			"[alert] 6 worker_connections are not enough",
			"[warn] 6 worker_connections are not enough, reusing connections",
		},
	}
	if diff := cmp.Diff(want, got["nginx"]); diff != "" {
		t.Errorf("nginx (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("(-nginx +gonginx):\n%s", diff)
	}
}

// TestProcessWorkerConnectionsRlimit: worker_connections above the open
// file limit the workers get is nginx's warning, at -t after "syntax is
// ok" (the limit is worker_rlimit_nofile when set); fewer than the
// listening sockets and the channel is an error. The programs run with
// a limit of 4096 (soft and hard, so Go's raising the soft limit to the
// hard one changes nothing).
var stderrLogPrefix = regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: `)

func TestProcessWorkerConnectionsRlimit(t *testing.T) {
	requireRoot(t)
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		var out []string
		// Two listening sockets need three connections (the channel).
		two := fmt.Sprintf("http { server { listen 127.0.0.1:%d; listen 127.0.0.1:%d; } }", freeTCPPort(t), freeTCPPort(t))
		for _, c := range []struct{ main, conns string }{
			{"", "5000"}, {"worker_rlimit_nofile 300;", "5000"}, {"worker_rlimit_nofile 8000;", "5000"}, {"", "4096"},
			{two, "2"}, {two, "3"},
		} {
			conf := fmt.Sprintf("%s\nerror_log DIR/error.log warn;\npid DIR/nginx.pid;\nevents { worker_connections %s; }\n", c.main, c.conns)
			writeConf(t, dir, conf, 0)
			cmd := exec.Command("sh", "-c", `ulimit -n 4096 && exec "$0" "$@"`, im.bin, "-p", dir+"/", "-c", filepath.Join(dir, "nginx.conf"), "-t")
			b, _ := cmd.CombinedOutput()
			s := strings.ReplaceAll(string(b), dir, "DIR")
			s = strings.ReplaceAll(s, im.name+":", "PROG:")
			// nginx writes errors of its modules' init_conf to stderr in
			// the error log's format (the log file is not open yet);
			// gonginx prints them as its other -t errors, as it does
			// "no \"events\" section" (a known difference of form).
			s = stderrLogPrefix.ReplaceAllString(s, "PROG: $1 ")
			out = append(out, c.conns)
			out = append(out, strings.Split(strings.TrimSpace(s), "\n")...)
		}
		got[im.name] = out
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("-t (-nginx +gonginx):\n%s", diff)
	}
	if !strings.Contains(strings.Join(got["nginx"], "\n"), "5000 worker_connections exceed open file resource limit: 300") ||
		!strings.Contains(strings.Join(got["nginx"], "\n"), "2 worker_connections are not enough for 2 listening sockets") {
		t.Errorf("nginx did not warn: %q", got["nginx"])
	}
}
