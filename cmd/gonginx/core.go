package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream"
)

// core is what ngx_core_module reads from the main context, with nginx's
// defaults: daemon on, master_process on, one worker, user nobody.
type core struct {
	daemon, master  bool
	workers         int
	user            []string      // arguments of "user"; nil when not set
	shutdownTimeout time.Duration // worker_shutdown_timeout; 0: none
	errorLevel      string        // level of the main error_log ("error")
	rlimitNofile    int64         // worker_rlimit_nofile; -1: not set
	rlimitCore      int64         // worker_rlimit_core; -1: not set
	workingDir      string        // working_directory
	priority        int           // worker_priority (nice); 0: unchanged
}

func coreOf(cfg *nginxconf.Config) core {
	c := core{daemon: true, master: true, workers: 1, errorLevel: "error", rlimitNofile: -1, rlimitCore: -1}
	if d, _ := mainErrorLogs(cfg); d != nil && len(d.Args) > 1 {
		c.errorLevel = d.Args[1]
	}
	for _, d := range cfg.Tree {
		switch {
		case d.Name == "daemon" && len(d.Args) == 1:
			c.daemon = d.Args[0] == "on"
		case d.Name == "master_process" && len(d.Args) == 1:
			c.master = d.Args[0] == "on"
		case d.Name == "worker_processes" && len(d.Args) == 1:
			if d.Args[0] == "auto" {
				// ngx_ncpu: the CPUs this process may run on.
				c.workers = runtime.NumCPU()
			} else if n, ok := nginxconf.ParseNumber(d.Args[0]); ok {
				c.workers = int(n)
			}
		case d.Name == "user":
			c.user = d.Args
		case d.Name == "worker_shutdown_timeout" && len(d.Args) == 1:
			if ms, ok := nginxconf.ParseTime(d.Args[0], false); ok {
				c.shutdownTimeout = time.Duration(ms) * time.Millisecond
			}
		case d.Name == "worker_rlimit_nofile" && len(d.Args) == 1:
			if n, ok := nginxconf.ParseNumber(d.Args[0]); ok {
				c.rlimitNofile = n
			}
		case d.Name == "worker_rlimit_core" && len(d.Args) == 1:
			if n, ok := nginxconf.ParseOffset(d.Args[0]); ok {
				c.rlimitCore = n
			}
		case d.Name == "worker_priority" && len(d.Args) == 1:
			v, neg := d.Args[0], false
			if v != "" && (v[0] == '-' || v[0] == '+') {
				v, neg = v[1:], v[0] == '-'
			}
			if n, ok := nginxconf.ParseNumber(v); ok {
				c.priority = int(n)
				if neg {
					c.priority = -c.priority
				}
			}
		case d.Name == "working_directory" && len(d.Args) == 1:
			c.workingDir = d.Args[0]
		}
	}
	return c
}

// defaultPid is nginx's NGX_PID_PATH, under the prefix.
const defaultPid = "logs/nginx.pid"

// pidFile is the "pid" directive's file, else nginx's default
// logs/nginx.pid under the prefix.
func pidFile(cfg *nginxconf.Config) string {
	for _, d := range cfg.Tree {
		if d.Name == "pid" && len(d.Args) == 1 {
			return cfg.PrefixPath(d.Args[0])
		}
	}
	return cfg.PrefixPath(defaultPid)
}

// isRoot is nginx's geteuid() == 0.
func isRoot() bool { return os.Geteuid() == 0 }

// workerConnections is events{}'s worker_connections (512 when not set).
func workerConnections(cfg *nginxconf.Config) int64 {
	n := int64(upstream.DefaultWorkerConnections)
	for _, d := range cfg.Tree {
		if d.Name != "events" {
			continue
		}
		for _, e := range d.Block {
			if e.Name == "worker_connections" && len(e.Args) == 1 {
				if v, ok := nginxconf.ParseNumber(e.Args[0]); ok {
					n = v
				}
			}
		}
	}
	return n
}

// rlimitWarning is ngx_event_module_init's check: worker_connections
// above the open file limit the workers will have (worker_rlimit_nofile,
// else this process's soft limit) is a warning, nil otherwise.
func rlimitWarning(cfg *nginxconf.Config) *nginxconf.Error {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return nil
	}
	n, set := workerConnections(cfg), coreOf(cfg).rlimitNofile
	if uint64(n) <= lim.Cur || (set >= 0 && n <= set) {
		return nil
	}
	limit := int64(lim.Cur)
	if set >= 0 {
		limit = set
	}
	return &nginxconf.Error{Msg: fmt.Sprintf("%d worker_connections exceed open file resource limit: %d", n, limit), Warn: true}
}
