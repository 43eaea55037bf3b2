package difftest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// memcached, nginx vs gonginx: both servers ask one fake memcached of the
// test's own, which answers scripted lines by key (values, misses, bad
// keys, flags and lengths, split and wrong trailers, bytes after END,
// a close midway, a slow answer) and otherwise a value that names the
// key it was asked for, so comparing the responses compares what each
// server sent. TestServeMemcachedDaemon does the same against the real
// memcached daemon.

type memcachedFake struct {
	ln net.Listener
	wg sync.WaitGroup
	// missAll answers every get with END (a server without the key).
	missAll bool
}

func startMemcachedFake(t *testing.T, missAll bool) *memcachedFake {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &memcachedFake{ln: ln, missAll: missAll}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				s.serveConn(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *memcachedFake) addr() string { return s.ln.Addr().String() }

// serveConn answers "get KEY" lines until the connection closes or a
// script closes it.
func (s *memcachedFake) serveConn(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		key, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r\n"), "get ")
		if !ok {
			io.WriteString(c, "ERROR\r\n")
			continue
		}
		if s.missAll {
			io.WriteString(c, "END\r\n")
			continue
		}
		value := func(flags int, v string) string {
			return fmt.Sprintf("VALUE %s %d %d\r\n%s\r\nEND\r\n", key, flags, len(v), v)
		}
		name := key[strings.LastIndexByte(key, '/')+1:]
		switch name {
		case "miss":
			io.WriteString(c, "END\r\n")
		case "badkey":
			io.WriteString(c, "VALUE other 0 2\r\nab\r\nEND\r\n")
		case "badlen":
			io.WriteString(c, "VALUE "+key+" 0 x2\r\nab\r\nEND\r\n")
		case "badflags":
			io.WriteString(c, "VALUE "+key+" 1x 2\r\nab\r\nEND\r\n")
		case "noflags":
			io.WriteString(c, "VALUE "+key+"\r\n")
		case "garbage":
			io.WriteString(c, "SERVER_ERROR out of memory\r\n")
		case "lf":
			io.WriteString(c, "END\n")
		case "gzipped":
			io.WriteString(c, value(3, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcbH\xcd\xc9\xc9\x07\x00\x86\xa6\x106\x05\x00\x00\x00"))
		case "plainflag":
			io.WriteString(c, value(4, "plain"))
		case "trailer":
			io.WriteString(c, "VALUE "+key+" 0 5\r\nhello\r\nEXD\r\n")
		case "extra":
			io.WriteString(c, value(0, "hello")+"junk")
			return
		case "split":
			for _, p := range []string{"VALUE " + key + " 0 8\r\nSEE-TH", "IS", "\r\nEN", "D\r\n"} {
				io.WriteString(c, p)
				time.Sleep(20 * time.Millisecond)
			}
		case "cutlater":
			// The close comes after nginx waits for more.
			io.WriteString(c, "VALUE "+key+" 0 10\r\nhello")
			time.Sleep(100 * time.Millisecond)
			return
		case "slow":
			time.Sleep(500 * time.Millisecond)
			io.WriteString(c, value(0, "late"))
		case "big":
			io.WriteString(c, value(0, strings.Repeat("0123456789abcdef", 8000)))
		case "longflags":
			// A 40000-byte first line: its flags (not read without
			// memcached_gzip_flag).
			io.WriteString(c, "VALUE "+key+" "+strings.Repeat("9", 40000)+" 5\r\nhello\r\nEND\r\n")
		case "longerror":
			io.WriteString(c, "SERVER_ERROR "+strings.Repeat("x", 40000)+"\r\n")
		default:
			io.WriteString(c, value(0, "key="+key+"\n"))
		}
	}
}

func TestServeMemcached(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	mc := startMemcachedFake(t, false)
	miss := startMemcachedFake(t, true)
	addr := mc.addr()
	c := harness.Case{Name: "memcached", ErrorMessages: true, AccessLogFiles: []string{"mc.log"},
		Content: map[string]string{"html/files/static.txt": "static file\n"},
		Config: `log_format mc "$request_method $uri $status ct=$sent_http_content_type us=$upstream_status url=$upstream_response_length ubs=$upstream_bytes_sent ubr=$upstream_bytes_received ua=$upstream_addr";
upstream two {
    server ` + miss.addr() + `;
    server ` + addr + `;
}
upstream refused {
    server 127.0.0.1:1;
    server ` + addr + `;
}
upstream kept {
    server ` + addr + `;
    keepalive 2;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log mc.log mc;
    location / { return 404; }
    location /files/ { }
    location /mc/ {
        set $memcached_key "$uri$arg_k";
        memcached_pass ` + addr + `;
    }
    location /gz/ {
        set $memcached_key $uri;
        memcached_gzip_flag 2;
        memcached_pass ` + addr + `;
    }
    location /ep/ {
        set $memcached_key $uri;
        memcached_pass ` + addr + `;
        error_page 404 = /files/static.txt;
    }
    location /next/ {
        set $memcached_key $uri;
        memcached_next_upstream not_found;
        memcached_pass two;
    }
    location /nonext/ {
        set $memcached_key $uri;
        memcached_pass two;
    }
    location /refused/ {
        set $memcached_key $uri;
        memcached_pass refused;
    }
    location /kept/ {
        set $memcached_key $uri;
        memcached_pass kept;
    }
    location /slow/ {
        set $memcached_key $uri;
        memcached_read_timeout 100ms;
        memcached_pass ` + addr + `;
    }
    location /small/ {
        set $memcached_key $uri;
        memcached_buffer_size 16;
        memcached_pass ` + addr + `;
    }
    location /large/ {
        set $memcached_key $uri;
        memcached_buffer_size 64k;
        memcached_pass ` + addr + `;
    }
    location /nokey/ {
        memcached_pass ` + addr + `;
    }
    location /down/ {
        set $memcached_key $uri;
        memcached_pass 127.0.0.1:1;
    }
}
`}
	get := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	c.Requests = []harness.Request{
		get("a value", "/mc/value.html"),
		get("a value without an extension", "/mc/value"),
		get("a key escaped", "/mc/esc?k=a%20b%25c"),
		serveRaw("HEAD", "HEAD /mc/value.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("HTTP/1.0", "GET /mc/value.txt HTTP/1.0\r\n\r\n"),
		serveRaw("POST is not allowed", "POST /mc/value HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"),
		serveRaw("a body is not sent", "GET /mc/value HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"),
		get("a miss", "/mc/miss"),
		get("a miss with error_page", "/ep/miss"),
		get("an invalid key", "/mc/badkey"),
		get("an invalid length", "/mc/badlen"),
		get("flags not read without memcached_gzip_flag", "/mc/badflags"),
		get("invalid flags", "/gz/badflags"),
		get("no flags", "/mc/noflags"),
		get("an error line", "/mc/garbage"),
		get("a line without CR", "/mc/lf"),
		get("a gzip flag", "/gz/gzipped"),
		serveRaw("a gzip flag, gunzip not asked", "GET /gz/gzipped HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"),
		get("another flag", "/gz/plainflag"),
		get("an invalid trailer", "/mc/trailer"),
		get("bytes after END", "/mc/extra"),
		get("a split trailer", "/mc/split"),
		get("a value cut", "/mc/cutlater"),
		get("a big value", "/mc/big"),
		get("not_found goes to the next server", "/next/value"),
		get("a miss without not_found", "/nonext/value"),
		get("a refused server, then the next", "/refused/value"),
		pipelined("keepalive: a value, a miss, a value", "GET /kept/value HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"GET /kept/miss HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET /kept/value HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		get("memcached_read_timeout", "/slow/slow"),
		get("memcached_buffer_size too small", "/small/longer-than-sixteen"),
		get("a first line past memcached_buffer_size", "/mc/longflags"),
		get("memcached_buffer_size past 32k", "/large/longflags"),
		get("memcached_buffer_size past 32k, an error line", "/large/longerror"),
		get("$memcached_key not set", "/nokey/value"),
		get("backend down", "/down/value"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// pipelined sends requests on one connection and reads every response.
func pipelined(name string, reqs ...string) harness.Request {
	return harness.Request{Name: name, Send: []string{strings.Join(reqs, "")}, Responses: len(reqs)}
}

const memcachedBin = "/usr/bin/memcached"

// startMemcached runs the memcached daemon on a free loopback port until
// the test ends (stopped by its pid) and stores the given values.
func startMemcached(t *testing.T, values map[string]string) string {
	t.Helper()
	if _, err := os.Stat(memcachedBin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("memcached is required in CI (.ci/run installs it): %v", err)
		}
		t.Skipf("!!! SKIPPING: memcached not found at %s (apt-get install -y memcached); the memcached daemon tests did NOT run !!!", memcachedBin)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	ln.Close()
	args := []string{"-l", "127.0.0.1", "-p", port, "-U", "0", "-t", "1", "-m", "16"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	cmd := exec.Command(memcachedBin, args...)
	if err := harness.StartGuarded(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	var conn net.Conn
	for i := 0; ; i++ {
		if conn, err = net.Dial("tcp", addr); err == nil {
			break
		}
		if i == 100 {
			t.Fatalf("memcached does not listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for k, v := range values {
		flags := 0
		if strings.HasSuffix(k, ".gz") {
			flags = 1
		}
		fmt.Fprintf(conn, "set %s %d 0 %d\r\n%s\r\n", k, flags, len(v), v)
		if line, err := br.ReadString('\n'); err != nil || line != "STORED\r\n" {
			t.Fatalf("set %s: %q %v", k, line, err)
		}
	}
	return addr
}

func TestServeMemcachedDaemon(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	addr := startMemcached(t, map[string]string{
		"/a.html": "<p>hello</p>\n",
		"/big":    strings.Repeat("x", 300000),
		"/z.gz":   "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcbH\xcd\xc9\xc9\x07\x00\x86\xa6\x106\x05\x00\x00\x00",
		"/sp%20c": "escaped key",
	})
	c := harness.Case{Name: "memcached-daemon", ErrorMessages: true, AccessLogFiles: []string{"mc.log"},
		Config: `log_format mc "$request_method $uri $status us=$upstream_status url=$upstream_response_length ubs=$upstream_bytes_sent";
upstream memd {
    server ` + addr + `;
    keepalive 1;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log mc.log mc;
    location / {
        set $memcached_key $uri;
        memcached_gzip_flag 1;
        memcached_pass memd;
    }
}
`}
	c.Requests = []harness.Request{
		pipelined("values on one connection", "GET /a.html HTTP/1.1\r\nHost: localhost\r\n\r\n",
			"GET /nothing HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET /a.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("a big value", "GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("HEAD of a big value", "HEAD /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("a gzip flag", "GET /z.gz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("an escaped key", "GET /sp%20c HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
