// Command gonginx runs nginx configuration files as they are: it serves
// them in the foreground, and with -t checks them exactly as "nginx -t"
// does (same messages, same exit codes).
//
// Flags follow nginx: -c -p -e -g -t -T -q -v -V -h -s, plus -J (the
// parsed configuration as crossplane JSON) and "gonginx fmt FILE" (the
// file rewritten in a canonical layout, comments kept).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/location/mail"
	"github.com/gonginx/gonginx/location/process"
	"github.com/gonginx/gonginx/location/server"
	"github.com/gonginx/gonginx/location/stream"
	"github.com/gonginx/gonginx/nginxconf"
)

const (
	progName    = "gonginx"
	defaultConf = "/etc/nginx/nginx.conf"
)

type flags struct {
	help, version, verbose, test, dump, quiet, json bool
	conf, prefix, errLog, globals, signal           string
	confSet                                         bool
	// lint runs nginxconf/lint after -t's checks; format prints -t's and
	// lint's findings on stdout for CI ("github" or "sarif").
	lint   bool
	format string
	// pathMap (--map) and lenient (--lenient): -t away from the server.
	pathMap []nginxconf.PathMapping
	lenient bool
	// passwords are the ssl_password_file contents read in this start or
	// reload (nginxconf.Options.Passwords), shared by its loads.
	passwords map[string][]string
	// ticketSeed derives the session ticket keys (a worker's comes from
	// its master, so all workers resume each other's sessions).
	ticketSeed []byte
	// files are the configuration files a worker's master read
	// (nginxconf.Options.Files); nil: read the disk.
	files map[string][]byte
	// inherited are the listening sockets an old master handed over
	// (binary upgrade); daemonized: this master runs as a daemon.
	inherited  []*os.File
	daemonized bool
}

// loadOptions are the nginxconf options of the flags.
func (f *flags) loadOptions() nginxconf.Options {
	return nginxconf.Options{Prefix: f.prefix, Globals: f.globals, Passwords: f.passwords, Files: f.files,
		PathMap: f.pathMap, Lenient: f.lenient, Handler: location.NewParseCheck(),
		PidCheck: f.test && len(f.pathMap) == 0 && !f.lenient}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "fmt" {
		return runFmt(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "explain" {
		return runExplain(args[1:], stdout, stderr)
	}
	f, err := parseFlags(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", progName, err)
		return 1
	}
	if f.help {
		fmt.Fprint(stderr, usage)
		return 0
	}
	if f.version || f.verbose {
		printVersion(stderr, f.verbose)
		return 0
	}
	if f.signal != "" {
		return sendSignal(f, stderr)
	}
	if f.test || f.dump || f.json {
		return test(f, stdout, stderr)
	}
	return serve(f, stderr)
}

var usage = `nginx version: nginx/1.22.1
gonginx version: gonginx/0.1.0
Usage: gonginx [-?hvVtTqJ] [-s signal] [-p prefix]
             [-e filename] [-c filename] [-g directives]
       gonginx fmt [-c] filename
       gonginx explain [-c filename] [-X method] [-H 'Name: value'] [-J] URL

Options:
  -?,-h         : this help
  -v            : show version and exit
  -V            : show version, configure arguments and the directives not served, then exit
  -t            : test configuration and exit
  -T            : test configuration, dump it and exit
  -J            : print the parsed configuration as crossplane JSON and exit
  -q            : suppress non-error messages during configuration testing
  -s signal     : send signal to a master process: stop, quit, reopen, reload
  -p prefix     : set prefix path (default: the directory of the configuration file)
  -e filename   : set error log file (default: stderr)
  -c filename   : set configuration file (default: /etc/nginx/nginx.conf)
  -g directives : set global directives out of configuration file
  --lint        : with -t, also report the traps nginx -t lets pass (exit 1 when any)
  --format F    : with -t, also print findings on stdout as "github" annotations or "sarif"
  --map FROM=TO : with -t, read the server's paths under FROM from the directory TO (a checkout)
  --lenient     : with -t, missing certificates, keys and include targets, and host names that do
                  not resolve here, are warnings

`

// parseFlags reads options as ngx_get_options does: letters may be
// grouped ("-tq"), and a value may be attached ("-cfile") or follow.
func parseFlags(args []string) (*flags, error) {
	f := &flags{conf: defaultConf}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) == 0 || a[0] != '-' {
			return nil, fmt.Errorf("invalid option: \"%s\"", a)
		}
		if long, ok := strings.CutPrefix(a, "--"); ok {
			// gonginx's own options, which nginx does not have.
			switch name, value, hasValue := strings.Cut(long, "="); name {
			case "lint":
				f.lint, f.test = true, true
			case "lenient":
				f.lenient, f.test = true, true
			case "map":
				if !hasValue && i+1 < len(args) {
					i++
					value = args[i]
				}
				m, err := parseMapping(value)
				if err != nil {
					return nil, err
				}
				f.pathMap, f.test = append(f.pathMap, m), true
			case "format":
				if !hasValue && i+1 < len(args) {
					i++
					value = args[i]
				}
				if value != "github" && value != "sarif" {
					return nil, fmt.Errorf("invalid option: \"--format %s\" (github, sarif)", value)
				}
				f.format, f.test = value, true
			default:
				return nil, fmt.Errorf("invalid option: \"%s\"", a)
			}
			continue
		}
		p := a[1:]
		for len(p) > 0 {
			c := p[0]
			p = p[1:]
			switch c {
			case '?', 'h':
				f.help = true
			case 'v':
				f.version = true
			case 'V':
				f.verbose = true
			case 't':
				f.test = true
			case 'T':
				f.test, f.dump = true, true
			case 'q':
				f.quiet = true
			case 'J':
				f.json = true
			case 'p', 'e', 'c', 'g', 's':
				var v string
				switch {
				case len(p) > 0:
					v, p = p, ""
				case i+1 < len(args):
					i++
					v = args[i]
				default:
					what := map[byte]string{'p': "directory name", 'e': "file name", 'c': "file name", 'g': "parameter", 's': "parameter"}[c]
					return nil, fmt.Errorf("option \"-%c\" requires %s", c, what)
				}
				switch c {
				case 'p':
					f.prefix = v
				case 'e':
					f.errLog = v
				case 'c':
					f.conf, f.confSet = v, true
				case 'g':
					f.globals = v
				case 's':
					switch v {
					case "stop", "quit", "reopen", "reload":
						f.signal = v
					default:
						return nil, fmt.Errorf("invalid option: \"-s %s\"", v)
					}
				}
			default:
				return nil, fmt.Errorf("invalid option: \"%c\"", c)
			}
		}
	}
	return f, nil
}

