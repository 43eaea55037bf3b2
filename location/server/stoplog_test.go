package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTerminateLogsAnswered: an immediate stop (Terminate, a worker's
// SIGTERM) under load leaves an access line for every request whose
// response a client got before the process would exit (Terminate's
// return), as nginx logs a request in the handler of its last write. The
// log is buffered: a line written after Terminate's flush stays in
// memory, as it is lost with a process that exits. A client's response
// read before the flag is set counts: one read after Terminate returned
// is a last write the stop let through, which it must refuse.
func TestTerminateLogsAnswered(t *testing.T) {
	ts := startTest(t, `server {
    listen 127.0.0.1:PORT;
    access_log DIR/access.log combined buffer=1m;
    location / { return 200 "ok"; }
    location /big { return 200 "`+strings.Repeat("b", 3000)+`"; }
}`)
	const clients = 8
	var (
		stopped  atomic.Bool
		mu       sync.Mutex
		answered []string
		wg       sync.WaitGroup
		running  sync.WaitGroup
		conns    = make([]net.Conn, clients)
	)
	for i := range clients {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		wg.Add(1)
		running.Add(1)
		go func(i int, c net.Conn) {
			defer wg.Done()
			var warm sync.Once
			defer warm.Do(running.Done) // ended early: the check below fails
			br := bufio.NewReader(c)
			path := "/?"
			if i%2 == 1 {
				path = "/big?" // its body is written apart from its head
			}
			for n := 0; ; n++ {
				if n == 50 {
					warm.Do(running.Done)
				}
				uri := path + "c=" + strconv.Itoa(i) + "&n=" + strconv.Itoa(n)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(c, "GET "+uri+" HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
					break
				}
				if !readResponse(br) {
					break
				}
				// Read before the stop ended (the flag is set once
				// Terminate returned): the process would still run.
				if stopped.Load() {
					break
				}
				mu.Lock()
				answered = append(answered, uri)
				mu.Unlock()
			}
		}(i, c)
	}
	running.Wait()
	ts.srv.Terminate()
	logged, err := os.ReadFile(filepath.Join(ts.dir, "access.log"))
	// Here the process would have exited: a response that still comes
	// is one the stop let out, its line after the flush (none should).
	time.Sleep(20 * time.Millisecond)
	stopped.Store(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	if len(answered) < clients*50 {
		t.Fatalf("only %d requests answered before the stop (a client ended early)", len(answered))
	}
	lines := map[string]bool{}
	for _, line := range strings.Split(string(logged), "\n") {
		if _, rest, ok := strings.Cut(line, `"GET `); ok {
			uri, _, _ := strings.Cut(rest, " ")
			lines[uri] = true
		}
	}
	missing := 0
	for _, uri := range answered {
		if !lines[uri] {
			missing++
			if missing <= 5 {
				t.Errorf("answered but not logged: %s", uri)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d answered requests not logged", missing, len(answered))
	}
}

// readResponse reads one whole response with net/http's reader.
func readResponse(br *bufio.Reader) bool {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err == nil
}
