package difftest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const procFastStopConf = `daemon off;
master_process MASTER;
worker_processes 1;
error_log DIR/error.log info;
pid DIR/nginx.pid;
EXTRA
events {}
http {
    log_format st '$request $status $body_bytes_sent';
    access_log DIR/access.log st;
    server {
        listen 127.0.0.1:PORT;
        location / { proxy_pass http://127.0.0.1:BACKEND; LOC }
    }
}
`

// TestProcessFastStop: a fast stop (SIGTERM, SIGINT; SIGQUIT too without
// a master, ngx_single_process_cycle ending on either) while a request
// waits for a backend that never answers ends the worker at once, as
// ngx_worker_process_exit does: no request waited for, nothing logged for
// it (no access line, no error), no worker killed by the master; the
// client and the backend see their connections closed. A graceful stop
// ends it once worker_shutdown_timeout passed.
func TestProcessFastStop(t *testing.T) {
	requireRoot(t)
	keep := regexp.MustCompile(`signal|exiting|\] exit$|exited|\[alert\]|\[error\]|\[warn\] .*\*|\[info\]`)
	for _, tc := range []struct {
		name   string
		master string
		sig    syscall.Signal
		extra  string
	}{
		{"master TERM", "on", syscall.SIGTERM, ""},
		{"master INT", "on", syscall.SIGINT, ""},
		{"single TERM", "off", syscall.SIGTERM, ""},
		{"single QUIT", "off", syscall.SIGQUIT, ""},
		// A graceful stop waits for the request until
		// worker_shutdown_timeout, then terminates it: its backend
		// closes, its access line says "000", nothing else is logged.
		{"master QUIT past worker_shutdown_timeout", "on", syscall.SIGQUIT, "worker_shutdown_timeout 500ms;"},
		// A request that does not watch its client is terminated too.
		{"master QUIT past worker_shutdown_timeout, proxy_ignore_client_abort", "on", syscall.SIGQUIT,
			"worker_shutdown_timeout 500ms;\nLOC proxy_ignore_client_abort on;"},
		// And an HTTP/2 stream's (its connection's end ends it).
		{"master QUIT past worker_shutdown_timeout, HTTP/2", "on", syscall.SIGQUIT,
			"worker_shutdown_timeout 500ms;\nH2"},
		// nginx's shutdown timer ends the HTTP/2 connection, and a
		// stream that ignores its client's end waits on its backend:
		// here until proxy_read_timeout.
		{"master QUIT past worker_shutdown_timeout, HTTP/2, proxy_ignore_client_abort", "on", syscall.SIGQUIT,
			"worker_shutdown_timeout 500ms;\nH2\nLOC proxy_ignore_client_abort on; proxy_read_timeout 2s;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string][]string{}
			for _, im := range procImpls(t) {
				got[im.name] = fastStopRun(t, im, tc.master, tc.extra, tc.sig, keep)
			}
			if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
				t.Errorf("(-nginx +gonginx):\n%s", diff)
			}
		})
	}
}

// fastStopRun stops im with sig while a request waits on a silent
// backend and returns what was seen: the error log's lines (kept by
// keep), the access log, the master's exit, the client's and the
// backend's reads.
func fastStopRun(t *testing.T, im procImpl, masterProcess, extra string, sig syscall.Signal, keep *regexp.Regexp) []string {
	t.Helper()
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := bl.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	dir := procDir(t)
	port := freeTCPPort(t)
	conf := strings.ReplaceAll(procFastStopConf, "MASTER", masterProcess)
	extra, loc, _ := strings.Cut(extra, "\nLOC ")
	extra, h2 := strings.CutSuffix(extra, "\nH2")
	if h2 {
		conf = strings.Replace(conf, "listen 127.0.0.1:PORT;", "listen 127.0.0.1:PORT http2;", 1)
	}
	conf = strings.Replace(conf, "EXTRA", extra, 1)
	conf = strings.Replace(conf, "LOC", loc, 1)
	conf = strings.ReplaceAll(conf, "BACKEND", strconv.Itoa(bl.Addr().(*net.TCPAddr).Port))
	m := startMaster(t, im, dir, conf, port)

	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if h2 {
		writeH2Get(t, c, "/wait")
	} else {
		fmt.Fprintf(c, "GET /wait HTTP/1.1\r\nHost: localhost\r\n\r\n")
	}
	var be net.Conn
	select {
	case be = <-accepted:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: the backend got no connection", im.name)
	}
	defer be.Close()
	// The request is whole at the backend: the proxy waits for its answer.
	be.SetReadDeadline(time.Now().Add(15 * time.Second))
	req := make([]byte, 0, 512)
	for !strings.Contains(string(req), "\r\n\r\n") {
		buf := make([]byte, 512)
		n, err := be.Read(buf)
		if err != nil {
			t.Fatalf("%s: the backend's read of the request: %v", im.name, err)
		}
		req = append(req, buf[:n]...)
	}

	syscall.Kill(m.pid(), sig)
	select {
	case <-m.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit on %v", im.name, sig)
	}
	out := []string{"exit: " + m.cmd.ProcessState.String()}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if h2 {
		out = append(out, fmt.Sprintf("client: %s %v", h2Frames(b), err != nil))
	} else {
		out = append(out, fmt.Sprintf("client: %q %v", b, err != nil))
	}
	be.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := be.Read(make([]byte, 1))
	out = append(out, fmt.Sprintf("backend: %d %v", n, err))
	access, _ := os.ReadFile(filepath.Join(dir, "access.log"))
	out = append(out, "access: "+string(access))
	for _, l := range logLines(t, filepath.Join(dir, "error.log"), keep, dir) {
		// A signal that came while nginx was not in epoll_wait (still
		// sending the request) breaks none: its line is a race. So is
		// startMaster's probe connection's close, logged or not before
		// a loaded server's stop.
		if !strings.Contains(l, "epoll_wait() failed (4: ") && !strings.Contains(l, "while waiting for request") {
			out = append(out, strings.TrimSuffix(l, " N")) // SIGCHLD's sender: the worker
		}
	}
	return out
}

// writeH2Get sends the HTTP/2 preface, SETTINGS and a GET of path on
// stream 1 (h2c with prior knowledge).
func writeH2Get(t *testing.T, c net.Conn, path string) {
	t.Helper()
	var w bytes.Buffer
	w.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&w, nil)
	fr.WriteSettings()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", path}, {":authority", "localhost"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
	if _, err := c.Write(w.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// h2Frames names the frames in b (type, stream, flags; a GOAWAY's code).
func h2Frames(b []byte) string {
	fr := http2.NewFramer(nil, bytes.NewReader(b))
	var names []string
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return strings.Join(names, " ")
		}
		h := f.Header()
		name := fmt.Sprintf("%v/%d", h.Type, h.StreamID)
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			name += "/" + ga.ErrCode.String()
		}
		if rs, ok := f.(*http2.RSTStreamFrame); ok {
			name += "/" + rs.ErrCode.String()
		}
		names = append(names, name)
	}
}