// loaded is a configuration read and compiled without listening, as
// "nginx -t" does.
type loaded struct {
	cfg   *nginxconf.Config
	rt    *location.Router
	warns []*nginxconf.Error // in the order nginx prints them
	err   error
	// afterSyntax: err was found after nginx would have printed "syntax
	// is ok" (checks of ngx_init_cycle that follow the parse, such as the
	// missing events block); errors of the http{} block come before.
	afterSyntax bool
	// limitWarn is worker_connections above the open file limit.
	limitWarn *nginxconf.Error
}

func load(f *flags) *loaded {
	l := &loaded{}
	conf := f.conf
	if len(f.pathMap) > 0 {
		conf = confOnServer(f.pathMap, conf)
	}
	l.cfg, l.err = nginxconf.Load(conf, f.loadOptions())
	if l.cfg != nil {
		l.warns = append(l.warns, l.cfg.Warnings...)
	}
	if l.err != nil {
		return l
	}
	away := len(f.pathMap) > 0 || f.lenient
	// Away from the server, certificates are checked through the path
	// map (checkCertFiles), not loaded from the server's paths.
	opts := compileOptions(!away)
	opts.TicketSeed = f.ticketSeed
	// Serving refuses what gonginx cannot serve, where -t accepts it as nginx -t does.
	opts.Serving = !f.test && !f.json
	l.rt, l.err = location.Compile(l.cfg, opts)
	if l.err == nil && opts.Serving && l.rt.DefaultAccessLog != "" {
		// Made as the default pid file's directory is (nginx would fail).
		os.MkdirAll(filepath.Dir(l.rt.DefaultAccessLog), 0o755)
	}
	if l.rt != nil {
		l.warns = append(l.warns, l.rt.Warnings...)
	}
	if l.err != nil {
		l.rt = nil // only the warnings made before the error
		return l
	}
	if err := nginxconf.Check(l.cfg); err != nil {
		l.err, l.afterSyntax = err, true
		return l
	}
	// ngx_event_init_conf: a connection for each listening socket and
	// one for the worker's channel.
	if n, ls := workerConnections(l.cfg), len(l.rt.Listens()); n < int64(ls)+1 {
		l.err = &nginxconf.Error{Msg: fmt.Sprintf("%d worker_connections are not enough for %d listening sockets", n, ls)}
		l.afterSyntax = true
		return l
	}
	// ngx_event_module_init's warning comes after the sockets are bound:
	// -t prints it after "syntax is ok".
	if l.limitWarn = rlimitWarning(l.cfg); l.limitWarn != nil && !f.test {
		l.warns = append(l.warns, l.limitWarn)
	}
	return l
}

