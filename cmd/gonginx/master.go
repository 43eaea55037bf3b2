package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/location/process"
	"github.com/gonginx/gonginx/location/server"
	"github.com/gonginx/gonginx/nginxconf"
)

// Names of the files a worker inherits (process.Spec.Names).
const (
	errorLogName  = "error_log"
	accessLogName = "access_log " // + absolute path
	listenName    = "listen "     // + nginx's address text
	secretsName   = "secrets"     // what the master hands its workers: masterSecrets
)

// master is the configuration side of the master process: it binds the
// sockets and opens the log files that its workers inherit.
type master struct {
	f      *flags
	log    *location.Logger
	stderr io.Writer
	socks  map[string]*boundSocket // by nginx's address text
	pid    string
	logs   *openLogs // of the current generation
	cur    *loaded   // the configuration served
	// counters is the memory all workers share (newSharedCounters).
	counters *os.File
	zones    map[string]*os.File // limit zones by name (zones.go)
}

type boundSocket struct {
	ln   io.Closer // a net.Listener, or a net.PacketConn (stream udp)
	file *os.File  // a duplicate of ln's descriptor, to inherit
}

// openLogs are the log files of one generation, opened by the master so
// that workers running as "user" need no right to open them.
type openLogs struct {
	errorLog string   // "" when errors go to stderr
	names    []string // as in the spec
	files    []*os.File
}

func (o *openLogs) close() {
	for _, f := range o.files {
		f.Close()
	}
}

// masterSecrets is what every worker of a generation must share with
// the master and each other: the ssl_password_file contents it read (a
// named pipe gives them once), the seed of the session ticket keys
// (nginx makes them in the master, so a ticket from one worker resumes on
// another), and the configuration files as the master read them (so a
// worker started later, a respawned one, loads the bytes its master
// checked even when the files were edited since, as nginx's forked one).
type masterSecrets struct {
	Passwords  map[string][]string
	TicketSeed []byte
	Files      map[string][]byte
}

// addSecrets passes s to the workers in an unlinked file only root could
// open; each worker reads and closes it before it drops to "user".
func (o *openLogs) addSecrets(s masterSecrets) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	fh, err := os.CreateTemp("", "gonginx-secrets-")
	if err != nil {
		return err
	}
	os.Remove(fh.Name())
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	o.names = append(o.names, secretsName)
	o.files = append(o.files, fh)
	return nil
}

// errorLogPath is where the main error log goes: the first main-level
// error_log to a file or stderr, else -e; "" means stderr.
func errorLogPath(f *flags, cfg *nginxconf.Config) string {
	path := f.errLog
	if d, _ := mainErrorLogs(cfg); d != nil {
		path = d.Args[0]
	}
	if path == "" || path == "stderr" {
		return ""
	}
	return cfg.PrefixPath(path)
}

func openLog(path string) (*os.File, error) {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open() \"%s\" failed (%s)", path, nginxconf.ErrnoText(err))
	}
	return fh, nil
}

// openLogFiles opens the error log and the access logs without variables,
// as ngx_init_cycle opens cycle->open_files.
func openLogFiles(f *flags, l *loaded) (*openLogs, error) {
	o := &openLogs{errorLog: errorLogPath(f, l.cfg)}
	paths := l.rt.AccessLogs
	for _, p := range otherLogFiles(l.cfg) {
		if !slices.Contains(paths, p) {
			paths = append(slices.Clip(paths), p)
		}
	}
	if o.errorLog != "" {
		paths = append([]string{o.errorLog}, paths...)
	}
	for i, p := range paths {
		fh, err := openLog(p)
		if err != nil {
			o.close()
			return nil, err
		}
		name := accessLogName + p
		if i == 0 && o.errorLog != "" {
			name = errorLogName
		}
		o.names = append(o.names, name)
		o.files = append(o.files, fh)
	}
	return o, nil
}

// bind opens the sockets of rt that are not open yet and returns the
// addresses it opened, so a failed reload can close them again. As
// ngx_open_listening_sockets, an address in use is logged (logf) and
// tried again, five times 500ms apart, before "still could not bind()";
// that error comes back as a loggedError.
func (m *master) bind(rt *location.Router, logf func(level, msg string)) ([]string, error) {
	var opened []string
	for try := 0; try < bindTries; try++ {
		if try > 0 {
			time.Sleep(bindRetryDelay)
		}
		busy := false
		for _, l := range rt.Listens() {
			addr := l.Key()
			if m.socks[addr] != nil {
				continue
			}
			bs, err := bindSocket(l)
			if errors.Is(err, syscall.EADDRINUSE) {
				logf("emerg", err.Error())
				busy = true
				continue
			}
			if err != nil {
				m.closeSockets(opened)
				return nil, err
			}
			m.socks[addr] = bs
			opened = append(opened, addr)
		}
		if !busy {
			return opened, nil
		}
		logf("notice", "try again to bind() after 500ms")
	}
	m.closeSockets(opened)
	logf("emerg", "still could not bind()")
	return nil, loggedError{errors.New("still could not bind()")}
}

