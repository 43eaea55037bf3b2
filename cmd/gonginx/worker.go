package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/location/process"
	"github.com/gonginx/gonginx/location/server"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream"
)

// runWorker is a worker process: it loads the configuration as its
// master did (still as root, so it can read keys readable by root only),
// serves on the sockets it inherited, writes to the log files it
// inherited, and drops to "user" before it accepts a connection.
func runWorker(f *flags, w *process.Worker, stderr io.Writer) int {
	logger := location.NewLogger(stderr)
	if fh := w.Files[errorLogName]; fh != nil {
		logger.SetOutput(fh)
	}
	f.passwords = map[string][]string{}
	if fh := w.Files[secretsName]; fh != nil {
		var sec masterSecrets
		data, err := io.ReadAll(io.NewSectionReader(fh, 0, 1<<24))
		if err == nil {
			err = json.Unmarshal(data, &sec)
		}
		fh.Close()
		delete(w.Files, secretsName)
		if err != nil {
			logger.Log("emerg", "the master's secrets: "+err.Error())
			return 1
		}
		if sec.Passwords != nil {
			f.passwords = sec.Passwords
		}
		f.ticketSeed = sec.TicketSeed
		f.files = sec.Files
	}
	// The zones first: the configuration finds them by name and size.
	if err := adoptZones(w.Files); err != nil {
		logger.Log("emerg", err.Error())
		return 2
	}
	l := load(f)
	if l.err != nil {
		if !silent(l.err) {
			logger.Log(levelOf(l.err), l.err.Error())
		}
		return 1
	}
	c := coreOf(l.cfg)
	shareCPUs(c.workers)
	paceGC()
	logger.SetLevel(c.errorLevel)
	setMainLogs(logger, l.cfg)
	listeners := map[string]net.Listener{}
	packetConns := map[string]net.PacketConn{}
	for name, fh := range w.Files {
		if path, ok := strings.CutPrefix(name, accessLogName); ok {
			logger.Adopt(path, fh)
		}
		if addr, ok := strings.CutPrefix(name, listenName); ok {
			var err error
			if strings.HasSuffix(addr, " udp") {
				var pc net.PacketConn
				if pc, err = net.FilePacketConn(fh); err == nil {
					packetConns[addr] = pc
				}
			} else {
				var ln net.Listener
				if ln, err = server.FileListener(fh); err == nil {
					listeners[addr] = ln
				}
			}
			fh.Close()
			if err != nil {
				logger.Log("emerg", fmt.Sprintf("inherited socket %s: %v", addr, err))
				return 1
			}
		}
	}
	var counters *server.Counters
	if fh := w.Files[countersName]; fh != nil {
		delete(w.Files, countersName)
		var err error
		if counters, err = mapSharedCounters(fh); err != nil {
			logger.Log("emerg", err.Error())
			return 2
		}
	}
	// The master's seed: every worker derives the same session ticket
	// keys, so a session made by one resumes on another.
	opts := compileOptions(true)
	opts.TicketSeed = f.ticketSeed
	srv, err := server.Start(l.cfg, server.StartOptions{Counters: counters, Compile: opts, Logger: logger, Channel: true,
		Listeners: listeners, PacketConns: packetConns, InheritedOnly: true, Hold: true})
	if err != nil {
		logger.Log("emerg", err.Error())
		return 1
	}
	// ngx_worker_process_init: the configuration, keys and files are
	// loaded; switch to "user" before the first accept. Exit code 2 is
	// nginx's fatal code for it (the master respawns no worker that exits
	// before it is ready, whatever its code; one killed by a signal is).
	suffix := ""
	if w.Slot > 0 {
		suffix = "." + strconv.Itoa(w.Slot)
	}
	defer startProfile(stderr, suffix)() // created while still root
	setLimits(c, logger)
	if isRoot() {
		id, err := process.ResolveUser(c.user)
		if err == nil {
			err = id.Drop()
		}
		if err != nil {
			logger.Log("emerg", err.Error())
			srv.Close()
			return 2
		}
	}
	if c.workingDir != "" {
		if err := os.Chdir(c.workingDir); err != nil {
			logger.Log("alert", fmt.Sprintf("chdir(%q) failed (%s)", c.workingDir, nginxconf.ErrnoText(err)))
			srv.Close()
			return 2
		}
	}
	sigs := make(chan os.Signal, 4)
	// HUP and USR2 are the master's to act on; a worker ignores them, as nginx's does.
	signal.Notify(sigs, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	if err := w.Ready(); err != nil {
		srv.Close()
		return 1
	}
	srv.Serve()
	cmds := w.Commands()
	// shutDown is closed when a graceful stop has ended; meanwhile the
	// worker still takes signals and commands, as nginx's exiting worker
	// does: a fast stop then ends it at once.
	var shutDown chan struct{}
	for {
		var cmd process.Command
		select {
		case <-shutDown:
			logger.Log("notice", "exiting")
			logger.Log("notice", "exit")
			return 0
		case s := <-sigs:
			cmd = signalCommand(s, logger)
		case cmd = <-cmds:
			if cmd.Quit && pendingTerminate(sigs, logger) {
				cmd = process.Command{Terminate: true}
			}
		}
		switch {
		case cmd.Terminate:
			logger.Log("notice", "exiting")
			if shutDown != nil {
				alertOpenConns(logger, srv, len(listeners)+len(packetConns)+1)
			}
			srv.Terminate()
			logger.Log("notice", "exit")
			return 0
		case cmd.Quit:
			logger.Log("notice", "gracefully shutting down")
			if shutDown == nil {
				shutDown = make(chan struct{})
				go func() { shutdown(srv, c.shutdownTimeout); close(shutDown) }()
			}
		case cmd.Reopen != nil:
			logger.Log("notice", "reopening logs")
			for name, fh := range cmd.Reopen {
				if path, ok := strings.CutPrefix(name, accessLogName); ok {
					logger.Adopt(path, fh)
				} else if name == errorLogName {
					logger.SetOutput(fh)
					if old := w.Files[errorLogName]; old != nil {
						old.Close()
					}
					w.Files[errorLogName] = fh
				}
			}
		}
	}
}

// alertOpenConns is ngx_worker_process_exit's look at a worker stopped
// while it shut down gracefully: each client or backend connection still
// open is an alert, then "aborting". nginx names a connection's slot in
// its connections array; ours are counted, not placed, so the slot here
// is the listed ones' order after the first free one, base (the
// listening sockets and the channel take the first): nginx's, unless a
// slot freed before was reused.
func alertOpenConns(logger *location.Logger, srv *server.Server, base int) {
	open := srv.OpenConns()
	if len(open) == 0 {
		return
	}
	slices.SortFunc(open, func(a, b upstream.OpenConn) int { return cmp.Compare(a.Number, b.Number) })
	for i, c := range open {
		logger.Log("alert", fmt.Sprintf("*%d open socket #%d left in connection %d", c.Number, c.FD, base+i))
	}
	logger.Log("alert", "aborting")
}

// shareCPUs gives each of the workers its part of the CPUs gonginx may
// run on (at least one): an nginx worker is one thread, so
// worker_processes auto runs one worker per CPU. Go's default would let
// every worker run on all of them, and the runtime then spends its time
// waking idle threads (futex) and polling from several at once to
// spread one worker's goroutines, for no more throughput when the other
// workers keep the CPUs busy. GOMAXPROCS in the environment wins.
func shareCPUs(workers int) {
	if os.Getenv("GOMAXPROCS") != "" || workers < 1 {
		return
	}
	runtime.GOMAXPROCS(procsPerWorker(runtime.GOMAXPROCS(0), workers))
}

// procsPerWorker divides cpus among workers, at least one each.
func procsPerWorker(cpus, workers int) int {
	return max(1, cpus/workers)
}

// setLimits applies worker_rlimit_nofile and worker_rlimit_core as
// ngx_worker_process_init does, soft and hard limit alike, before the
// worker drops its privileges (a lower user could not raise them).
func setLimits(c core, logger *location.Logger) {
	if c.priority != 0 {
		setPriority(c.priority, logger)
	}
	for _, l := range []struct {
		res  int
		name string
		v    int64
	}{{syscall.RLIMIT_NOFILE, "RLIMIT_NOFILE", c.rlimitNofile}, {syscall.RLIMIT_CORE, "RLIMIT_CORE", c.rlimitCore}} {
		if l.v < 0 {
			continue
		}
		lim := &syscall.Rlimit{Cur: uint64(l.v), Max: uint64(l.v)}
		if err := syscall.Setrlimit(l.res, lim); err != nil {
			logger.Log("alert", fmt.Sprintf("setrlimit(%s, %d) failed (%s)", l.name, l.v, nginxconf.ErrnoText(err)))
		}
	}
}

// setPriority is worker_priority's setpriority(PRIO_PROCESS, 0, n). On
// Linux a nice value belongs to a thread and a new thread takes its
// creator's, so every thread of the worker is set, again until no new one
// appeared.
func setPriority(prio int, logger *location.Logger) {
	done := map[int]bool{}
	for pass := 0; pass < 5; pass++ {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			break
		}
		fresh := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || done[tid] {
				continue
			}
			fresh, done[tid] = true, true
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, prio); err != nil {
				logger.Log("alert", fmt.Sprintf("setpriority(%d) failed (%s)", prio, nginxconf.ErrnoText(err)))
				return
			}
		}
		if !fresh {
			break
		}
	}
}

// pendingTerminate reports whether a fast stop sent to the worker itself
// is on its way as its master passes a QUIT on: the signal came first
// (a TERM, then the master's QUIT) and wins, as nginx's worker checks
// ngx_terminate before ngx_quit, but through the runtime's signal loop
// it may reach sigs after the master's command. It waits up to ~10 ms
// for it, only at a graceful stop.
func pendingTerminate(sigs <-chan os.Signal, logger *location.Logger) bool {
	for i := 0; i < 10; i++ {
		runtime.Gosched()
		select {
		case s := <-sigs:
			if signalCommand(s, logger).Terminate {
				return true
			}
		default:
			time.Sleep(time.Millisecond)
		}
	}
	return false
}

// signalCommand is what a signal sent to the worker itself asks; SIGUSR1
// reopens the logs by path at once, as nginx's worker does (it may lack
// the right to).
func signalCommand(s os.Signal, logger *location.Logger) process.Command {
	var cmd process.Command
	switch s {
	case syscall.SIGQUIT:
		cmd.Quit = true
	case syscall.SIGTERM, syscall.SIGINT:
		cmd.Terminate = true
	case syscall.SIGUSR1:
		logger.Log("notice", "reopening logs")
		logger.Reopen()
	}
	return cmd
}
