package nginxconf

// Checks of the generic-slot value checks against the installed nginx: for
// every command with a generic setter, a config with the directive twice
// and one with an invalid value go through both nginx -t and
// checkDirective, and the first error must read the same.

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// nginxLogPrefix matches nginx's error-log time/pid prefix, which a Debian
// build (error log on stderr) prints instead of "nginx: ".
var nginxLogPrefix = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: `)

// runNginxT runs nginx -t on conf in a fresh directory and returns its exit
// code and stderr lines with the directory replaced by "DIR".
func runNginxT(t *testing.T, conf string) (int, []string) {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(*nginxBinary, "-t", "-p", dir+"/", "-c", path)
	out, _ := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		l = nginxLogPrefix.ReplaceAllString(l, "nginx: [$1] ")
		lines = append(lines, strings.ReplaceAll(l, dir, "DIR"))
	}
	return code, lines
}

// wrapIn returns config text placing body in ctx, the directive under test
// starting on line 2 (body's own first line), and the module loads needed.
func wrapIn(ctx Context, body, modDir string, dynModule string) (string, bool) {
	head := ""
	var sos []string
	if ctx&(StreamMainConf|StreamSrvConf|StreamUpsConf) != 0 {
		sos = append(sos, "ngx_stream_module.so")
	}
	if ctx&(MailMainConf|MailSrvConf) != 0 {
		sos = append(sos, "ngx_mail_module.so")
	}
	if dynModule != "" && dynModule != "ngx_stream_module" && dynModule != "ngx_mail_module" &&
		(strings.HasPrefix(dynModule, "ngx_http_") || dynModule == "ngx_stream_geoip_module") {
		sos = append(sos, dynModule+".so")
	}
	for _, so := range sos {
		p := filepath.Join(modDir, so)
		if _, err := os.Stat(p); err != nil {
			return "", false
		}
		head += "load_module " + p + ";"
	}
	pre, post := "", ""
	switch {
	case ctx&MainConf != 0:
		post = "events {}"
	case ctx&EventConf != 0:
		pre, post = "events {", "}"
	case ctx&HTTPMainConf != 0:
		pre, post = "events {} http {", "}"
	case ctx&HTTPSrvConf != 0:
		pre, post = "events {} http { server {", "}}"
	case ctx&HTTPLocConf != 0:
		pre, post = "events {} http { server { location / {", "}}}"
	case ctx&HTTPUpsConf != 0:
		pre, post = "events {} http { upstream u { server 127.0.0.1;", "}}"
	case ctx&HTTPSifConf != 0:
		pre, post = "events {} http { server { if ($args) {", "}}}"
	case ctx&HTTPLifConf != 0:
		pre, post = "events {} http { server { location / { if ($args) {", "}}}}"
	case ctx&HTTPLmtConf != 0:
		pre, post = "events {} http { server { location / { limit_except GET {", "}}}}"
	case ctx&StreamMainConf != 0:
		pre, post = "events {} stream {", "}"
	case ctx&StreamSrvConf != 0:
		pre, post = "events {} stream { server {", "}}"
	case ctx&StreamUpsConf != 0:
		pre, post = "events {} stream { upstream u { server 127.0.0.1:1;", "}}"
	case ctx&MailMainConf != 0:
		pre, post = "events {} mail {", "}"
	case ctx&MailSrvConf != 0:
		pre, post = "events {} mail { server {", "}}"
	default:
		return "", false
	}
	return head + pre + "\n" + body + "\n" + post + "\n", true
}

// firstContext is the lowest context bit of c.
func firstContext(c Context) Context { return c & -c }

// validValue is an argument list each generic setter accepts.
func validValue(c *Command) []string {
	switch c.Slot {
	case SlotFlag:
		return []string{"on"}
	case SlotNum:
		if c.Bounds != nil {
			return []string{itoa(c.Bounds[0])}
		}
		return []string{"1"}
	case SlotSize, SlotOff, SlotComplexValueSize:
		return []string{"64k"}
	case SlotMsec, SlotSec:
		return []string{"10s"}
	case SlotBufs:
		return []string{"8", "64k"}
	case SlotEnum:
		return []string{c.Values[0]}
	case SlotBitmask:
		return []string{c.Values[len(c.Values)-1]}
	case SlotPath:
		return []string{"/tmp/gonginx-table-test"}
	case SlotAccess:
		return []string{"user:rw"}
	case SlotUpstreamBind, SlotFileCache:
		return []string{"off"}
	}
	return []string{"x"}
}

func itoa(n int64) string { return sprintf("%d", n) }

// checkSeq runs checkDirective over directives written in one block, the
// way the parser does, and returns the first error's message line.
func checkSeq(ctx Context, ds []*Directive) string {
	var sibs []*Directive
	for _, d := range ds {
		if _, err := checkDirective(d, ctx, false, sibs); err != nil && !err.Warn {
			return "nginx: [emerg] " + err.Error()
		}
		sibs = append(sibs, d)
	}
	return ""
}

func firstEmerg(lines []string) string {
	for _, l := range lines {
		if strings.HasPrefix(l, "nginx: [emerg] ") {
			return l
		}
	}
	return ""
}

func TestGenericSlotsAgainstNginx(t *testing.T) {
	if _, err := exec.LookPath(*nginxBinary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nginx not installed at %s (CI)", *nginxBinary)
		}
		t.Skipf("NGINX MISSING: %s not found; the table is not checked against nginx", *nginxBinary)
	}
	modDir := *nginxModules
	if d := os.Getenv("GONGINX_NGINX_MODULES"); d != "" {
		modDir = d
	}
	for i := range commandTable {
		c := &commandTable[i]
		if c.Slot == SlotCustom || c.Slot == SlotFileCache || c.Deprecated != "" {
			continue
		}
		ctx := firstContext(c.Ctx)
		name := c.Module + "/" + c.Name
		for _, tc := range []struct {
			kind string
			args [][]string
		}{
			{"dup", [][]string{validValue(c), validValue(c)}},
			{"invalid", [][]string{{"zz!"}}},
		} {
			if tc.kind == "invalid" && (c.Slot == SlotStr || c.Slot == SlotStrArray || c.Slot == SlotKeyval ||
				c.Slot >= SlotComplexValue && c.Slot != SlotComplexValueSize) {
				continue
			}
			var lines []string
			var ds []*Directive
			for i, a := range tc.args {
				if c.Args&(TwoOrMore) != 0 && len(a) < 2 || c.Slot == SlotKeyval && len(a) < 2 {
					a = append(a, "x")
				}
				lines = append(lines, c.Name+" "+strings.Join(a, " ")+";")
				ds = append(ds, &Directive{Name: c.Name, Args: a, File: "DIR/nginx.conf", Line: 2 + i})
			}
			dyn := ""
			if c.Dynamic {
				dyn = c.Module
			}
			conf, ok := wrapIn(ctx, strings.Join(lines, "\n"), modDir, dyn)
			if !ok {
				continue
			}
			t.Run(name+"/"+tc.kind, func(t *testing.T) {
				_, out := runNginxT(t, conf)
				want := firstEmerg(out)
				if strings.Contains(want, "dlopen()") {
					t.Logf("module does not load here, not compared: %s", want)
					return
				}
				got := checkSeq(ctx, ds)
				// nginx may fail later, at merge time, for reasons that
				// are not the setter's; compare only the setter's lines.
				if got == "" && want != "" && !strings.Contains(want, "DIR/nginx.conf:2") && !strings.Contains(want, "DIR/nginx.conf:3") {
					return
				}
				if got != want {
					t.Errorf("config:\n%s\nnginx: %q\nours:  %q", conf, want, got)
				}
			})
		}
	}
}

var probeCustom = flag.Bool("probe-custom", false, "print custom-handler directives whose second occurrence nginx refuses as duplicate")

// TestProbeCustomDuplicates is a development aid that finds, with the
// installed nginx, which custom-handler directives are "is duplicate" when
// repeated; its output became customDuplicates.
func TestProbeCustomDuplicates(t *testing.T) {
	if !*probeCustom {
		t.Skip("run with -probe-custom")
	}
	modDir := os.Getenv("GONGINX_NGINX_MODULES")
	candidates := [][]string{{}, {"on"}, {"off"}, {"1"}, {"/tmp/x"}, {"x"}, {"127.0.0.1:9000"}, {"http://127.0.0.1"}, {"1h"}, {"utf-8"}, {"x", "y"}, {"GET"}, {"1", "1"}, {"4", "8k"}}
	var found []string
	for i := range commandTable {
		c := &commandTable[i]
		if c.Slot != SlotCustom || c.Block {
			continue
		}
		ctx := firstContext(c.Ctx)
		dyn := ""
		if c.Dynamic {
			dyn = c.Module
		}
		for _, a := range candidates {
			if !c.Args.Allows(len(a)) {
				continue
			}
			line := c.Name + " " + strings.Join(a, " ") + ";"
			conf, ok := wrapIn(ctx, line, modDir, dyn)
			if !ok {
				break
			}
			if _, out := runNginxT(t, conf); strings.Contains(firstEmerg(out), ":2") {
				continue
			}
			conf, _ = wrapIn(ctx, line+"\n"+line, modDir, dyn)
			_, out := runNginxT(t, conf)
			if strings.Contains(firstEmerg(out), "is duplicate") {
				found = append(found, c.Module+" "+c.Name+" "+firstEmerg(out))
			}
			break
		}
	}
	t.Logf("custom duplicates:\n%s", strings.Join(found, "\n"))
}

// TestCustomChecksAgainstNginx compares the value checks of module
// handlers (customCheck) and ngx_conf_handler's own messages with nginx.
func TestCustomChecksAgainstNginx(t *testing.T) {
	if _, err := exec.LookPath(*nginxBinary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nginx not installed at %s (CI)", *nginxBinary)
		}
		t.Skipf("NGINX MISSING: %s not found", *nginxBinary)
	}
	tests := []struct {
		ctx  Context
		line string
	}{
		{MainConf, "worker_processes x;"}, {MainConf, "worker_processes auto;"}, {MainConf, "worker_processes 1 2;"},
		{EventConf, "worker_connections x;"}, {EventConf, "use kqueue;"}, {EventConf, "use epoll;"},
		{HTTPMainConf, "keepalive_timeout x;"}, {HTTPMainConf, "keepalive_timeout 10 x;"}, {HTTPMainConf, "keepalive_timeout 75s 60;"},
		{HTTPMainConf, "error_log stderr warn error;"}, {HTTPMainConf, "error_log stderr debug_http;"},
		{HTTPMainConf, "error_log stderr warn debug_http;"}, {HTTPMainConf, "error_log stderr debug_http warn;"},
		{HTTPMainConf, "error_log stderr bogus;"}, {MainConf, "error_log stderr notice;"},
		{HTTPMainConf, "ssl_session_cache builtin:x;"}, {HTTPMainConf, "ssl_session_cache shared:SSL:10m builtin;"},
		{HTTPMainConf, "ssl_session_cache shared::1m;"}, {HTTPMainConf, "ssl_session_cache none off;"},
		{HTTPMainConf, "proxy_cache_valid 200 x;"}, {HTTPMainConf, "proxy_cache_valid 99 1m;"}, {HTTPMainConf, "proxy_cache_valid any 1m;"},
		{HTTPMainConf, "limit_rate 1x;"}, {HTTPMainConf, "gzip_window 3k;"}, {HTTPMainConf, "connection_pool_size 120;"},
		{HTTPMainConf, "server;"}, {HTTPMainConf, "foo;"}, {HTTPSrvConf, "proxy_pass http://a;"},
		{HTTPLocConf, "root /a {}"}, {HTTPMainConf, "client_max_body_size 1g;"}, {HTTPMainConf, "client_body_buffer_size 1g;"},
		{HTTPMainConf, "send_timeout 1y;"}, {HTTPMainConf, "ssl_session_timeout 1y;"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			conf, _ := wrapIn(tc.ctx, tc.line, "", "")
			_, out := runNginxT(t, conf)
			want := firstEmerg(out)
			// Parse the one line by hand: name, args, ";" or "{}".
			text := strings.TrimSuffix(tc.line, ";")
			isBlock := strings.HasSuffix(text, "{}")
			text = strings.TrimSpace(strings.TrimSuffix(text, "{}"))
			f := strings.Fields(text)
			d := &Directive{Name: f[0], Args: f[1:], File: "DIR/nginx.conf", Line: 2}
			got := ""
			if _, err := checkDirective(d, tc.ctx, isBlock, nil); err != nil && !err.Warn {
				got = "nginx: [emerg] " + err.Error()
			}
			if got != want {
				t.Errorf("%s\nnginx: %q\nours:  %q", conf, want, got)
			}
		})
	}
}
