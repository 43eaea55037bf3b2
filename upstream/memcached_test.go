package upstream

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mcBackend answers each "get" line with response and records the lines.
type mcBackend struct {
	ln       net.Listener
	mu       sync.Mutex
	lines    []string
	conns    int
	response string
}

func newMCBackend(t *testing.T, response string) *mcBackend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &mcBackend{ln: ln, response: response}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns++
			b.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					b.mu.Lock()
					b.lines = append(b.lines, line)
					b.mu.Unlock()
					if _, err := io.WriteString(c, b.response); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return b
}

func TestMemcached(t *testing.T) {
	for _, tc := range []struct {
		name, conf, response, request string
		want, wantLine                string
	}{{
		name:     "a value",
		response: "VALUE /m/a 0 5\r\nhello\r\nEND\r\n",
		request:  "GET /m/a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want:     "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
		wantLine: "get /m/a\r\n",
	}, {
		name:     "a key escaped",
		conf:     `set $memcached_key "$uri $arg_a";`,
		response: "VALUE /m/a%20b%25c 0 1\r\nx\r\nEND\r\n",
		request:  "GET /m/a?a=b%c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want:     "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
		wantLine: "get /m/a%20b%25c\r\n",
	}, {
		name:     "a gzip flag",
		conf:     `memcached_gzip_flag 6;`,
		response: "VALUE /m/a 4 2\r\nzz\r\nEND\r\n",
		request:  "GET /m/a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want:     "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Length: 2\r\nConnection: close\r\nContent-Encoding: gzip\r\n\r\nzz",
		wantLine: "get /m/a\r\n",
	}, {
		name:     "a miss is a 404",
		response: "END\r\n",
		request:  "GET /m/a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want:     "404",
		wantLine: "get /m/a\r\n",
	}, {
		name:     "another key is a 502",
		response: "VALUE /m/b 0 1\r\nx\r\nEND\r\n",
		request:  "GET /m/a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want:     "502",
		wantLine: "get /m/a\r\n",
	}, {
		name:     "POST is a 405",
		response: "END\r\n",
		request:  "POST /m/a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		want:     "405",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			be := newMCBackend(t, tc.response)
			conf := tc.conf
			if !strings.Contains(conf, "memcached_key") {
				conf += ` set $memcached_key $uri;`
			}
			ps := newProxyServer(t, "", conf+` memcached_pass `+be.ln.Addr().String()+`;`, "/")
			ps.served = make(chan int, 1)
			got := normalize(roundTrip(t, ps.ln.Addr().String(), tc.request))
			status := <-ps.served
			if len(tc.want) == 3 {
				got = strconv.Itoa(status)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			var want []string
			if tc.wantLine != "" {
				want = []string{tc.wantLine}
			}
			be.mu.Lock()
			defer be.mu.Unlock()
			if diff := cmp.Diff(want, be.lines); diff != "" {
				t.Errorf("backend got (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzMemcachedLine feeds a backend's first bytes through the line
// parser: no panic, and a head within the bytes read.
func FuzzMemcachedLine(f *testing.F) {
	f.Add([]byte("VALUE /k 5 3\r\nabc\r\nEND\r\n"))
	f.Add([]byte("END\r\n"))
	f.Add([]byte("VALUE /k\r\n"))
	f.Add([]byte("VALUE /k 1 \r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		lf := strings.IndexByte(string(in), '\n')
		if lf < 0 {
			return
		}
		for _, flag := range []uint64{0, 2} {
			m := &memcached{gzipFlag: flag}
			x := &exchange{req: []byte("get /k\r\n"), rbuf: append([]byte(nil), in...)}
			h := m.parseLine(&Proxy{}, x, nil, len(in), lf)
			if h.headLen < 0 || h.headLen > len(in) || h.status == 0 && x.head.Status == 0 {
				t.Fatalf("head %+v, status %d", h, x.head.Status)
			}
		}
	})
}
