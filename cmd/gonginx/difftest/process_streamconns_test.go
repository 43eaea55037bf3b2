package difftest

// worker_connections in stream{}, side by side: a session takes a slot
// for its client (a TCP connection or a UDP client) and one for its
// backend connection; one worker with 8 slots (four listening sockets
// and the channel to the master take five) runs sessions until none is
// free. What each client gets, the access log and the alerts are
// compared.

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const streamConnsConf = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
worker_processes 1;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events { worker_connections 8; }
stream {
    log_format s '$status "$upstream_addr" "$upstream_connect_time" $bytes_sent';
    access_log DIR/stream.log s;
    server {
        listen 127.0.0.1:PORT;
        return ready;
    }
    server {
        listen 127.0.0.1:PROXYPORT;
        proxy_pass 127.0.0.1:BACKEND;
    }
    server {
        listen 127.0.0.1:PREREADPORT;
        ssl_preread on;
        proxy_pass 127.0.0.1:BACKEND;
    }
    server {
        listen 127.0.0.1:UDPPORT udp;
        proxy_pass 127.0.0.1:UBACKEND;
        proxy_responses 1;
    }
}
`

// holdingStream is a TCP backend that reads a client's first bytes, says
// they arrived, and answers "held" and closes only when released.
func holdingStream(t *testing.T) (port int, arrived chan chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	arrived = make(chan chan struct{}, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(20 * time.Second))
				if _, err := c.Read(make([]byte, 100)); err != nil {
					return
				}
				release := make(chan struct{})
				arrived <- release
				select {
				case <-release:
				case <-time.After(20 * time.Second):
				}
				io.WriteString(c, "held\n")
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, arrived
}

func TestProcessStreamWorkerConnections(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_stream_module.so"); err != nil {
		t.Fatal("nginx's stream module is needed (Debian's nginx package installs it):", err)
	}
	keep := regexp.MustCompile(`worker_connections`)
	ports := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	times := regexp.MustCompile(`"\d+\.\d{3}"`)
	type result struct {
		Clients, Access, Log []string
	}
	got := map[string]result{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		port := freeTCPPort(t)
		bePort, arrived := holdingStream(t)
		be := &streamBackends{}
		uPort := be.udp(t, "U")
		p := map[string]int{"PREREADPORT": freeTCPPort(t), "UDPPORT": freeTCPPort(t), "PROXYPORT": freeTCPPort(t)}
		conf := strings.NewReplacer("PREREADPORT", strconv.Itoa(p["PREREADPORT"]), "UDPPORT", strconv.Itoa(p["UDPPORT"]),
			"PROXYPORT", strconv.Itoa(p["PROXYPORT"]),
			"UBACKEND", strconv.Itoa(uPort), "BACKEND", strconv.Itoa(bePort)).Replace(streamConnsConf)
		m := startMaster(t, im, dir, conf, port)
		// The probe of PORT made a session: it is over (its slot free)
		// once logged.
		waitUntil(t, "the probe's session logged", func() bool {
			b, _ := os.ReadFile(filepath.Join(dir, "stream.log"))
			return len(b) > 0
		})
		port = p["PROXYPORT"]
		var r result
		note := func(what, got string) { r.Clients = append(r.Clients, what+": "+got) }
		next := func() chan struct{} {
			select {
			case rel := <-arrived:
				return rel
			case <-time.After(10 * time.Second):
				b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
				t.Fatalf("%s: no session reached the backend; so far %q; error.log:\n%s", im.name, r.Clients, b)
				return nil
			}
		}
		read := func(c net.Conn) string {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, _ := io.ReadAll(c)
			if len(b) == 0 {
				return "closed"
			}
			return strconv.Quote(string(b))
		}

		// A held session: its client and its backend take two slots,
		// six of seven are taken.
		held := openClient(t, port, "hold")
		relHeld := next()
		// The next client takes the last slot, its backend connection
		// finds none: 500, the client closed.
		note("backend past the limit", read(openClient(t, port, "x")))
		// A UDP client likewise: no answer.
		uc, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(p["UDPPORT"]))
		if err != nil {
			t.Fatal(err)
		}
		uc.Write([]byte("ping"))
		uc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if n, err := uc.Read(make([]byte, 100)); err == nil {
			note("udp backend past the limit", "answered "+strconv.Itoa(n))
		} else {
			note("udp backend past the limit", "no answer")
		}
		uc.Close()
		// A client waiting in ssl_preread takes the last slot: the next
		// one is closed at accept.
		idle := openClient(t, p["PREREADPORT"], "")
		waitUntil(t, "the idle client accepted", func() bool {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return strings.Contains(string(b), " connected to 127.0.0.1:"+strconv.Itoa(p["PREREADPORT"]))
		})
		note("client past the limit", read(openClient(t, port, "x")))
		// The held session ends (by its backend): both its slots are
		// free before its client sees the end, and a new session runs.
		close(relHeld)
		note("held", read(held))
		c := openClient(t, port, "again")
		close(next())
		note("after the held one", read(c))
		idle.Close()
		m.quit()
		be.close()
		for _, l := range logLines(t, filepath.Join(dir, "error.log"), keep, dir) {
			r.Log = append(r.Log, ports.ReplaceAllString(l, "127.0.0.1:P"))
		}
		for _, l := range readLines(t, filepath.Join(dir, "stream.log")) {
			// Not the probe's nor the idle client's (at a time of its own).
			if !strings.HasPrefix(l, "400 ") && l != `200 "-" "-" 5` && l != `200 "-" "-" 0` {
				l = ports.ReplaceAllString(l, "127.0.0.1:P")
				r.Access = append(r.Access, times.ReplaceAllString(l, `"T"`))
			}
		}
		sort.Strings(r.Access)
		got[im.name] = r
	}
	// The scenario as nginx plays it: three sessions past the limit.
	want := []string{"backend past the limit: closed", "udp backend past the limit: no answer",
		"client past the limit: closed", `held: "held\n"`, `after the held one: "held\n"`}
	if diff := cmp.Diff(want, got["nginx"].Clients); diff != "" || len(got["nginx"].Log) != 3 {
		t.Errorf("nginx: clients (-want +got):\n%s\nalerts: %q", diff, got["nginx"].Log)
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("(-nginx +gonginx):\n%s", diff)
	}
}