const (
	bindTries      = 5
	bindRetryDelay = 500 * time.Millisecond
)

// loggedError is an error its maker has logged already.
type loggedError struct{ error }

// cycleLog is where the lines of a configuration being made go, as
// ngx_init_cycle's new log once its files are open: that configuration's
// error log (stderr when it has none), and at start, before the server
// runs, a "gonginx: [level]" copy on stderr too (ngx_use_stderr).
func (m *master) cycleLog(l *loaded, logs *openLogs) func(level, msg string) {
	w := m.stderr
	if logs.errorLog != "" {
		w = logs.files[0]
	}
	logger := location.NewLogger(w)
	logger.SetLevel(coreOf(l.cfg).errorLevel)
	echo := m.cur == nil && w != m.stderr
	return func(level, msg string) {
		logger.Log(level, msg)
		if echo && levelRank(level) <= levelRank("warn") {
			fmt.Fprintf(m.stderr, "%s: [%s] %s\n", progName, level, msg)
		}
	}
}

// bindSocket opens l (a stream{} UDP one too) with a duplicate of its
// descriptor to inherit.
func bindSocket(l *location.Listen) (*boundSocket, error) {
	var c io.Closer
	var fh *os.File
	var err error
	if l.UDP {
		var pc net.PacketConn
		if pc, err = server.ListenPacketSocket(l); err != nil {
			return nil, err
		}
		c = pc
		fh, err = pc.(interface{ File() (*os.File, error) }).File()
	} else {
		var ln net.Listener
		if ln, err = server.ListenSocket(l); err != nil {
			return nil, err
		}
		c = ln
		fh, err = ln.(interface{ File() (*os.File, error) }).File()
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return &boundSocket{ln: c, file: fh}, nil
}

func (m *master) closeSockets(addrs []string) {
	for _, a := range addrs {
		if s := m.socks[a]; s != nil {
			s.ln.Close()
			s.file.Close()
			delete(m.socks, a)
		}
	}
}

// spec is what a generation of workers for l inherits.
func (m *master) spec(l *loaded, logs *openLogs) *process.Spec {
	sp := &process.Spec{Workers: coreOf(l.cfg).workers}
	for _, ls := range l.rt.Listens() {
		sp.Names = append(sp.Names, listenName+ls.Key())
		sp.Files = append(sp.Files, m.socks[ls.Key()].file)
	}
	sp.Names = append(sp.Names, logs.names...)
	sp.Files = append(sp.Files, logs.files...)
	if m.counters != nil {
		sp.Names = append(sp.Names, countersName)
		sp.Files = append(sp.Files, m.counters)
	}
	m.addZones(sp, l.rt)
	return sp
}

// prepare binds and opens what l needs; undo closes what it opened.
func (m *master) prepare(l *loaded) (sp *process.Spec, logs *openLogs, undo func(), err error) {
	if isRoot() {
		id, err := process.ResolveUser(coreOf(l.cfg).user)
		if err != nil {
			return nil, nil, nil, err
		}
		// ngx_create_paths: the temporary file directories are made
		// (what fails shows when a file is made there, as nginx's crit
		// line), and they and the cache directories are the workers'.
		for _, path := range l.rt.TempPaths() {
			os.MkdirAll(filepath.Dir(path), 0o755)
			os.Mkdir(path, 0o700)
		}
		for _, path := range slices.Concat(l.rt.CachePaths(), l.rt.TempPaths(), l.cfg.Paths) {
			if fi, err := os.Stat(path); err == nil {
				if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != id.UID {
					if err := os.Chown(path, id.UID, -1); err != nil {
						return nil, nil, nil, fmt.Errorf("chown(\"%s\", %d) failed (%s)", path, id.UID, nginxconf.ErrnoText(err))
					}
				}
			}
		}
	}
	// ngx_init_cycle opens the log files first: the sockets' errors
	// are logged there.
	if logs, err = openLogFiles(m.f, l); err != nil {
		return nil, nil, nil, err
	}
	opened, err := m.bind(l.rt, m.cycleLog(l, logs))
	if err == nil {
		err = m.makeZones(l.rt)
	}
	if err != nil {
		m.closeSockets(opened)
		logs.close()
		return nil, nil, nil, err
	}
	sec := masterSecrets{Passwords: l.cfg.Passwords, TicketSeed: make([]byte, 32), Files: map[string][]byte{}}
	for _, f := range l.cfg.Files {
		sec.Files[f.Path] = f.Data
	}
	if _, err = rand.Read(sec.TicketSeed); err == nil {
		err = logs.addSecrets(sec)
	}
	if err != nil {
		logs.close()
		m.closeSockets(opened)
		return nil, nil, nil, err
	}
	return m.spec(l, logs), logs, func() { m.closeSockets(opened); logs.close() }, nil
}

// use makes the logs of l the current ones.
func (m *master) use(l *loaded, logs *openLogs) {
	m.cur = l
	m.log.SetLevel(coreOf(l.cfg).errorLevel)
	setMainLogs(m.log, l.cfg)
	if logs.errorLog != "" {
		m.log.SetOutput(logs.files[0])
		if !logsToStderr(l.cfg.Tree) {
			redirectStderr(logs.files[0])
		}
	} else {
		m.log.SetOutput(m.stderr)
	}
	if old := m.logs; old != nil {
		old.close()
	}
	m.logs = logs
}

// usePid writes the pid file of l, and removes one the last
// configuration named elsewhere.
func (m *master) usePid(l *loaded) error {
	np := pidFile(l.cfg)
	if np == m.pid {
		return nil
	}
	if err := writePid(np); err != nil {
		return err
	}
	if m.pid != "" {
		os.Remove(m.pid)
	}
	m.pid = np
	return nil
}

// keepOnly closes the sockets that rt no longer listens on.
func (m *master) keepOnly(rt *location.Router) {
	keep := map[string]bool{}
	for _, l := range rt.Listens() {
		keep[l.Key()] = true
	}
	var gone []string
	for a := range m.socks {
		if !keep[a] {
			gone = append(gone, a)
		}
	}
	m.closeSockets(gone)
}

// runMaster serves l with a master process and worker processes.
func runMaster(f *flags, l *loaded, stderr io.Writer, ready func()) int {
	m := &master{f: f, stderr: stderr, log: location.NewLogger(stderr), socks: map[string]*boundSocket{}}
	counters, err := newSharedCounters()
	if err != nil {
		fmt.Fprintf(stderr, "%s: [emerg] %s\n", progName, err)
		return 1
	}
	defer counters.Close()
	m.counters = counters
	m.adoptInherited(l.rt)
	sp, logs, _, err := m.prepare(l)
	if err != nil {
		if !errors.As(err, new(loggedError)) {
			fmt.Fprintf(stderr, "%s: [emerg] %s\n", progName, err)
		}
		m.closeSockets(m.addrs())
		return 1
	}
	m.use(l, logs)
	if len(l.rt.Unserved) > 0 {
		m.log.Log("warn", "directives validated but not served by gonginx: "+strings.Join(l.rt.Unserved, ", "))
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "%s: [emerg] %s\n", progName, err)
		return 1
	}
	logOSStatus(m.log.Log)
	pm := &process.Master{Log: m.log.Log, Exe: exe, Args: os.Args[1:], Daemonized: f.daemonized, Inherited: f.inherited != nil}
	pm.Hooks = process.Hooks{
		Reload:        m.reload,
		Reopen:        m.reopen,
		StopListening: func() { m.closeSockets(m.addrs()) },
		Upgrade:       func() (int, error) { return m.upgrade(exe) },
		UpgradeFailed: m.upgradeFailed,
	}
	// The pid file is written before the workers start, as nginx's
	// ngx_create_pidfile precedes its master cycle: whoever sees the
	// server answer finds it (a failed start removes it below).
	pm.Signals = process.CatchSignals()
	if err := m.usePid(l); err != nil {
		signal.Stop(pm.Signals)
		fmt.Fprintf(stderr, "%s: [emerg] %s\n", progName, err)
		m.closeSockets(m.addrs())
		return 1
	}
	code := pm.Run(sp, func() error {
		ready()
		return nil
	})
	m.closeSockets(m.addrs())
	if m.pid != "" {
		os.Remove(m.pid)
	}
	if code == 0 {
		m.log.Log("notice", "exit")
	}
	m.logs.close()
	return code
}

