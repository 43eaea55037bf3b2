package location

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSubrequestsConcurrent runs pages made of subrequests (addition's
// before and after bodies, ssi includes of a static file and of a proxied
// backend, nested two deep) from many clients at once, some of which hang
// up mid-response: every complete answer is in order, and the race
// detector sees the pooled exchanges and sub-connections used safely.
func TestSubrequestsConcurrent(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "[backend %s %s]", r.URL.Path, r.Header.Get("X-Client"))
	}))
	defer backend.Close()
	ts := startTest(t, `server {
    listen 127.0.0.1:PORT;
    root DIR;
    location /page/ {
        ssi on;
        add_before_body /parts/head.html;
        add_after_body /parts/tail.html;
    }
    location /parts/ { ssi on; }
    location /up/ { proxy_pass http://`+strings.TrimPrefix(backend.URL, "http://")+`/; }
}`)
	ts.file(t, "page/p.html", `<p><!--# include virtual="/parts/mid.html" --><!--# include virtual="/up/x" --></p>`)
	ts.file(t, "parts/head.html", "<head>")
	ts.file(t, "parts/tail.html", "<tail>")
	ts.file(t, "parts/mid.html", `(mid <!--# include virtual="/up/nested" -->)`)
	const want = "<head><p>(mid [backend /nested c])[backend /x c]</p><tail>"

	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 8; j++ {
				c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
				if err != nil {
					errs <- err.Error()
					return
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprintf(c, "GET /page/p.html HTTP/1.1\r\nHost: t\r\nX-Client: c\r\nConnection: close\r\n\r\n")
				if (i+j)%5 == 0 {
					c.Close() // a client that goes away mid-response
					continue
				}
				var b strings.Builder
				buf := make([]byte, 4096)
				var lastErr error
				for {
					n, err := c.Read(buf)
					b.Write(buf[:n])
					if err != nil {
						lastErr = err
						break
					}
				}
				c.Close()
				resp := b.String()
				end := strings.Index(resp, "\r\n\r\n")
				if end < 0 {
					// No head at all (it panicked on the slice once, under
					// two -race runs at once): say what came.
					errs <- fmt.Sprintf("no response head: %q (%v)", resp, lastErr)
					continue
				}
				body := resp[end+4:]
				if got := dechunk(body); got != want {
					errs <- fmt.Sprintf("body %q, want %q", got, want)
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// dechunk joins a chunked body's data.
func dechunk(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "\r\n")
		if i < 0 {
			return b.String()
		}
		var n int
		fmt.Sscanf(s[:i], "%x", &n)
		if n == 0 {
			return b.String()
		}
		s = s[i+2:]
		if n > len(s) {
			return b.String() + "<cut>"
		}
		b.WriteString(s[:n])
		s = s[n+2:]
	}
}
