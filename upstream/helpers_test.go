package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// parseConf is a tiny reader for test configs: words, "quoted" words,
// ';' and blocks. It is not nginx's lexer (nginxconf owns that).
func parseConf(t testing.TB, src string) []*nginxconf.Directive {
	t.Helper()
	toks := tokenize(src)
	pos := 0
	var block func() []*nginxconf.Directive
	block = func() []*nginxconf.Directive {
		out := []*nginxconf.Directive{}
		for pos < len(toks) {
			if toks[pos] == "}" {
				pos++
				return out
			}
			d := &nginxconf.Directive{Name: toks[pos], File: "/test.conf", Line: 1}
			pos++
			for pos < len(toks) && toks[pos] != ";" && toks[pos] != "{" {
				d.Args = append(d.Args, strings.Trim(toks[pos], `"`))
				pos++
			}
			if pos < len(toks) && toks[pos] == "{" {
				pos++
				d.Block = block()
			} else {
				pos++
			}
			out = append(out, d)
		}
		return out
	}
	return block()
}

func tokenize(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\n' || c == '\t':
			i++
		case c == ';' || c == '{' || c == '}':
			toks = append(toks, string(c))
			i++
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"') + i + 1
			toks = append(toks, s[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \n\t;{}", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

// backend is an in-process HTTP/1 server on 127.0.0.1:0 that records
// exactly the bytes of each request it receives (head and a
// Content-Length body) and answers with a fixed response.
type backend struct {
	ln       net.Listener
	mu       sync.Mutex
	got      []string
	response string
	close    bool // close after each response
	conns    int  // connections accepted
	open     int  // connections not yet closed
	wg       sync.WaitGroup
}

func newBackend(t testing.TB, response string) *backend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{ln: ln, response: response}
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(func() { ln.Close(); b.wg.Wait() })
	return b
}

func (b *backend) addr() string { return b.ln.Addr().String() }

func (b *backend) serve() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns++
		b.open++
		b.mu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer func() { c.Close(); b.mu.Lock(); b.open--; b.mu.Unlock() }()
			br := bufio.NewReader(c)
			for {
				var head bytes.Buffer
				length := 0
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					head.WriteString(line)
					if l := strings.ToLower(line); strings.HasPrefix(l, "content-length:") {
						length, _ = strconv.Atoi(strings.TrimSpace(l[15:]))
					}
					if line == "\r\n" {
						break
					}
				}
				body := make([]byte, length)
				io.ReadFull(br, body)
				head.Write(body)
				b.mu.Lock()
				b.got = append(b.got, head.String())
				resp, closeAfter := b.response, b.close
				b.mu.Unlock()
				if _, err := io.WriteString(c, resp); err != nil || closeAfter {
					return
				}
			}
		}()
	}
}

func (b *backend) connCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conns
}

func (b *backend) openConns() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

func (b *backend) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.got...)
}

// proxyServer runs http1.Conn + Proxy on 127.0.0.1:0 for one location
// config, the way the location package drives them: rewrite program
// first, then Serve; a status > 0 gets a bare error response.
type proxyServer struct {
	ln     net.Listener
	proxy  *Proxy
	prog   *rewrite.Program
	prefix string
	wg     sync.WaitGroup
	// served, when set, gets each Serve's status; kept, when set, the
	// State's Kept after it.
	served chan int
	kept   chan any
	// log, when set, is the requests' TryLog and gets a Serve's error;
	// a response cut by one then ends the connection, as location does.
	log rewrite.TryLogger
}

// logLines records error lines ("[level] message, upstream: name") as
// location's exchange logs them: each try's, then the returned error's.
type logLines struct {
	mu  sync.Mutex
	got []string
}

func (l *logLines) LogTryError(err error) {
	level := "error"
	var le interface{ LogLevel() string }
	if errors.As(err, &le) {
		level = le.LogLevel()
	}
	var un interface{ UpstreamName() string }
	name := ""
	if errors.As(err, &un) {
		name = un.UpstreamName()
	}
	l.mu.Lock()
	l.got = append(l.got, "["+level+"] "+err.Error()+", upstream: "+name)
	l.mu.Unlock()
	var then interface{ LogAfter() error }
	if errors.As(err, &then) {
		l.LogTryError(then.LogAfter())
	}
}

func (l *logLines) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

