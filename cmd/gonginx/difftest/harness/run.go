package harness

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Case is one config and the requests sent to it.
type Case struct {
	Name string
	// Config is a conf.d fragment. With Verbatim it is used as is except that the port 9000 becomes
	// a free port on loopback ("listen 9000" → 127.0.0.1, "listen [::]:9000" → [::1]) and every
	// "32000" the backend port (the article configs); otherwise the
	// placeholders {{PORT}}, {{BACKEND}} (host:port), {{BACKEND_PORT}}, {{CERT}}, {{KEY}} are filled.
	Config   string
	Verbatim bool
	Files    []string          // copied from the assets dir into the prefix, same relative path
	Content  map[string]string // written into the prefix: relative path → content
	TLS      bool              // requests use TLS unless Request.Plain
	SNI      string            // TLS server name for requests
	// BackendDown points the config at a port where nothing listens.
	BackendDown bool
	// BackendTLS makes the recording backend speak TLS with this config; what it saw of
	// each handshake is compared too.
	BackendTLS *tls.Config
	// Setup runs on the prefix dir after the files are written (symlinks,
	// ownership, modes).
	Setup func(dir string) error
	// ErrorLog compares the request lines of the error log too (level and
	// message, with the prefix dir, ports and connection numbers hidden).
	ErrorLog bool
	// LogFiles (relative to the prefix) are read after the server stops and
	// their request lines compared as ErrorLog's are.
	LogFiles []string
	// ErrorMessages is ErrorLog comparing only each line's message, up to
	// ", client:" (gonginx does not log ", upstream: ..." yet).
	ErrorMessages bool
	// ErrorMask rewrites each compared error line of both servers (a
	// line nginx words one of two ways by which event it handles first).
	ErrorMask func(string) string
	// AccessLogFiles (relative to the prefix) are read after the server
	// stops and compared line by line (ports and the prefix dir hidden):
	// give them a log_format without times.
	AccessLogFiles []string
	// Trees (directories relative to the prefix) are listed after the
	// requests, each file with its type, mode and content, and compared.
	Trees []string
	// Mask, when set, rewrites each access log line after ports and the
	// prefix are hidden: the values two runs legitimately differ in (times,
	// connection numbers, ports of the client) become their shape. token is
	// the server's Server header ("nginx/1.22.1"), which counts in
	// $bytes_sent and in the length of its error pages.
	Mask func(line, token string) string
	// Clock shows the times "expires" computes from the moment of the
	// request relative to the response's Date (see Clock).
	Clock    Clock
	Requests []Request
}

// Run is one implementation's results for a case, plus its log output.
type Run struct {
	Results []Result
	Log     string
	Errors  []string // request lines of the error log, normalized (Case.ErrorLog)
	// Files holds the request lines of each of Case.LogFiles ("file: line").
	Files []string
	// Access holds the lines of each of Case.AccessLogFiles ("file: line").
	Access []string
	// Tree lists Case.Trees (see listTree).
	Tree []string
	// lagged: a log step waited its longest (logStep), the two runs' logs
	// did not come to the same count there.
	lagged bool
}

// Server is one implementation running a case's config on a free port.
type Server struct {
	Port        int
	BackendPort int
	Pid         int
	dir         string
	p           *process
}

// Output is what the server has written to stdout and stderr so far (its error log, and access
// logs a case sends to /dev/stderr).
func (s *Server) Output() string { return s.p.out.String() }

// Stop stops the server by pid and removes its prefix dir; it returns the server's log output.
func (s *Server) Stop() string {
	log, _ := s.StopReading(nil)
	return log
}

// StopReading is Stop that first reads files of the prefix (relative
// names; a missing file reads as empty; a gzip one, access_log's gzip,
// as what it inflates to: the two servers cut members differently).
func (s *Server) StopReading(files []string) (string, map[string]string) {
	s.p.stop()
	got := map[string]string{}
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(s.dir, f))
		if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
				if plain, err := io.ReadAll(zr); err == nil {
					b = plain
				}
			}
		}
		got[f] = string(b)
	}
	os.RemoveAll(s.dir)
	return s.p.out.String(), got
}

