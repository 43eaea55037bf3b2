package process

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// Spec is one generation of workers: how many, and the files each
// inherits from fd 4 on, with the names the worker finds them by.
type Spec struct {
	Workers int
	Names   []string
	Files   []*os.File
	Env     []string // more environment for the workers ("NAME=value")
}

// Hooks are what the master asks of the configuration side.
type Hooks struct {
	// Reload loads the configuration again (SIGHUP) and returns the next
	// generation's spec; it logs its own errors. commit is called with
	// true once every new worker is ready (the old generation is then
	// told to quit), with false when one failed (nothing changes).
	Reload func() (spec *Spec, commit func(ok bool), err error)
	// Reopen reopens the log files of spec in place (SIGUSR1) and returns
	// the indexes of spec.Files it replaced, to be passed to the workers.
	Reopen func(spec *Spec) []int
	// StopListening closes the master's listening sockets (SIGQUIT).
	StopListening func()
	// Upgrade starts a new binary as a new master on the listening
	// sockets (SIGUSR2) and returns its pid; UpgradeFailed undoes what
	// Upgrade did to the pid file once that process has exited.
	Upgrade       func() (pid int, err error)
	UpgradeFailed func()
}

// Master is nginx's master process cycle.
type Master struct {
	Log   func(level, msg string)
	Exe   string   // the binary workers run (this one)
	Args  []string // the master's arguments, which workers reload with
	Hooks Hooks
	// ReadyTimeout bounds how long a worker may take to load and report
	// ready (keys, regexes and maps of a large configuration).
	ReadyTimeout time.Duration
	// Daemonized: SIGWINCH stops the workers only of a daemon, as nginx's.
	Daemonized bool
	// Inherited: this master was started by an old one's SIGUSR2; while
	// that one runs, SIGUSR2 is ignored here.
	Inherited bool

	parent      int  // parent pid at start (the old master when Inherited)
	newBinary   int  // pid of the new master SIGUSR2 started (0: none)
	noAccepting bool // SIGWINCH stopped the workers

	// Signals, when set, is CatchSignals' channel, made before the pid
	// file; nil: Run catches them itself.
	Signals chan os.Signal

	gen   *generation
	procs map[int]*worker // every worker not reaped yet, by pid
}

type generation struct {
	spec    *Spec
	workers map[int]*worker
	dead    []int // slots of workers to respawn
}

type worker struct {
	pid     int
	slot    int
	gen     *generation
	ctl     *net.UnixConn
	exiting bool // told to quit or terminate: not respawned
	ready   bool // reported ready: it served, so its death is respawned
}

// CatchSignals starts catching the master's signals, which wait in the
// channel until Run reads them. The caller does it before it writes the
// pid file (and gives the channel to Run as Master.Signals), as nginx's
// ngx_init_signals precedes its pid file: a signal sent as soon as the
// file exists must not meet Go's default action (SIGQUIT dumps the
// goroutines and exits 2).
func CatchSignals() chan os.Signal {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD,
		syscall.SIGUSR2, syscall.SIGWINCH)
	return sigs
}

