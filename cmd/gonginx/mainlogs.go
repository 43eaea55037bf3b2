package main

import (
	"strings"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
)

// mainErrorLogs reads the main context's error_log lines as nginx
// chains them (every line goes to each log whose level takes it): the
// first file or stderr is the log a process's stderr goes to; the others,
// syslog destinations and more files, are written beside it. Lines of the
// configuration replace -e's log, as in ngx_init_cycle.
func mainErrorLogs(cfg *nginxconf.Config) (first *nginxconf.Directive, others []location.MainLog) {
	for _, d := range cfg.Tree {
		if d.Name != "error_log" || len(d.Args) == 0 || strings.HasPrefix(d.Args[0], "memory:") {
			continue
		}
		if first == nil && !strings.HasPrefix(d.Args[0], "syslog:") {
			first = d
			continue
		}
		m := location.MainLog{Dest: d.Args[0]}
		if len(d.Args) > 1 {
			m.Level = d.Args[1]
		}
		if m.Dest != "stderr" && !strings.HasPrefix(m.Dest, "syslog:") {
			m.Dest = cfg.PrefixPath(m.Dest)
		}
		others = append(others, m)
	}
	return first, others
}

// otherLogFiles are the files among the main context's other error logs,
// which a master opens for its workers with the access logs.
func otherLogFiles(cfg *nginxconf.Config) []string {
	_, others := mainErrorLogs(cfg)
	var paths []string
	for _, m := range others {
		if m.Dest != "stderr" && !strings.HasPrefix(m.Dest, "syslog:") {
			paths = append(paths, m.Dest)
		}
	}
	return paths
}

// setMainLogs gives logger the main context's other error logs; a bad
// syslog destination was refused by -t's checks already, so an error
// here is logged, not fatal.
func setMainLogs(logger *location.Logger, cfg *nginxconf.Config) {
	_, others := mainErrorLogs(cfg)
	if err := logger.SetMainLogs(others); err != nil {
		logger.Log("emerg", err.Error())
	}
}

// logsToStderr reports whether an error_log anywhere in the tree writes
// to stderr: nginx then leaves fd 2 alone instead of pointing it at the
// error log (ngx_log_redirect_stderr and cycle->log_use_stderr).
func logsToStderr(tree []*nginxconf.Directive) bool {
	for _, d := range tree {
		if d.Name == "error_log" && len(d.Args) > 0 && d.Args[0] == "stderr" {
			return true
		}
		if logsToStderr(d.Block) {
			return true
		}
	}
	return false
}
