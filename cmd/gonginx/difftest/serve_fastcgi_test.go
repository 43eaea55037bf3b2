package difftest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// FastCGI, nginx vs gonginx: both servers talk to one FastCGI backend of
// the test's own, which answers each request with what it received (the
// begin record's flags, every param in order, the body), so comparing
// the responses compares what each server sent; other paths answer with
// scripted records (Status, Location, stderr, split heads, padding,
// Content-Length cuts, X-Accel-Redirect, errors).

// fcgiServer is the test backend: one goroutine per connection, which
// serves requests on it until it closes (fastcgi_keep_conn).
type fcgiServer struct {
	ln net.Listener
	wg sync.WaitGroup
	// fixed, when set, answers every request (a failing server).
	fixed []byte
}

func startFCGIServer(t *testing.T) *fcgiServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fcgiServer{ln: ln}
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
				s.serveConn(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *fcgiServer) addr() string { return s.ln.Addr().String() }

type fcgiReq struct {
	flags  byte
	params [][2]string
	stdin  []byte
}

func (r *fcgiReq) param(name string) string {
	for _, p := range r.params {
		if p[0] == name {
			return p[1]
		}
	}
	return ""
}

var varyingValue = regexp.MustCompile(`difftest-\d+`)

func (s *fcgiServer) serveConn(c net.Conn) {
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := readFCGIRequest(br)
		if err != nil {
			return
		}
		if !s.respond(c, req, n) || req.flags&1 == 0 {
			return
		}
	}
}

func readFCGIRequest(br *bufio.Reader) (*fcgiReq, error) {
	req := &fcgiReq{}
	var params []byte
	for {
		var h [8]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return nil, err
		}
		n, pad := int(h[4])<<8|int(h[5]), int(h[6])
		data := make([]byte, n+pad)
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, err
		}
		data = data[:n]
		switch h[1] {
		case 1:
			req.flags = data[2]
		case 4:
			params = append(params, data...)
		case 5:
			if n == 0 {
				req.params = decodeParams(params)
				return req, nil
			}
			req.stdin = append(req.stdin, data...)
		}
	}
}

func decodeParams(b []byte) [][2]string {
	var out [][2]string
	readLen := func() int {
		if len(b) == 0 {
			return 0
		}
		if b[0] < 0x80 {
			n := int(b[0])
			b = b[1:]
			return n
		}
		if len(b) < 4 {
			b = nil
			return 0
		}
		n := int(b[0]&0x7f)<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		b = b[4:]
		return n
	}
	for len(b) > 0 {
		kl, vl := readLen(), readLen()
		if kl+vl > len(b) {
			break
		}
		out = append(out, [2]string{string(b[:kl]), string(b[kl : kl+vl])})
		b = b[kl+vl:]
	}
	return out
}

// record frames data as one record of request 1 with padding pad.
func record(typ byte, data string, pad int) []byte {
	b := []byte{1, typ, 0, 1, byte(len(data) >> 8), byte(len(data)), byte(pad), 0}
	b = append(b, data...)
	return append(b, make([]byte, pad)...)
}

func stdout(data string) []byte    { return record(6, data, (8-len(data)%8)%8) }
func stderrRec(data string) []byte { return record(7, data, 0) }

var endRequest = record(3, "\x00\x00\x00\x00\x00\x00\x00\x00", 0)