// Run starts spec's workers and runs the master cycle until the workers
// are gone after SIGQUIT, SIGTERM or SIGINT. ready is called once the
// first workers serve (the caller writes the pid file then); an error
// from it stops them and the master. It returns the process exit code.
func (m *Master) Run(spec *Spec, ready func() error) int {
	m.procs = map[int]*worker{}
	m.parent = os.Getppid()
	if m.ReadyTimeout == 0 {
		m.ReadyTimeout = time.Minute
	}
	sigs := m.Signals
	if sigs == nil {
		sigs = CatchSignals()
	}
	defer signal.Stop(sigs)
	m.Log("notice", "start worker processes")
	gen, err := m.startGeneration(spec)
	if err != nil {
		m.Log("emerg", err.Error())
		m.waitAll()
		return 1
	}
	m.gen = gen
	if err := ready(); err != nil {
		m.Log("emerg", err.Error())
		m.commandAll(cmdTerminate)
		m.waitAll()
		return 1
	}
	var quitting, terminating bool
	var killTimer <-chan time.Time
	delay := 50 * time.Millisecond
	for {
		if (quitting || terminating) && len(m.procs) == 0 {
			return 0
		}
		select {
		case <-killTimer:
			// ngx_master_process_cycle: TERM again, doubling the wait,
			// and KILL once it passes a second.
			delay *= 2
			if delay > time.Second {
				m.signalAll(syscall.SIGKILL)
			} else {
				m.signalAll(syscall.SIGTERM)
			}
			killTimer = time.After(delay)
		case s := <-sigs:
			sig := s.(syscall.Signal)
			switch sig {
			case syscall.SIGCHLD:
				// nginx names the sender, the child whose end raised it.
				m.reap(func(pid int) { m.logSignalFrom(sig, pid, "") })
				if !quitting && !terminating && !m.noAccepting {
					m.respawn()
				}
			case syscall.SIGTERM, syscall.SIGINT:
				m.logSignal(sig, ", exiting")
				if !terminating {
					terminating = true
					m.commandAll(cmdTerminate)
					killTimer = time.After(delay)
				}
			case syscall.SIGQUIT:
				m.logSignal(sig, ", shutting down")
				if !quitting && !terminating {
					quitting = true
					m.commandAll(cmdQuit)
					m.Hooks.StopListening()
				}
			case syscall.SIGHUP:
				if m.noAccepting {
					// ngx_noaccepting: workers start again on the same
					// configuration (the new binary is being given up).
					m.logSignal(sig, ", reconfiguring")
					if !quitting && !terminating {
						m.restart()
					}
					break
				}
				m.logSignal(sig, ", reconfiguring")
				if !quitting && !terminating {
					m.reload()
				}
			case syscall.SIGUSR1:
				m.logSignal(sig, ", reopening logs")
				if !quitting && !terminating {
					m.reopen()
				}
			case syscall.SIGUSR2:
				// ngx_signal_handler: no second upgrade while one runs, nor
				// in a new binary whose old master still runs.
				if m.newBinary > 0 || (m.Inherited && os.Getppid() == m.parent) {
					m.logSignal(sig, ", ignoring")
					break
				}
				m.logSignal(sig, ", changing binary")
				if !quitting && !terminating {
					m.upgrade()
				}
			case syscall.SIGWINCH:
				if !m.Daemonized {
					m.logSignal(sig, "")
					break
				}
				m.logSignal(sig, ", stop accepting connections")
				if !quitting && !terminating && !m.noAccepting {
					m.noAccepting = true
					m.Log("notice", "gracefully shutting down worker processes")
					for _, w := range m.gen.workers {
						w.exiting = true
						m.command(w, cmdQuit)
					}
				}
			}
		}
	}
}

// logSignal logs a signal as ngx_signal_handler does. Go's os/signal does
// not tell the sender's pid (the runtime keeps the siginfo), so nginx's
// "from PID" is left out but for SIGCHLD (logSignalFrom).
func (m *Master) logSignal(sig syscall.Signal, action string) {
	m.logSignalFrom(sig, 0, action)
}

// logSignalFrom is logSignal naming the sender when pid is not 0.
func (m *Master) logSignalFrom(sig syscall.Signal, pid int, action string) {
	name := map[syscall.Signal]string{syscall.SIGHUP: "SIGHUP", syscall.SIGUSR1: "SIGUSR1", syscall.SIGQUIT: "SIGQUIT",
		syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGCHLD: "SIGCHLD", syscall.SIGUSR2: "SIGUSR2",
		syscall.SIGWINCH: "SIGWINCH"}[sig]
	from := ""
	if pid > 0 {
		from = " from " + strconv.Itoa(pid)
	}
	m.Log("notice", fmt.Sprintf("signal %d (%s) received%s%s", int(sig), name, from, action))
}