func compileOptions(loadCerts bool) location.Options {
	return location.Options{
		Root:      os.Geteuid() == 0,
		LoadCerts: loadCerts,
		Zones:     zones,

		UpstreamZones: upstreamZones,
		CompileStream: stream.Compile,
		CompileMail:   mail.CompileOption,
	}
}

func confName(f *flags, cfg *nginxconf.Config) string {
	if cfg != nil && cfg.ConfFile != "" {
		return cfg.ConfFile
	}
	return f.conf
}

func printWarnings(w io.Writer, warns []*nginxconf.Error) {
	for _, e := range warns {
		fmt.Fprintf(w, "%s: [warn] %s\n", progName, e.Error())
	}
}

// silent says whether nginx fails on err without a line of its own.
func silent(err error) bool {
	var e *nginxconf.Error
	return errors.As(err, &e) && e.Silent
}

func levelOf(err error) string {
	var e *nginxconf.Error
	if errors.As(err, &e) {
		if e.Warn {
			return "warn"
		}
		if e.Crit {
			return "crit"
		}
	}
	return "emerg"
}

func test(f *flags, stdout, stderr io.Writer) int {
	var lr *lenientResolver
	if f.lenient {
		lr = installLenientResolver()
		defer lr.restore()
	}
	l := load(f)
	if (len(f.pathMap) > 0 || f.lenient) && l.err == nil {
		warns, err := checkCertFiles(l.cfg, f.lenient)
		l.warns, l.err = append(l.warns, warns...), err
	}
	if lr != nil {
		l.warns = append(l.warns, lr.warnings()...)
	}
	if l.err == nil && !f.json {
		l.err = testBind(l.rt)
		l.afterSyntax = l.err != nil
	}
	cfg, warns, err := l.cfg, l.warns, l.err
	if f.json {
		out, jerr := nginxconf.MarshalCrossplane(cfg, err)
		if jerr != nil {
			fmt.Fprintf(stderr, "%s: [emerg] %s\n", progName, jerr)
			return 1
		}
		stdout.Write(out)
		fmt.Fprintln(stdout)
		if err != nil {
			return 1
		}
		return 0
	}
	elog := openCmdLog(f, cfg, stderr)
	defer elog.close()
	for _, w := range warns {
		elog.log("warn", w.Error())
	}
	name := confName(f, cfg)
	if (err == nil || l.afterSyntax) && !f.quiet {
		fmt.Fprintf(stderr, "%s: the configuration file %s syntax is ok\n", progName, name)
	}
	if err == nil && l.limitWarn != nil {
		elog.log("warn", l.limitWarn.Error())
	}
	var report []finding
	if f.format != "" {
		report = testFindings(l.cfg, warns, err)
		defer func() { writeReport(stdout, f.format, report) }()
	}
	if err != nil {
		if !silent(err) {
			elog.log(levelOf(err), err.Error())
		}
		fmt.Fprintf(stderr, "%s: configuration file %s test failed\n", progName, name)
		return 1
	}
	if !f.quiet {
		fmt.Fprintf(stderr, "%s: configuration file %s test is successful\n", progName, name)
	}
	if f.lint {
		found := lintFindings(cfg, stderr)
		report = append(report, found...)
		if len(found) > 0 {
			return 1
		}
	}
	if f.dump {
		if err := cfg.DumpT(stdout); err != nil {
			fmt.Fprintf(stderr, "%s: [emerg] %s\n", progName, err)
			return 1
		}
	}
	return 0
}