// respond answers by the script the request's DOCUMENT_URI names.
func (s *fcgiServer) respond(c net.Conn, req *fcgiReq, n int) bool {
	if s.fixed != nil {
		_, err := c.Write(s.fixed)
		return err == nil
	}
	var out []byte
	w := func(b ...[]byte) {
		for _, x := range b {
			out = append(out, x...)
		}
	}
	uri := req.param("DOCUMENT_URI")
	if uri == "" {
		uri = req.param("SCRIPT_NAME")
	}
	script := uri[strings.LastIndexByte(uri, '/')+1:]
	switch {
	case strings.HasPrefix(script, "status"):
		w(stdout("Status: 404 Not Found\r\nX-A: b\r\nContent-Type: text/plain\r\n\r\nnope\n"), stdout(""), endRequest)
	case script == "location":
		w(stdout("Location: /elsewhere?x=1\r\n\r\n"), stdout(""), endRequest)
	case script == "locabs":
		w(stdout("Location: http://example.com/x\r\nStatus: 301\r\n\r\nmoved"), stdout(""), endRequest)
	case script == "stderr":
		w(stderrRec("PHP Warning:  thing in /x.php on line 3\n"), stdout("Content-Type: text/html\r\n\r\n<p>"),
			stderrRec("late notice ...  \n"), stdout("done</p>"), stdout(""), endRequest)
	case script == "split":
		w(record(6, "X-Spl", 3), record(6, "it: yes\r\nContent-Ty", 0), record(6, "pe: text/plain\r", 7),
			record(6, "\n\r\nbo", 0), record(6, "dy", 200), stdout(""), endRequest)
	case script == "big":
		chunk := strings.Repeat("0123456789abcdef", 4000)
		w(stdout("Content-Type: application/octet-stream\r\n\r\n"))
		for i := 0; i < 3; i++ {
			w(stdout(chunk))
		}
		w(stdout(""), endRequest)
	case script == "cl":
		w(stdout("Content-Length: 3\r\n\r\nabcdef"), stdout(""), endRequest)
	case script == "short":
		w(stdout("Content-Type: text/plain\r\nContent-Length: 100\r\n\r\nshorter than its length\n"), stdout(""), endRequest)
	case script == "badlength":
		w(stdout("Content-Length: 2\r\nContent-Length: x\r\n\r\nabc"), stdout(""), endRequest)
	case script == "badstatus":
		w(stdout("Status: abc\r\n\r\n"), stdout(""), endRequest)
	case script == "servers":
		w(stdout("Server: php-fpm\r\nDate: fake\r\nX-Powered-By: PHP\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nStatus: 200\r\n\r\nplain"), stdout(""), endRequest)
	case script == "xaccel":
		w(stdout("X-Accel-Redirect: /files/static.txt\r\nSet-Cookie: a=1\r\n\r\nignored"), stdout(""), endRequest)
	case script == "empty":
		w(stdout("\r\n"), stdout(""), endRequest)
	case script == "nocrlf":
		w(stdout("Content-Type: text/plain\n\nlf only"), stdout(""), endRequest)
	case script == "eof":
		w(stdout("Content-Type: text/plain\r\n\r\nthen close"))
	case script == "lateclose":
		// The whole response, then the close 300 ms later (php-fpm
		// preempted between its write and its close).
		c.Write(append(stdout("Content-Type: text/plain\r\n\r\nlate close"), append(stdout(""), endRequest...)...))
		time.Sleep(300 * time.Millisecond)
		return false
	case script == "slow":
		time.Sleep(300 * time.Millisecond)
		w(stdout("\r\nslow"), stdout(""), endRequest)
	case script == "stall":
		// Part of the body, then nothing until the server closes the
		// connection (a client gone: TestServeClientGoneWhileAwaitingBody).
		c.Write(stdout("Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n0123456789"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c)
		return false
	case script == "bigstall":
		// A head, 40000 bytes of body in 10000-byte records, then
		// nothing until the server closes the connection.
		out := stdout("Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n")
		for range 4 {
			out = append(out, stdout(strings.Repeat("b", 10000))...)
		}
		c.Write(out)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c)
		return false
	case strings.HasPrefix(script, "keepsplit"):
		// A head record, then a 20-byte stdout record in pieces 300 ms
		// apart, then nothing until the server closes the connection:
		// where nginx's keep_conn pipe passes a record's data on.
		rec := stdout("0123456789abcdefghij") // 4 bytes of padding
		head := stdout("Content-Type: text/plain\r\n\r\n")
		var pieces [][]byte
		switch script {
		case "keepsplit1": // the record's data split
			pieces = [][]byte{head, rec[:8+10], rec[18:23]}
		case "keepsplit2": // the data whole, its padding not yet
			pieces = [][]byte{head, rec[:8+10], rec[18:28]}
		case "keepsplit3": // the first part with the head
			pieces = [][]byte{append(head, rec[:8+10]...), rec[18:23]}
		case "keepsplit4": // a record's header alone, then part of its data
			pieces = [][]byte{head, rec[:8], rec[8:13]}
		}
		for i, piece := range pieces {
			if i > 0 {
				time.Sleep(300 * time.Millisecond)
			}
			if _, err := c.Write(piece); err != nil {
				return false
			}
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c)
		return false
	case strings.HasPrefix(script, "hone"), strings.HasPrefix(script, "hrec"):
		// A head with an X-Big header of N bytes, in one record (hone)
		// or in records of 100 bytes of data each (hrec).
		n, _ := strconv.Atoi(script[4:])
		head := "X-Big: " + strings.Repeat("b", n) + "\r\n\r\nbody"
		size := len(head)
		if script[1] == 'r' {
			size = 100
		}
		for len(head) > 0 {
			k := min(size, len(head))
			w(stdout(head[:k]))
			head = head[k:]
		}
		w(stdout(""), endRequest)
	case strings.HasPrefix(script, "errthen"):
		// A stderr record of N bytes, then 200 ms later a head with a
		// 600-byte header.
		n, _ := strconv.Atoi(script[7:])
		c.Write(stderrRec(strings.Repeat("e", n-1) + "\n"))
		time.Sleep(200 * time.Millisecond)
		w(stdout("X-Big: "+strings.Repeat("b", 600)+"\r\n\r\nbody"), stdout(""), endRequest)
	case script == "e500":
		w(stdout("Status: 500 Oops\r\n\r\nfailed"), stdout(""), endRequest)
	default:
		var b strings.Builder
		fmt.Fprintf(&b, "flags=%d conn-request=%d\n", req.flags, n)
		for _, p := range req.params {
			v := p[1]
			if p[0] == "REMOTE_PORT" {
				v = "RP"
			}
			fmt.Fprintf(&b, "%s=%s\n", p[0], varyingValue.ReplaceAllString(v, "difftest-X"))
		}
		fmt.Fprintf(&b, "stdin(%d)=%s\n", len(req.stdin), req.stdin)
		w(stdout("Content-Type: text/plain\r\nX-Script: "+script+"\r\n\r\n"+b.String()), stdout(""), endRequest)
	}
	_, err := c.Write(out)
	return err == nil
}