func (m *master) addrs() []string {
	var out []string
	for a := range m.socks {
		out = append(out, a)
	}
	return out
}

// reload is ngx_init_cycle on SIGHUP: load, bind, open; any error is
// logged as nginx logs it and leaves everything as it was.
func (m *master) reload() (*process.Spec, func(bool), error) {
	m.f.passwords = map[string][]string{} // a reload reads the files again, as nginx
	l := load(m.f)
	for _, w := range l.warns {
		m.log.Log("warn", w.Error())
	}
	if l.err != nil {
		if !silent(l.err) {
			m.log.Log(levelOf(l.err), l.err.Error())
		}
		return nil, nil, l.err
	}
	sp, logs, undo, err := m.prepare(l)
	if err != nil {
		if !errors.As(err, new(loggedError)) {
			m.log.Log("emerg", err.Error())
		}
		return nil, nil, err
	}
	// ngx_event_module_init, run by each ngx_init_cycle once its files
	// and sockets are open.
	m.log.Log("notice", eventMethodLine)
	return sp, func(ok bool) {
		if !ok {
			undo()
			return
		}
		m.use(l, logs)
		m.keepOnly(l.rt)
		if err := m.usePid(l); err != nil {
			m.log.Log("alert", err.Error())
		}
	}, nil
}