// Start prepares a prefix dir for c (config filled with a free port and backendPort, files
// copied) and runs im on it until it listens.
//
// The port was free a moment ago: a test running at once may have taken
// it since, and the server then fails to bind it. That start is tried
// again on another port (at most 3 in all).
func Start(c Case, im Impl, assets string, backendPort int) (*Server, error) {
	for try := 1; ; try++ {
		s, err := startOnce(c, im, assets, backendPort)
		if err == nil || try == 3 || !strings.Contains(err.Error(), "Address already in use") {
			return s, err
		}
	}
}

func startOnce(c Case, im Impl, assets string, backendPort int) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	setup := c
	if im.Override != nil {
		setup = *im.Override
	}
	dir, err := prepare(setup, assets, fill(setup, port, backendPort))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p, err := im.start(dir, port)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &Server{Port: port, BackendPort: backendPort, Pid: p.cmd.Process.Pid, dir: dir, p: p}, nil
}

// Collect runs c under im with a fresh recording backend and returns the normalized results.
func Collect(c Case, im Impl, assets string) (*Run, error) { return collect(c, im, assets, nil, 0) }

// collect is Collect as run side of step's two (nil: alone).
func collect(c Case, im Impl, assets string, step *logStep, side int) (*Run, error) {
	if step != nil {
		defer step.end(side)
	}
	be, err := startBackend(true, c.BackendTLS)
	if err != nil {
		return nil, err
	}
	defer be.Close()
	backendPort := be.Port
	if c.BackendDown {
		if backendPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	srv, err := Start(c, im, assets, backendPort)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Stop()
		}
	}()
	port := srv.Port
	norm := newNormalizer(map[int]string{port: "PORT", backendPort: "BACKEND_PORT"})
	subst := strings.NewReplacer("{{PORT}}", strconv.Itoa(port), "{{BACKEND_PORT}}", strconv.Itoa(backendPort)).Replace
	addr := "127.0.0.1:" + strconv.Itoa(port)
	run := &Run{}
	token := ""
	logged := func() int { return loggedLines(c, srv) }
	for i, req := range c.Requests {
		be.Take(0) // forget anything that arrived late for the previous request
		target := addr
		if req.IPv6 {
			target = "[::1]:" + strconv.Itoa(port)
		}
		var streamDone func(int)
		if step != nil {
			streamDone = func(k int) { step.step(side, stepAt{i, k}, logged) }
		}
		res := do(target, c.TLS, c.SNI, req, subst, be.progress, streamDone)
		res.Backend = render(be.Take(req.Settle + 20*time.Millisecond))
		if step != nil {
			step.step(side, stepAt{i, afterStreams}, logged)
		}
		res.Responses = clockNeutral(res.Responses, c.Clock)
		if token == "" {
			token = headerValue(res.Responses, "Server")
		}
		run.Results = append(run.Results, norm.result(res))
	}
	stopped = true
	if step != nil {
		step.mu.Lock()
		run.lagged = step.slack
		step.mu.Unlock()
	}
	dir := srv.dir
	for _, t := range c.Trees {
		run.Tree = append(run.Tree, listTree(filepath.Join(dir, t), t)...)
	}
	log, files := srv.StopReading(append(append([]string(nil), c.LogFiles...), c.AccessLogFiles...))
	run.Log = log
	if c.ErrorLog || c.ErrorMessages {
		run.Errors = norm.lines(requestErrors(run.Log, dir))
	}
	if c.ErrorMask != nil {
		for i, l := range run.Errors {
			run.Errors[i] = c.ErrorMask(l)
		}
	}
	if c.ErrorMessages {
		for i, l := range run.Errors {
			run.Errors[i], _, _ = strings.Cut(l, ", client:")
		}
	}
	for _, f := range c.AccessLogFiles {
		for _, l := range strings.Split(strings.TrimRight(files[f], "\n"), "\n") {
			if l != "" {
				l = norm.text(strings.ReplaceAll(l, dir, "PREFIX"))
				if c.Mask != nil {
					l = c.Mask(l, token)
				}
				run.Access = append(run.Access, f+": "+l)
			}
		}
	}
	for _, f := range c.LogFiles {
		for _, l := range requestErrors(files[f], dir) {
			run.Files = append(run.Files, f+": "+norm.text(l))
		}
	}
	return run, nil
}