// startGeneration starts spec.Workers workers and waits until each is
// ready; on failure the ones started are stopped and an error returned.
func (m *Master) startGeneration(spec *Spec) (*generation, error) {
	g := &generation{spec: spec, workers: map[int]*worker{}}
	var err error
	for slot := 0; slot < max(spec.Workers, 1) && err == nil; slot++ {
		_, err = m.startWorker(g, slot)
	}
	if err == nil {
		for _, w := range slices.Collect(maps.Values(g.workers)) {
			if _, err = m.readyOrRespawn(g, w); err != nil {
				break
			}
		}
	}
	if err != nil {
		m.discard(g)
		return nil, err
	}
	// Only now do the workers accept: a generation serves whole or not at all.
	for _, w := range g.workers {
		m.command(w, msgGo)
	}
	return g, nil
}

// discard stops the workers of a generation that never served: each one
// exits when it finds its channel closed instead of told to go.
func (m *Master) discard(g *generation) {
	for _, w := range g.workers {
		w.exiting = true
		w.ctl.Close()
	}
}

// waitAll reaps every worker left, blocking (start-up failed).
func (m *Master) waitAll() {
	for pid := range m.procs {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
		delete(m.procs, pid)
	}
}

func (m *Master) startWorker(g *generation, slot int) (*worker, error) {
	ctl, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	fds := []uintptr{0, 1, 2}
	for _, f := range append([]*os.File{theirs}, g.spec.Files...) {
		fd, err := rawFd(f)
		if err != nil {
			ctl.Close()
			return nil, err
		}
		fds = append(fds, fd)
	}
	env := slices.DeleteFunc(os.Environ(), func(s string) bool { return strings.HasPrefix(s, workerEnv+"=") })
	env = append(env, g.spec.Env...)
	env = append(env, workerEnv+"="+strconv.Itoa(slot)+"\n"+strings.Join(g.spec.Names, "\n"))
	// argv[0] names the process in ps, as nginx's "worker process" title.
	argv := append([]string{"gonginx: worker process"}, m.Args...)
	// syscall.ForkExec with raw descriptors: os.StartProcess would call
	// File.Fd, which puts a socket in blocking mode, and O_NONBLOCK belongs
	// to the open file that every worker shares with the master, so the
	// running workers' accept() would block where Close cannot reach it.
	// The master reaps with wait4 on SIGCHLD: no goroutine waits per worker.
	pid, err := syscall.ForkExec(m.Exe, argv, &syscall.ProcAttr{Env: env, Files: fds})
	runtime.KeepAlive(theirs)
	runtime.KeepAlive(g.spec.Files)
	if err != nil {
		ctl.Close()
		return nil, fmt.Errorf("could not respawn worker process (%s)", nginxconf.ErrnoText(err))
	}
	w := &worker{pid: pid, slot: slot, gen: g, ctl: ctl}
	g.workers[w.pid] = w
	m.procs[w.pid] = w
	m.Log("notice", "start worker process "+strconv.Itoa(w.pid))
	return w, nil
}

// waitReady reads the worker's one-byte report. A worker that fails logs
// why itself and exits, which closes its end.
func (m *Master) waitReady(w *worker) error {
	w.ctl.SetReadDeadline(time.Now().Add(m.ReadyTimeout))
	defer w.ctl.SetReadDeadline(time.Time{})
	var b [1]byte
	n, err := w.ctl.Read(b[:])
	if n == 1 && b[0] == msgReady {
		w.ready = true
		return nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		syscall.Kill(w.pid, syscall.SIGKILL)
		return readyTimeout{w.pid, m.ReadyTimeout}
	}
	return fmt.Errorf("worker process %d failed to start", w.pid)
}

