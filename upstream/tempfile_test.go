package upstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// lineLog records the lines a request logs, as "level: message".
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) LogTryError(err error) {
	level := "error"
	var le interface{ LogLevel() string }
	if errors.As(err, &le) {
		level = le.LogLevel()
	}
	l.mu.Lock()
	l.lines = append(l.lines, level+": "+err.Error())
	l.mu.Unlock()
}

func (l *lineLog) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// slowClient connects with a small receive buffer and sends raw, reading
// nothing yet: the proxy's writes to it soon block.
func slowClient(t *testing.T, addr, raw string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return nil
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitUntil polls cond for up to 10 seconds; it reports whether it held.
func waitUntil(cond func() bool) bool {
	for i := 0; i < 1000; i++ {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// bigBody is n bytes that show their own order: each 8-byte group is
// its offset.
func bigBody(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i += 8 {
		fmt.Fprintf(&b, "%07x\n", i)
	}
	return b.String()[:n]
}

func tempFiles(t *testing.T, dir string) []string {
	var names []string
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			names = append(names, path)
		}
		return nil
	})
	return names
}

// TestTempFile: a client that does not read makes the proxy put the rest
// of a large response in a temporary file, so the backend is read whole
// and its connection closed before the client takes anything; the client
// gets every byte in order, the file is gone after, and nginx's warning
// is logged once. proxy_max_temp_file_size 0 keeps the backend waiting
// for the client instead (no file), and 2m once the file holds 2 MB.
func TestTempFile(t *testing.T) {
	const size = 8 << 20 // over the proxy's send buffer (4 MB at most) and the client's
	body := bigBody(size)
	for _, tc := range []struct {
		name     string
		response string
		max      string
		want     string // the body as the client decodes it
		spooled  bool   // the backend is read whole before the client reads
		warned   bool   // a temporary file was written
	}{
		{name: "content-length", response: fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", size, body), want: body, spooled: true, warned: true},
		{name: "chunked", response: fmt.Sprintf("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", size, body), want: body, spooled: true, warned: true},
		// The file takes 2 MB, then the backend waits for the client.
		{name: "max 2m", response: fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", size, body), max: "proxy_max_temp_file_size 2m;", want: body, warned: true},
		{name: "no temp file", response: fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", size, body), max: "proxy_max_temp_file_size 0;", want: body},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := newBackend(t, tc.response)
			be.close = true
			dir := t.TempDir()
			ps := newProxyServer(t, "", fmt.Sprintf("proxy_pass http://%s; proxy_temp_path %s 1 2; %s", be.addr(), dir, tc.max), "/")
			log := &lineLog{}
			ps.log = log
			c := slowClient(t, ps.ln.Addr().String(), "GET /big HTTP/1.0\r\nHost: x\r\n\r\n")
			closed := func() bool { return be.connCount() == 1 && be.openConns() == 0 }
			if tc.spooled {
				if !waitUntil(closed) {
					t.Fatal("the backend connection is still open while the client reads nothing")
				}
				if files := tempFiles(t, dir); len(files) != 1 {
					t.Errorf("temporary files while the client reads: %v", files)
				}
			} else {
				// The relay stops reading the backend (whose socket
				// buffers may still take all it writes): the file stays
				// at the limit, or is never made. Give the relay time
				// to write what it may.
				var want []int64
				if tc.warned {
					want = []int64{2 << 20}
					waitUntil(func() bool { return cmp.Equal(want, fileSizes(dir)) })
				}
				time.Sleep(200 * time.Millisecond)
				if diff := cmp.Diff(want, fileSizes(dir)); diff != "" {
					t.Errorf("temporary file sizes while the client reads nothing (-want +got):\n%s", diff)
				}
			}
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(got, []byte("\r\n\r\n"))
			if i < 0 {
				t.Fatalf("no head in %q", got[:min(len(got), 200)])
			}
			if gotBody := string(got[i+4:]); gotBody != tc.want {
				t.Errorf("body: %d bytes, want %d; first difference at %d", len(gotBody), len(tc.want), firstDiff(gotBody, tc.want))
			}
			ps.ln.Close()
			if !waitUntil(func() bool { return len(tempFiles(t, dir)) == 0 }) {
				t.Errorf("temporary files left: %v", tempFiles(t, dir))
			}
			var want []string
			if tc.warned {
				want = []string{"warn: an upstream response is buffered to a temporary file " + dir + "/1/00/0000000001 while reading upstream"}
			}
			got2 := log.got()
			for i, l := range got2 {
				// The file's number is the process's count.
				if j := strings.Index(l, dir+"/"); j >= 0 && strings.HasPrefix(l, "warn: ") {
					got2[i] = l[:j] + dir + "/1/00/0000000001 while reading upstream"
				}
			}
			if diff := cmp.Diff(want, got2); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTempFileUnwritable: a temporary file that cannot be made cuts the
// response with nginx's crit line.
func TestTempFileUnwritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Log("root writes anywhere: the directory is a file instead")
	}
	const size = 12 << 20
	body := bigBody(size)
	be := newBackend(t, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", size, body))
	be.close = true
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		os.Remove(dir)
		os.WriteFile(dir, nil, 0o600)
	}
	ps := newProxyServer(t, "", fmt.Sprintf("proxy_pass http://%s; proxy_temp_path %s;", be.addr(), dir), "/")
	log := &lineLog{}
	ps.log = log
	c := slowClient(t, ps.ln.Addr().String(), "GET /big HTTP/1.0\r\nHost: x\r\n\r\n")
	if !waitUntil(func() bool { return len(log.got()) > 0 }) {
		t.Fatal("nothing logged")
	}
	got, _ := io.ReadAll(c)
	if i := bytes.Index(got, []byte("\r\n\r\n")); i < 0 || len(got)-i-4 >= size {
		t.Errorf("the response was not cut: %d bytes", len(got))
	}
	errno := "13: Permission denied"
	if os.Geteuid() == 0 {
		errno = "20: Not a directory"
	}
	lines := log.got()
	for i, l := range lines {
		if j := strings.Index(l, dir+"/"); j >= 0 {
			k := strings.IndexByte(l[j:], '"')
			lines[i] = l[:j] + dir + "/N" + l[j+k:]
		}
	}
	want := []string{`crit: open() "` + dir + `/N" failed (` + errno + `) while reading upstream`}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

// fileSizes are the sizes of the files under dir.
func fileSizes(dir string) []int64 {
	var sizes []int64
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			sizes = append(sizes, info.Size())
		}
		return nil
	})
	return sizes
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestTempFileFastCGI: a FastCGI response goes to the temporary file as
// a proxied one does, so the script is done before the client reads.
func TestTempFileFastCGI(t *testing.T) {
	const size = 12 << 20
	body := bigBody(size)
	written := make(chan struct{}, 1)
	be := newFCGIBackend(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
		w.(http.Flusher).Flush()
		written <- struct{}{}
	})
	dir := t.TempDir()
	ps := newProxyServer(t, "", fmt.Sprintf("fastcgi_pass %s; fastcgi_param REQUEST_METHOD $request_method; fastcgi_param SERVER_PROTOCOL $server_protocol; fastcgi_param REQUEST_URI $request_uri; fastcgi_temp_path %s 1 2;", be.ln.Addr(), dir), "/")
	log := &lineLog{}
	ps.log = log
	c := slowClient(t, ps.ln.Addr().String(), "GET /big HTTP/1.0\r\nHost: x\r\n\r\n")
	select {
	case <-written:
	case <-time.After(10 * time.Second):
		t.Fatalf("the script is still writing while the client reads nothing; log %q; files %v", log.got(), tempFiles(t, dir))
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(got, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatalf("no head in %q", got[:min(len(got), 200)])
	}
	if gotBody := string(got[i+4:]); gotBody != body {
		t.Errorf("body: %d bytes, want %d; first difference at %d", len(gotBody), len(body), firstDiff(gotBody, body))
	}
	ps.ln.Close()
	if !waitUntil(func() bool { return len(tempFiles(t, dir)) == 0 }) {
		t.Errorf("temporary files left: %v", tempFiles(t, dir))
	}
	lines := log.got()
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "warn: an upstream response is buffered to a temporary file "+dir+"/") {
		t.Errorf("log: %q", lines)
	}
}

// TestTempFileCache: a response being cached goes to the temporary file
// past proxy_max_temp_file_size (nginx's pipe ignores it when cacheable),
// so the backend is done before the client reads, and logs no warning;
// the cache then has the whole body.
func TestTempFileCache(t *testing.T) {
	const size = 8 << 20
	body := bigBody(size)
	be := newBackend(t, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", size, body))
	be.close = true
	dir := t.TempDir()
	ps := newProxyServer(t, "proxy_cache_path "+t.TempDir()+" levels=1:2 keys_zone=z:1m;",
		fmt.Sprintf("proxy_pass http://%s; proxy_cache z; proxy_cache_valid 200 1h; proxy_temp_path %s; proxy_max_temp_file_size 1m;", be.addr(), dir), "/")
	log := &lineLog{}
	ps.log = log
	c := slowClient(t, ps.ln.Addr().String(), "GET /big HTTP/1.0\r\nHost: x\r\n\r\n")
	if !waitUntil(func() bool { return be.connCount() == 1 && be.openConns() == 0 }) {
		t.Fatal("the backend connection is still open while the client reads nothing")
	}
	// The relay's file, and the cache's (use_temp_path; nginx's one
	// file is both), which grows as the client is sent the body.
	if !waitUntil(func() bool { sz := fileSizes(dir); return len(sz) == 2 && max(sz[0], sz[1]) > 1<<20 }) {
		t.Errorf("temporary file sizes %v: want the relay's over proxy_max_temp_file_size, and the cache's", fileSizes(dir))
	}
	for i, c := range []net.Conn{c, nil} {
		if c == nil {
			var err error
			if c, err = net.Dial("tcp", ps.ln.Addr().String()); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET /big HTTP/1.0\r\nHost: x\r\n\r\n")
		}
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		j := bytes.Index(got, []byte("\r\n\r\n"))
		if j < 0 {
			t.Fatalf("request %d: no head", i)
		}
		if gotBody := string(got[j+4:]); gotBody != body {
			t.Errorf("request %d: body: %d bytes, want %d; first difference at %d", i, len(gotBody), len(body), firstDiff(gotBody, body))
		}
	}
	if n := be.connCount(); n != 1 {
		t.Errorf("the backend had %d connections: the second request was no hit", n)
	}
	// A response being cached keeps its file with no warning (nginx's
	// persistent temporary file).
	if lines := log.got(); len(lines) != 0 {
		t.Errorf("log: %q, want nothing", lines)
	}
}

// A name another process took (the temporary path is shared, nginx's
// numbers are its own) gives the next name, whose level directories are
// made too: the collision's name failed with open()'s ENOENT.
func TestCreateTempAfterCollision(t *testing.T) {
	tc := tempConf{dir: t.TempDir(), levels: []int{1, 2}}
	taken, dirs := tc.tempName(tempNumber.Load() + 1)
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(taken, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := tc.createTemp()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Name() == taken {
		t.Errorf("created %s, the taken name", f.Name())
	}
}