func fill(c Case, port, backendPort int) string {
	if c.Verbatim {
		// Test servers listen on loopback only: the article's wildcard
		// listens (all IPv4 and all IPv6 addresses) become the loopback
		// address of the same family, still two sockets as in the article.
		p := strconv.Itoa(port)
		s := strings.NewReplacer(
			"listen [::]:9000", "listen [::1]:"+p,
			"listen 9000", "listen 127.0.0.1:"+p,
		).Replace(c.Config)
		s = strings.ReplaceAll(s, "9000", p)
		return strings.ReplaceAll(s, "32000", strconv.Itoa(backendPort))
	}
	return strings.NewReplacer(
		"{{PORT}}", strconv.Itoa(port),
		"{{BACKEND}}", "127.0.0.1:"+strconv.Itoa(backendPort),
		"{{BACKEND_PORT}}", strconv.Itoa(backendPort),
		"{{CERT}}", "cert.pem",
		"{{KEY}}", "key.pem",
	).Replace(c.Config)
}

// render flattens the backend's view into lines for a readable diff.
func render(got []Exchange) []string {
	var out []string
	for i, e := range got {
		out = append(out, fmt.Sprintf("#%d %s", i+1, e.RequestLine))
		if e.TLS != "" {
			out = append(out, "tls: "+e.TLS)
		}
		out = append(out, e.Headers...)
		if e.Body != "" {
			out = append(out, "body: "+summarize([]byte(e.Body)))
		}
		for _, f := range e.Frames {
			out = append(out, "frame: "+f)
		}
		if e.Incomplete != "" {
			out = append(out, "incomplete: "+e.Incomplete)
		}
		if e.Stalled != "" {
			out = append(out, "stalled: "+e.Stalled)
		}
	}
	return out
}

// normalizer hides what legitimately differs between two runs: ports, Date, the Server
// token (also in the <center> line of error pages, with Content-Length adjusted to match).
// The token keeps whether it names a version (server_tokens on) or not (off): "nginx/1.22.1"
// and "gonginx/0.1.0" are both SERVER/VERSION, "nginx" and "gonginx" both SERVER.
type normalizer struct {
	ports *regexp.Regexp
	names map[string]string
}

func newNormalizer(ports map[int]string) *normalizer {
	var alts []string
	names := map[string]string{}
	for p, name := range ports {
		alts = append(alts, strconv.Itoa(p))
		names[strconv.Itoa(p)] = name
	}
	return &normalizer{ports: regexp.MustCompile(`\b(` + strings.Join(alts, "|") + `)\b`), names: names}
}

func (n *normalizer) text(s string) string {
	return n.ports.ReplaceAllStringFunc(s, func(p string) string { return n.names[p] })
}

func (n *normalizer) lines(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = n.text(s)
	}
	return out
}

// bareToken is the server token in an error page sent without a head (HTTP/0.9), where no
// Server header names it.
var bareToken = regexp.MustCompile(`<center>(nginx|gonginx)(/[0-9.]+)?</center>`)

func (n *normalizer) result(r Result) Result {
	r.Responses = n.lines(serverNeutral(r.Responses))
	if len(r.Responses) > 0 && !looksLikeStatus(r.Responses[0]) {
		for i, l := range r.Responses {
			r.Responses[i] = bareToken.ReplaceAllStringFunc(l, func(m string) string {
				return "<center>" + serverPlaceholder(strings.TrimSuffix(strings.TrimPrefix(m, "<center>"), "</center>")) + "</center>"
			})
		}
	}
	r.Error = n.text(r.Error)
	r.End = n.text(r.End)
	r.Frames = n.lines(r.Frames)
	r.Backend = n.lines(r.Backend)
	return r
}