func newProxyServer(t testing.TB, http, location, prefix string) *proxyServer {
	t.Helper()
	c := rewrite.NewCompiler()
	httpBlock := parseConf(t, http)
	locBlock := parseConf(t, location)
	groups, err := CompileGroups(httpBlock)
	if err != nil {
		t.Fatal(err)
	}
	groups.CompileCachePaths(httpBlock, func(p string) string { return p })
	p, err := CompileProxy([][]*nginxconf.Directive{httpBlock, locBlock}, groups, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range locBlock {
		if d.Name == "fastcgi_pass" {
			if p, err = CompileFastCGIPass(d, [][]*nginxconf.Directive{httpBlock, locBlock}, groups, c); err != nil {
				t.Fatal(err)
			}
		}
		if d.Name == "grpc_pass" {
			if p, err = CompileGRPCPass(d, [][]*nginxconf.Directive{httpBlock, locBlock}, groups, c); err != nil {
				t.Fatal(err)
			}
		}
		if d.Name == "memcached_pass" {
			if p, err = CompileMemcachedPass(d, [][]*nginxconf.Directive{httpBlock, locBlock}, groups, c); err != nil {
				t.Fatal(err)
			}
		}
		if d.Name == "scgi_pass" || d.Name == "uwsgi_pass" {
			compile := CompileSCGIPass
			if d.Name == "uwsgi_pass" {
				compile = CompileUWSGIPass
			}
			if p, err = compile(d, [][]*nginxconf.Directive{httpBlock, locBlock}, groups, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	prog, err := c.Program(locBlock)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := &proxyServer{ln: ln, proxy: p, prog: prog, prefix: prefix}
	ps.wg.Add(1)
	go ps.serve()
	t.Cleanup(func() { ln.Close(); p.Tunnels.CloseAll(); ps.wg.Wait(); groups.CloseIdle() })
	return ps
}

func (ps *proxyServer) serve() {
	defer ps.wg.Done()
	for {
		nc, err := ps.ln.Accept()
		if err != nil {
			return
		}
		ps.wg.Add(1)
		go func() {
			defer ps.wg.Done()
			host, port, _ := net.SplitHostPort(nc.LocalAddr().String())
			c := http1.NewConn(nc, &http1.ConnInfo{Local: http1.AddrText(host), ServerPort: http1.PortNumber(port)})
			defer func() {
				if c.Hijacked() {
					c.Release()
				} else {
					c.Close()
				}
			}()
			var s rewrite.State
			c.Filter = stateTrailers{&s}
			for {
				r, err := c.ReadRequest()
				if err != nil {
					if e, ok := err.(*http1.Error); ok {
						c.WriteHeader(&http1.Response{Status: e.Status, ContentLength: 0, LastModified: -1, Close: true})
						c.Finish()
					}
					return
				}
				s.Reset(r)
				s.TryLog = ps.log
				ps.prog.Run(&s)
				status, serr := ps.proxy.Serve(c, &s, ps.prefix)
				if serr != nil && ps.log != nil && status != 499 { // location logs no 499
					ps.log.LogTryError(serr)
					if status == 0 {
						return
					}
				}
				if ps.served != nil {
					ps.served <- status
				}
				if ps.kept != nil {
					ps.kept <- s.Kept
				}
				if c.Hijacked() {
					return
				}
				if status == 0 && s.AccelRedirect {
					// What location would follow, for the X-Accel tests.
					body := fmt.Sprintf("redirect to %s charset=%s rate=%d", s.UpstreamHeader("x_accel_redirect"), s.AccelCharset, c.LimitRate())
					c.WriteHeader(&http1.Response{Status: 200, ContentLength: int64(len(body)), LastModified: -1})
					c.Write([]byte(body))
					c.Finish()
				}
				if status > 0 {
					c.WriteHeader(&http1.Response{Status: status, ContentType: []byte("text/html"), ContentLength: 0, LastModified: -1})
					c.Finish()
				}
				if !c.KeepAlive() {
					return
				}
			}
		}()
	}
}

// roundTrip sends raw on a new connection and reads until the server
// closes it or a full response with Content-Length/chunked end arrived.
func roundTrip(t testing.TB, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return roundTripOn(t, c, raw)
}

// roundTripOn is roundTrip on an open connection, which it leaves open.
func roundTripOn(t testing.TB, c net.Conn, raw string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 4096)
	for !responseComplete(out) {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	return string(out)
}

func responseComplete(b []byte) bool {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return false
	}
	head := strings.ToLower(string(b[:i]))
	body := b[i+4:]
	if m := regexp.MustCompile(`content-length: (\d+)`).FindStringSubmatch(head); m != nil {
		n, _ := strconv.Atoi(m[1])
		return len(body) >= n
	}
	if strings.Contains(head, "transfer-encoding: chunked") {
		return bytes.HasSuffix(body, []byte("0\r\n\r\n"))
	}
	return strings.HasPrefix(head, "http/1.1 101") || strings.HasPrefix(head, "head")
}

var dateRe = regexp.MustCompile(`Date: [^\r]*\r\n`)

func normalize(s string) string { return dateRe.ReplaceAllString(s, "Date: D\r\n") }

type nginxconfDirective = nginxconf.Directive

func newCompiler() *rewrite.Compiler { return rewrite.NewCompiler() }

// stateTrailers writes a backend's trailers (State.UpstreamTrailers) in
// the last chunk, as location's trailer filter does.
type stateTrailers struct{ s *rewrite.State }

func (stateTrailers) FilterHeader(*http1.Response) {}

func (f stateTrailers) AppendTrailers(dst []byte) []byte {
	for _, h := range f.s.UpstreamTrailers {
		dst = append(append(append(append(dst, h.Name...), ':', ' '), h.Value...), '\r', '\n')
	}
	return dst
}