func TestServeFastCGI(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	be := startFCGIServer(t)
	params, err := os.ReadFile("/etc/nginx/fastcgi_params")
	if err != nil {
		t.Fatal(err)
	}
	fcgiConf, err := os.ReadFile("/etc/nginx/fastcgi.conf")
	if err != nil {
		t.Fatal(err)
	}
	snippet, err := os.ReadFile("/etc/nginx/snippets/fastcgi-php.conf")
	if err != nil {
		t.Fatal(err)
	}
	addr := be.addr()
	c := harness.Case{Name: "fastcgi", ErrorMessages: true, AccessLogFiles: []string{"fcgi.log"},
		Content: map[string]string{
			"fastcgi_params": string(params), "fastcgi.conf": string(fcgiConf),
			"snippets/fastcgi-php.conf": string(snippet),
			"html/index.php":            "<?php", "html/app.php": "<?php", "html/dir/index.php": "<?php",
			"html/files/static.txt": "static file\n",
		},
		Config: `log_format fcgi "$request_method $uri $status us=$upstream_status url=$upstream_response_length ubr=$upstream_bytes_received cl=$content_length";
upstream fpm {
    server ` + addr + `;
    keepalive 2;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log fcgi.log fcgi;
    fastcgi_param SERVER_LEVEL yes;
    location / { return 404; }
    location /files/ { }
    location /plain/ {
        fastcgi_pass ` + addr + `;
        include fastcgi_params;
        fastcgi_param EMPTY_SKIPPED $arg_none if_not_empty;
        fastcgi_param EMPTY_KEPT $arg_none;
        fastcgi_param HTTP_X_REPLACED from-param;
        fastcgi_param HTTP_X_DROPPED "";
    }
    location /inherit/ {
        fastcgi_pass ` + addr + `;
    }
    location /noheaders/ {
        fastcgi_pass ` + addr + `;
        include fastcgi.conf;
        fastcgi_pass_request_headers off;
        fastcgi_pass_request_body off;
    }
    location ~ ^/split(/.*)?$ {
        fastcgi_pass ` + addr + `;
        fastcgi_split_path_info ^(/split/.+?\.php)(/.*)$;
        fastcgi_index index.php;
        fastcgi_param SCRIPT_NAME $fastcgi_script_name;
        fastcgi_param PATH_INFO $fastcgi_path_info;
        fastcgi_param DOCUMENT_URI $document_uri;
    }
    location ~ [^/]\.php(/|$) {
        include snippets/fastcgi-php.conf;
        fastcgi_pass fpm;
    }
    location /scripts/ {
        fastcgi_pass fpm;
        fastcgi_keep_conn on;
        include fastcgi_params;
    }
    location /icpt/ {
        fastcgi_pass ` + addr + `;
        include fastcgi_params;
        fastcgi_intercept_errors on;
        error_page 404 = /files/static.txt;
    }
    location /hide/ {
        fastcgi_pass ` + addr + `;
        include fastcgi_params;
        fastcgi_hide_header X-Powered-By;
        fastcgi_pass_header Status;
    }
    location /unbuf/ {
        fastcgi_pass ` + addr + `;
        include fastcgi_params;
        fastcgi_buffering off;
        fastcgi_request_buffering off;
    }
    location /var/ {
        set $be ` + addr + `;
        fastcgi_pass $be;
        include fastcgi_params;
    }
    location /down/ {
        fastcgi_pass 127.0.0.1:1;
        include fastcgi_params;
    }
    location /toobig/ {
        fastcgi_pass ` + addr + `;
        ` + strings.Repeat("fastcgi_param BIG "+strings.Repeat("x", 4000)+";\n", 17) + `
    }
    location /catch/ {
        fastcgi_pass ` + addr + `;
        include fastcgi_params;
        fastcgi_catch_stderr "PHP Warning";
    }
}
`}
	get := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	post := "POST /plain/echo?q=1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\nX-Replaced: client\r\nX-Dropped: client\r\nX-Kept_Under: u\r\nConnection: close\r\n\r\nhello=world"
	lateTwo := serveRaw("two responses on one client connection, each backend's close 300 ms late",
		"GET /plain/lateclose HTTP/1.1\r\nHost: localhost\r\n\r\nGET /plain/lateclose?2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	lateTwo.Responses = 2
	c.Requests = []harness.Request{
		serveRaw("POST with fastcgi_params, HTTP_* params and if_not_empty", post),
		serveRaw("chunked body", "POST /plain/echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
		serveRaw("HEAD", "HEAD /plain/echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("HTTP/1.0", "GET /plain/echo HTTP/1.0\r\n\r\n"),
		get("a server-level param inherited", "/inherit/echo"),
		get("fastcgi.conf, no headers, no body", "/noheaders/echo?a=b"),
		get("split path info", "/split/app.php/path/info?x=1"),
		get("split, no match", "/split/other"),
		get("index on a directory URI", "/split/dir/"),
		get("Debian's fastcgi-php snippet", "/app.php/extra/path?z=9"),
		get("snippet: try_files 404", "/missing.php"),
		get("snippet: index.php", "/index.php"),
		get("Status", "/plain/status"),
		get("Location alone", "/plain/location"),
		get("absolute Location with Status", "/plain/locabs"),
		get("stderr before and after the head", "/plain/stderr"),
		get("a head split across records", "/plain/split"),
		get("a big body", "/plain/big"),
		get("Content-Length cuts", "/plain/cl"),
		get("invalid Status", "/plain/badstatus"),
		get("shorter than its Content-Length: what came, then a close", "/plain/short"),
		get("unbuffered, shorter than its Content-Length", "/unbuf/short"),
		get("an invalid Content-Length after a valid one", "/plain/badlength"),
		get("Server, Date, Connection, Transfer-Encoding from the backend", "/plain/servers"),
		get("X-Accel-Redirect", "/plain/xaccel"),
		get("an empty head", "/plain/empty"),
		get("LF-only head", "/plain/nocrlf"),
		get("no END_REQUEST: the connection's end", "/plain/eof"),
		get("intercepted 404", "/icpt/status"),
		get("not intercepted 500", "/icpt/e500"),
		get("hide and pass headers", "/hide/servers"),
		get("unbuffered", "/unbuf/stderr"),
		serveRaw("unbuffered request body", "POST /unbuf/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"),
		get("fastcgi_pass with a variable", "/var/echo"),
		get("backend down", "/down/echo"),
		get("catch_stderr", "/catch/stderr"),
		get("params over one record", "/toobig/echo"),
		get("the response's end, its close 300 ms later", "/plain/lateclose"),
		lateTwo,
		serveRaw("keep_conn: two requests on one client connection",
			"GET /scripts/echo HTTP/1.1\r\nHost: localhost\r\n\r\nGET /scripts/echo2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
	}
	c.Requests[len(c.Requests)-1].Responses = 2
	harness.Compare(t, c, want, got, serveAssets(t))
}

// fastcgi_next_upstream, timeouts and the $upstream_* variables: groups of
// a refusing address, a server answering 500 and a good one.
func TestServeFastCGINextUpstream(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	good := startFCGIServer(t)
	bad := startFCGIServer(t)
	bad.fixed = append(stdout("Status: 500 Bad\r\n\r\nfrom bad"), append(stdout(""), endRequest...)...)
	c := harness.Case{Name: "fastcgi_next_upstream", ErrorMessages: true, AccessLogFiles: []string{"up.log"},
		Config: `log_format up "$uri $status ua=$upstream_addr us=$upstream_status";
upstream refused { server 127.0.0.1:1; server ` + good.addr() + `; }
upstream e500 { server ` + bad.addr() + `; server ` + good.addr() + `; }
upstream e500b { server ` + bad.addr() + `; server ` + good.addr() + `; }
upstream e500c { server ` + bad.addr() + `; server ` + good.addr() + `; }
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log up.log up;
    fastcgi_param DOCUMENT_URI $document_uri;
    location /refused/ { fastcgi_pass refused; }
    location /e500/ { fastcgi_pass e500; fastcgi_next_upstream error http_500; }
    location /e500off/ { fastcgi_pass e500b; fastcgi_next_upstream off; }
    location /e500tries/ { fastcgi_pass e500c; fastcgi_next_upstream http_500; fastcgi_next_upstream_tries 1; }
    location /timeout/ { fastcgi_pass ` + good.addr() + `; fastcgi_read_timeout 100ms; }
    location /ok/ { fastcgi_pass ` + good.addr() + `; fastcgi_read_timeout 1s; }
}
`}
	get := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	c.Requests = []harness.Request{
		get("refused, then the next server", "/refused/echo"),
		get("http_500, then the next server", "/e500/echo"),
		get("off: the 500 is the answer", "/e500off/echo"),
		get("tries 1", "/e500tries/echo"),
		get("read timeout", "/timeout/slow"),
		get("within the read timeout", "/ok/slow"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