// serverNeutral rewrites Date and Server headers and the server token in error page bodies.
// lines holds one or more responses, each: status line, headers, "", [body].
func serverNeutral(lines []string) []string {
	out := append([]string(nil), lines...)
	start := 0
	for start < len(out) {
		end := start + 1
		for end < len(out) && out[end] != "" {
			end++
		}
		// out[start] status, out[start+1:end] headers, out[end] "" (if present), out[end+1] body.
		token := ""
		clIndex := -1
		recentNeutral(out[start+1 : end])
		for i := start + 1; i < end; i++ {
			name, value, _ := strings.Cut(out[i], ":")
			switch strings.ToLower(name) {
			case "date":
				out[i] = name + ": DATE"
			case "server":
				token = strings.TrimSpace(value)
				out[i] = name + ": " + serverPlaceholder(token)
			case "content-length":
				clIndex = i
			}
		}
		next := end + 1
		if end+1 < len(out) && !looksLikeStatus(out[end+1]) {
			body := out[end+1]
			if token != "" && strings.Contains(body, "<center>"+token+"</center>") {
				out[end+1] = strings.ReplaceAll(body, "<center>"+token+"</center>", "<center>"+serverPlaceholder(token)+"</center>")
				if clIndex >= 0 {
					name, value, _ := strings.Cut(out[clIndex], ":")
					if cl, err := strconv.Atoi(strings.TrimSpace(value)); err == nil {
						out[clIndex] = fmt.Sprintf("%s: %d", name, cl-len(token)+len(serverPlaceholder(token)))
					}
				}
			}
			next = end + 2
		} else if token != "" && clIndex >= 0 && errorPage(out[start], out[start+1:end]) {
			// A HEAD answer to an error page: the length still counts the token in the body.
			name, value, _ := strings.Cut(out[clIndex], ":")
			if cl, err := strconv.Atoi(strings.TrimSpace(value)); err == nil {
				out[clIndex] = fmt.Sprintf("%s: %d", name, cl-len(token)+len(serverPlaceholder(token)))
			}
		}
		start = next
	}
	return out
}

// serverPlaceholder stands for a server token, keeping only whether it
// names a version.
func serverPlaceholder(token string) string {
	if strings.Contains(token, "/") {
		return "SERVER/VERSION"
	}
	return "SERVER"
}

func looksLikeStatus(s string) bool { return strings.HasPrefix(s, "HTTP/") }

// errorPage tells whether a response is one of the server's own HTML pages (which carry the
// server token in their body): a 3xx (but 304) or error status with a text/html type.
func errorPage(status string, headers []string) bool {
	f := strings.Fields(status)
	if len(f) < 2 {
		return false
	}
	code, _ := strconv.Atoi(f[1])
	return code >= 301 && code != 304 && strings.HasPrefix(headerValue(headers, "Content-Type"), "text/html")
}

// Compare runs c under want and got and reports, per request, every difference as a subtest
// named after the request (cmp.Diff, -want +got).
func Compare(t *testing.T, c Case, want, got Impl, assets string) {
	t.Helper()
	wantRun, gotRun, err := collectBoth(c, want, got, assets)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i, req := range c.Requests {
		t.Run(req.Name, func(t *testing.T) {
			if os.Getenv("DIFFTEST_DUMP") != "" {
				t.Logf("%s saw:\n%s", want.Name, dump(wantRun.Results[i]))
			}
			if d := cmp.Diff(wantRun.Results[i], gotRun.Results[i]); d != "" {
				failed++
				t.Errorf("%s vs %s (-%s +%s):\n%s", want.Name, got.Name, want.Name, got.Name, d)
			}
		})
	}
	// The logs each run wrote, compared line list against line list.
	compareLines := func(on bool, what string, wantLines, gotLines []string) {
		if !on {
			return
		}
		t.Run(what, func(t *testing.T) {
			if os.Getenv("DIFFTEST_DUMP") != "" {
				t.Logf("%s wrote to its %s:\n%s", want.Name, what, strings.Join(wantLines, "\n"))
			}
			if d := cmp.Diff(wantLines, gotLines); d != "" {
				failed++
				t.Errorf("%s vs %s %s (-%s +%s):\n%s", want.Name, got.Name, what, want.Name, got.Name, d)
			}
		})
	}
	compareLines(len(c.AccessLogFiles) > 0, "access logs", wantRun.Access, gotRun.Access)
	compareLines(len(c.Trees) > 0, "trees", wantRun.Tree, gotRun.Tree)
	compareLines(len(c.LogFiles) > 0, "log files", wantRun.Files, gotRun.Files)
	compareLines(c.ErrorLog || c.ErrorMessages, "error log", wantRun.Errors, gotRun.Errors)
	if failed > 0 {
		t.Logf("%d of %d requests differ; %s log:\n%s", failed, len(c.Requests), got.Name, tail(gotRun.Log, 40))
	}
	if wantRun.lagged || gotRun.lagged {
		t.Logf("a log step waited %v in vain: after a request the two runs' logs stayed at different counts", stepWait)
	}
}