// testBind binds every listening socket and closes it again, as nginx -t
// does in ngx_open_listening_sockets: an address in use (by the running
// server) passes, any other failure (a port below 1024 without root, an
// address the host does not have) fails the test.
func testBind(rt *location.Router) error {
	for _, l := range rt.Listens() {
		var c io.Closer
		var err error
		if l.UDP {
			c, err = server.ListenPacketSocket(l)
		} else {
			c, err = server.ListenSocket(l)
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		if err != nil {
			return err
		}
		c.Close()
	}
	return nil
}

func runFmt(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "-c" {
		args = args[1:]
	}
	if len(args) != 1 {
		fmt.Fprintf(stderr, "usage: %s fmt FILE\n", progName)
		return 2
	}
	cfg, err := nginxconf.Load(args[0], nginxconf.Options{Comments: true})
	if err != nil {
		fmt.Fprintf(stderr, "%s: [emerg] %s\n", progName, err)
		return 1
	}
	for _, file := range cfg.Files {
		if file.Path == cfg.ConfFile {
			stdout.Write(nginxconf.Format(file))
			return 0
		}
	}
	fmt.Fprintf(stderr, "%s: [emerg] %s was not read\n", progName, args[0])
	return 1
}

// sendSignal is -s: as ngx_signal_process, it reads the configuration
// for the pid file and signals the pid named there, logging to -e's log.
func sendSignal(f *flags, stderr io.Writer) int {
	cfg, err := nginxconf.Load(f.conf, f.loadOptions())
	elog := openCmdLog(f, cfg, stderr)
	defer elog.close()
	if err != nil {
		elog.log("emerg", err.Error())
		return 1
	}
	elog.log("notice", "signal process started")
	path := pidFile(cfg)
	data, err := os.ReadFile(path)
	if err != nil {
		elog.log("error", fmt.Sprintf("open() %q failed (%s)", path, nginxconf.ErrnoText(err)))
		return 1
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		elog.log("error", fmt.Sprintf("invalid PID number %q in %q", strings.TrimSpace(string(data)), path))
		return 1
	}
	sig := map[string]syscall.Signal{"stop": syscall.SIGTERM, "quit": syscall.SIGQUIT, "reopen": syscall.SIGUSR1, "reload": syscall.SIGHUP}[f.signal]
	if err := syscall.Kill(pid, sig); err != nil {
		elog.log("alert", fmt.Sprintf("kill(%d, %d) failed (%s)", pid, sig, nginxconf.ErrnoText(err)))
		return 1
	}
	return 0
}

// serve runs the configuration as nginx does: detached (daemon on) or
// not, with a master and worker processes (master_process on) or as one
// process.
func serve(f *flags, stderr io.Writer) int {
	w, err := process.Inherit()
	if err != nil {
		fmt.Fprintf(stderr, "%s: [emerg] %s\n", progName, err)
		return 2
	}
	if w != nil {
		return runWorker(f, w, stderr)
	}
	f.passwords = map[string][]string{} // the loads of this start read each once
	inherited, err := process.InheritedSockets()
	if err != nil {
		fmt.Fprintf(stderr, "%s: [emerg] %s\n", progName, err)
	}
	f.inherited = inherited
	detached, ready := process.Daemonized()
	// A new binary started by SIGUSR2 runs where its old master runs,
	// daemon or not (nginx: ngx_inherited means ngx_daemonized).
	f.daemonized = detached || inherited != nil
	if !detached && inherited == nil {
		// Only "daemon" is read here; the detached copy loads and reports.
		if cfg, err := nginxconf.Load(f.conf, f.loadOptions()); err == nil && coreOf(cfg).daemon {
			return process.Detach()
		}
	}
	l := load(f)
	// What ngx_init_cycle logs before it opens the configuration's own
	// log files goes to -e's log (stderr without it), never to the file
	// of an error_log line.
	elog := openCmdLog(f, l.cfg, stderr)
	for _, w := range l.warns {
		elog.log("warn", w.Error())
	}
	if l.err != nil && !silent(l.err) {
		elog.log(levelOf(l.err), l.err.Error())
	}
	elog.close()
	if l.err != nil {
		return 1
	}
	if coreOf(l.cfg).master {
		return runMaster(f, l, stderr, ready)
	}
	return runSingle(f, l, stderr, ready)
}

// runSingle is "master_process off": one process loads, binds and serves,
// without changing its user (as nginx's single process cycle).
func runSingle(f *flags, l *loaded, stderr io.Writer, ready func()) int {
	cfg, rt := l.cfg, l.rt
	logw, closeLog := openErrorLog(f, cfg, stderr)
	defer func() { closeLog() }()
	if fh, ok := logw.(*os.File); ok && logw != stderr && !logsToStderr(cfg.Tree) {
		redirectStderr(fh)
	}
	defer startProfile(stderr, "")()
	paceGC()
	logger := location.NewLogger(logw)
	logger.SetLevel(coreOf(cfg).errorLevel)
	setMainLogs(logger, cfg)
	if len(rt.Unserved) > 0 {
		logger.Log("warn", "directives validated but not served by gonginx: "+strings.Join(rt.Unserved, ", "))
	}
	logOSStatus(logger.Log)
	// Signals are caught before the pid file and the listening sockets
	// tell that the server runs (nginx's ngx_init_signals comes first):
	// a SIGQUIT sent at once must not meet Go's default action.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR1,
		syscall.SIGUSR2, syscall.SIGWINCH)
	defer signal.Stop(sigs)
	srv, err := server.Start(cfg, server.StartOptions{Compile: compileOptions(true), Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "%s: [emerg] %s\n", progName, err)
		return 1
	}
	pid := pidFile(cfg)
	if err := writePid(pid); err != nil {
		logger.Log("emerg", err.Error())
		srv.Close()
		return 1
	}
	defer func() { os.Remove(pid) }()
	ready()
	for sig := range sigs {
		switch sig {
		case syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT:
			// ngx_single_process_cycle ends at once on either stop, a
			// graceful one too: nothing in flight is waited for (the
			// signal broke its epoll_wait, which it logs).
			action, name := "exiting", map[os.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT"}[sig]
			if sig == syscall.SIGQUIT {
				action = "shutting down"
			}
			logger.Log("notice", fmt.Sprintf("signal %d (%s) received, %s", int(sig.(syscall.Signal)), name, action))
			logger.Log("info", "epoll_wait() failed (4: Interrupted system call)")
			srv.Terminate()
			logger.Log("notice", "exit")
			return 0
		case syscall.SIGHUP:
			logger.Log("notice", "signal 1 (SIGHUP) received, reconfiguring")
			logger.Log("notice", "reconfiguring")
			nl := load(f)
			for _, w := range nl.warns {
				logger.Log("warn", w.Error())
			}
			err := nl.err
			if err == nil {
				err = srv.Reload(nl.cfg)
			}
			if err != nil {
				if !silent(err) {
					logger.Log(levelOf(err), err.Error())
				}
				continue
			}
			logger.Log("notice", eventMethodLine)
			cfg = nl.cfg
			logger.SetLevel(coreOf(cfg).errorLevel)
			setMainLogs(logger, cfg)
			if np := pidFile(cfg); np != pid {
				if writePid(np) == nil {
					os.Remove(pid)
					pid = np
				}
			}
		case syscall.SIGUSR1:
			logger.Log("notice", "signal 10 (SIGUSR1) received, reopening logs")
			logger.Log("notice", "reopening logs")
			if path := errorLogPath(f, cfg); path != "" && logw != stderr {
				if fh, err := openLog(path); err != nil {
					logger.Log("alert", err.Error())
				} else {
					logger.SetOutput(fh)
					if !logsToStderr(cfg.Tree) {
						redirectStderr(fh)
					}
					closeLog()
					logw, closeLog = fh, func() { fh.Close() }
				}
			}
			logger.Reopen()
		case syscall.SIGUSR2, syscall.SIGWINCH:
			logSingleUpgradeSignal(logger, sig.(syscall.Signal), f.daemonized)
		}
	}
	return 0
}

// logSingleUpgradeSignal logs what ngx_signal_handler logs for the
// binary upgrade's signals in the single process, which acts on neither:
// a daemon's parent is gone, so SIGUSR2 reads as "changing binary";
// in the foreground it is the ignored one, with the crit line.
func logSingleUpgradeSignal(logger *location.Logger, sig syscall.Signal, daemonized bool) {
	switch {
	case sig == syscall.SIGWINCH && daemonized:
		logger.Log("notice", "signal 28 (SIGWINCH) received, stop accepting connections")
	case sig == syscall.SIGWINCH:
		logger.Log("notice", "signal 28 (SIGWINCH) received")
	case daemonized:
		logger.Log("notice", "signal 12 (SIGUSR2) received, changing binary")
	default:
		logger.Log("notice", "signal 12 (SIGUSR2) received, ignoring")
		logger.Log("crit", "the changing binary signal is ignored: you should shutdown or terminate before either old or new binary's process")
	}
}

// openErrorLog picks the error log: -e, else the main context's
// error_log, else stderr. A file that cannot be opened falls back to
// stderr with a warning.
func openErrorLog(f *flags, cfg *nginxconf.Config, stderr io.Writer) (io.Writer, func()) {
	path := errorLogPath(f, cfg)
	if path == "" {
		return stderr, func() {}
	}
	fh, err := openLog(path)
	if err != nil {
		fmt.Fprintf(stderr, "%s: [alert] could not open error log file: %s\n", progName, err)
		return stderr, func() {}
	}
	return fh, func() { fh.Close() }
}

// shutdown stops srv gracefully, waiting for its connections at most
// worker_shutdown_timeout (without one, until they end).
func shutdown(srv *server.Server, timeout time.Duration) {
	ctx, cancel := context.Background(), func() {}
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	srv.Shutdown(ctx)
	cancel()
}