// maxEarlyRespawns bounds the replacements of one slot's workers killed
// before they reported ready: a worker that crashes at every start must
// not hold the master in its start-up for ever.
const maxEarlyRespawns = 8

// readyOrRespawn waits for w's report. A worker that a signal ended before
// it reported is replaced in its slot, as nginx's master respawns a
// worker a signal ended however early (its workers report nothing: it
// forks them and goes on); one that exited by itself failed to start.
// It returns the worker that reported, or the last one started.
func (m *Master) readyOrRespawn(g *generation, w *worker) (*worker, error) {
	for tries := 0; ; tries++ {
		err := m.waitReady(w)
		if err == nil {
			return w, nil
		}
		var late readyTimeout
		if errors.As(err, &late) || !m.reapEarly(w) || tries == maxEarlyRespawns {
			return w, err
		}
		if w, err = m.startWorker(g, w.slot); err != nil {
			return nil, err
		}
	}
}

// reapEarly reaps a worker whose channel closed before it reported and
// logs its end as reap does; it says whether a signal ended it. The
// channel closes as the worker exits: its status is waited for briefly.
func (m *Master) reapEarly(w *worker) (signaled bool) {
	for range 400 {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(w.pid, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return false
		}
		if pid == w.pid {
			delete(m.procs, w.pid)
			delete(w.gen.workers, w.pid)
			w.ctl.Close()
			m.logExit("worker process", w.pid, ws)
			return ws.Signaled()
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// logExit logs a child's end as ngx_process_get_status.
func (m *Master) logExit(name string, pid int, ws syscall.WaitStatus) {
	if ws.Signaled() {
		core := ""
		if ws.CoreDump() {
			core = " (core dumped)"
		}
		m.Log("alert", fmt.Sprintf("%s %d exited on signal %d%s", name, pid, int(ws.Signal()), core))
		return
	}
	m.Log("notice", fmt.Sprintf("%s %d exited with code %d", name, pid, ws.ExitStatus()))
}

// readyTimeout is a worker that did not report within ReadyTimeout (and
// was killed for it).
type readyTimeout struct {
	pid int
	d   time.Duration
}

func (e readyTimeout) Error() string {
	return fmt.Sprintf("worker process %d did not start in %s", e.pid, e.d)
}

// reap collects every exited worker and logs it as ngx_process_get_status.
// announce is called once before anything is logged, with the first
// child collected (0 if none was).
func (m *Master) reap(announce func(pid int)) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if announce != nil {
			announce(max(pid, 0))
			announce = nil
		}
		if pid <= 0 {
			return
		}
		name := "unknown process"
		w := m.procs[pid]
		if pid == m.newBinary {
			name = "new binary process"
		}
		if w != nil {
			name = "worker process"
			delete(m.procs, pid)
			delete(w.gen.workers, pid)
			w.ctl.Close()
		}
		m.logExit(name, pid, ws)
		if pid == m.newBinary {
			// The new binary is gone: this master is the one again, and
			// workers stopped by SIGWINCH start again.
			m.newBinary = 0
			if m.Hooks.UpgradeFailed != nil {
				m.Hooks.UpgradeFailed()
			}
			if m.noAccepting {
				m.restart()
			}
		}
		// A worker that exited before serving is not respawned: its init
		// failed (nginx's "exited with fatal code 2", the code our
		// workers' init failures use too; a Go worker that panics while
		// serving also exits with 2, and that one is respawned). A worker
		// killed by a signal is respawned however early it came, as
		// nginx's.
		fatal := !ws.Signaled() && w != nil && !w.ready
		if fatal && ws.ExitStatus() == 2 && !w.exiting && w.gen == m.gen {
			m.Log("alert", fmt.Sprintf("%s %d exited with fatal code 2 and cannot be respawned", name, pid))
		}
		if w == nil || w.exiting || fatal || w.gen != m.gen {
			continue
		}
		w.gen.dead = append(w.gen.dead, w.slot)
	}
}

// respawn replaces the current generation's workers that died.
func (m *Master) respawn() {
	g := m.gen
	for len(g.dead) > 0 {
		slot := g.dead[0]
		g.dead = g.dead[1:]
		w, err := m.startWorker(g, slot)
		if err != nil {
			m.Log("alert", err.Error())
			continue
		}
		if w, err = m.readyOrRespawn(g, w); err != nil {
			if w != nil {
				w.exiting = true
				w.ctl.Close()
			}
			m.Log("alert", err.Error())
			continue
		}
		m.command(w, msgGo)
	}
}

// upgrade starts the new binary (SIGUSR2).
func (m *Master) upgrade() {
	if m.Hooks.Upgrade == nil {
		return
	}
	pid, err := m.Hooks.Upgrade()
	if err != nil {
		m.Log("alert", err.Error())
		return
	}
	m.newBinary = pid
	m.Log("notice", "start new binary process "+strconv.Itoa(pid))
}

// restart starts workers on the current configuration again after
// SIGWINCH stopped them.
func (m *Master) restart() {
	m.noAccepting = false
	m.Log("notice", "start worker processes")
	g, err := m.startGeneration(m.gen.spec)
	if err != nil {
		m.Log("alert", err.Error())
		return
	}
	m.gen = g
}

// reload is the SIGHUP branch of ngx_master_process_cycle, except that
// the old workers are told to quit only once all new ones serve.
func (m *Master) reload() {
	m.Log("notice", "reconfiguring")
	spec, commit, err := m.Hooks.Reload()
	if err != nil {
		return
	}
	m.Log("notice", "start worker processes")
	g, err := m.startGeneration(spec)
	if err != nil {
		m.Log("alert", err.Error())
		commit(false)
		return
	}
	old := m.gen
	m.gen = g
	for _, w := range old.workers {
		w.exiting = true
		m.command(w, cmdQuit)
	}
	commit(true)
}

func (m *Master) reopen() {
	m.Log("notice", "reopening logs")
	idx := m.Hooks.Reopen(m.gen.spec)
	if len(idx) == 0 {
		return
	}
	names := make([]string, len(idx))
	files := make([]*os.File, len(idx))
	for i, j := range idx {
		names[i], files[i] = m.gen.spec.Names[j], m.gen.spec.Files[j]
	}
	for _, w := range m.gen.workers {
		if err := sendFiles(w.ctl, cmdReopen, names, files); err != nil {
			m.Log("alert", fmt.Sprintf("sendmsg() to worker process %d failed (%s)", w.pid, nginxconf.ErrnoText(err)))
		}
	}
}

// commandAll tells every worker, of every generation, to quit or stop.
func (m *Master) commandAll(cmd byte) {
	for _, w := range m.procs {
		w.exiting = true
		m.command(w, cmd)
	}
}

// command writes cmd on the worker's channel, falling back to the signal
// nginx sends, as ngx_signal_worker_processes does.
func (m *Master) command(w *worker, cmd byte) {
	if _, err := w.ctl.Write([]byte{cmd}); err == nil || cmd == msgGo {
		return
	}
	sig := syscall.SIGQUIT
	if cmd == cmdTerminate {
		sig = syscall.SIGTERM
	}
	if err := syscall.Kill(w.pid, sig); err != nil && err != syscall.ESRCH {
		m.Log("alert", fmt.Sprintf("kill(%d, %d) failed (%s)", w.pid, int(sig), nginxconf.ErrnoText(err)))
	}
}

func (m *Master) signalAll(sig syscall.Signal) {
	for pid := range m.procs {
		if err := syscall.Kill(pid, sig); err != nil && err != syscall.ESRCH {
			m.Log("alert", fmt.Sprintf("kill(%d, %d) failed (%s)", pid, int(sig), nginxconf.ErrnoText(err)))
		}
	}
}