// errorLine is an nginx error log line about a request: time, level, pid,
// connection number, message.
var errorLine = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: \*(\d+) (.*)$`)

// readinessClose is the info line of the connection made to see
// the server listening (its first): logged when the server notices the
// close, which on a loaded machine may come after later requests' lines.
const readinessClose = "client closed connection while waiting for request"

// requestErrors keeps the log lines about requests as "[level] message",
// with the prefix dir written as PREFIX; the readiness connection's line
// leads wherever it was logged.
func requestErrors(log, dir string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		m := errorLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		line := "[" + m[1] + "] " + strings.ReplaceAll(m[3], dir, "PREFIX")
		if m[2] == "1" && strings.HasPrefix(m[3], readinessClose) {
			out = append([]string{line}, out...)
			continue
		}
		out = append(out, line)
	}
	return out
}

// Diffs is Compare without a testing.T: the per-request diffs, empty strings where equal.
func Diffs(c Case, want, got Impl, assets string) ([]string, error) {
	wantRun, gotRun, err := collectBoth(c, want, got, assets)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(c.Requests))
	for i := range c.Requests {
		out[i] = cmp.Diff(wantRun.Results[i], gotRun.Results[i])
	}
	return out, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// dump renders a Result for reading (DIFFTEST_DUMP=1 logs what the reference server did).
func dump(r Result) string {
	var b strings.Builder
	if r.Error != "" {
		b.WriteString("error: " + r.Error + "\n")
	}
	for _, l := range r.Responses {
		fmt.Fprintf(&b, "  < %q\n", l)
	}
	b.WriteString("  end: " + r.End + "\n")
	for _, f := range r.Frames {
		b.WriteString("  frame: " + f + "\n")
	}
	for _, l := range r.Backend {
		fmt.Fprintf(&b, "  backend: %q\n", l)
	}
	return b.String()
}

// collectBoth runs the two implementations at the same time (each with its own port and
// backend): the per-request waits dominate, not CPU.
func collectBoth(c Case, want, got Impl, assets string) (*Run, *Run, error) {
	var wantRun, gotRun *Run
	var wantErr, gotErr error
	var wg sync.WaitGroup
	wg.Add(2)
	var step *logStep
	if len(c.AccessLogFiles) > 0 || len(c.LogFiles) > 0 || c.ErrorLog || c.ErrorMessages {
		step = newLogStep()
	}
	go func() { defer wg.Done(); wantRun, wantErr = collect(c, want, assets, step, 0) }()
	go func() { defer wg.Done(); gotRun, gotErr = collect(c, got, assets, step, 1) }()
	wg.Wait()
	if wantErr != nil {
		return nil, nil, fmt.Errorf("%s: %w", want.Name, wantErr)
	}
	if gotErr != nil {
		return nil, nil, fmt.Errorf("%s: %w", got.Name, gotErr)
	}
	return wantRun, gotRun, nil
}

// listTree lists what is under root, a line per entry in name order:
// the path shown under name, the type and permission bits, and a
// regular file's content (quoted, cut at 64 bytes) or a link's target.
func listTree(root, name string) []string {
	var lines []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		rel := name + strings.TrimPrefix(p, root)
		if err != nil {
			lines = append(lines, rel+": "+err.Error())
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			lines = append(lines, rel+": "+err.Error())
			return nil
		}
		line := fmt.Sprintf("%s %v", rel, fi.Mode())
		switch {
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			if len(b) > 64 {
				b = append(b[:64:64], fmt.Sprintf("...(%d bytes)", len(b))...)
			}
			line += fmt.Sprintf(" %q", b)
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		lines = append(lines, line)
		return nil
	})
	return lines
}