// reopen reopens the current generation's log files (SIGUSR1); the
// master passes the new descriptors to its workers.
func (m *master) reopen(sp *process.Spec) []int {
	var idx []int
	for i, name := range sp.Names {
		path, isAccess := strings.CutPrefix(name, accessLogName)
		if name == errorLogName {
			path = m.logs.errorLog
		} else if !isAccess {
			continue
		}
		fh, err := openLog(path)
		if err != nil {
			m.log.Log("alert", err.Error())
			continue
		}
		m.giveToUser(fh, path)
		for j, old := range m.logs.files {
			if old == sp.Files[i] {
				m.logs.files[j] = fh
			}
		}
		if name == errorLogName {
			m.log.SetOutput(fh)
		}
		sp.Files[i].Close()
		sp.Files[i] = fh
		idx = append(idx, i)
	}
	return idx
}

// redirectStderr points fd 2 at the error log, as ngx_log_redirect_stderr
// does once the log is open: what the runtime or a library prints lands
// there, and a detached master no longer holds the terminal or the pipe
// of whoever started it.
func redirectStderr(f *os.File) {
	syscall.Dup3(int(f.Fd()), 2, 0)
}

// giveToUser makes a reopened log file the workers' user's, as
// ngx_reopen_files does (nginx's workers reopen logs by name themselves;
// gonginx's get the descriptor, but the file's owner is the same).
func (m *master) giveToUser(fh *os.File, path string) {
	if !isRoot() {
		return
	}
	id, err := process.ResolveUser(coreOf(m.cur.cfg).user)
	if err != nil {
		return
	}
	fi, err := fh.Stat()
	if err != nil {
		return
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) != id.UID {
		if err := fh.Chown(id.UID, -1); err != nil {
			m.log.Log("emerg", fmt.Sprintf("chown(\"%s\", %d) failed (%s)", path, id.UID, nginxconf.ErrnoText(err)))
			return
		}
	}
	if mode := fi.Mode().Perm(); mode&0o600 != 0o600 {
		if err := fh.Chmod(mode | 0o600); err != nil {
			m.log.Log("alert", fmt.Sprintf("chmod() \"%s\" failed (%s)", path, nginxconf.ErrnoText(err)))
		}
	}
}

// writePid writes the master's pid. The directory of nginx's default
// logs/nginx.pid is created when missing (a config directory usually has
// no logs/); a "pid" directive's directory must exist, as in nginx.
func writePid(path string) error {
	if strings.HasSuffix(path, "/"+defaultPid) {
		os.MkdirAll(filepath.Dir(path), 0o755)
	}
	if err := os.WriteFile(path, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("open() \"%s\" failed (%s)", path, nginxconf.ErrnoText(err))
	}
	return nil
}

const eventMethodLine = `using the "epoll" event method`

// logOSStatus writes what nginx logs at start-up before its workers
// (the event method, then ngx_os_status: version, OS, descriptor limit),
// at notice level.
func logOSStatus(log func(level, msg string)) {
	log("notice", eventMethodLine)
	log("notice", "nginx/"+nginxRelease)
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		text := func(f []int8) string {
			b := make([]byte, 0, len(f))
			for _, c := range f {
				if c == 0 {
					break
				}
				b = append(b, byte(c))
			}
			return string(b)
		}
		log("notice", "OS: "+text(u.Sysname[:])+" "+text(u.Release[:]))
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		log("notice", fmt.Sprintf("getrlimit(RLIMIT_NOFILE): %d:%d", rl.Cur, rl.Max))
	}
}
