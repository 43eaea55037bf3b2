package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
)

// cmdLog is the log of -e as nginx's ngx_log_init opens it, before any
// configuration is read: -t and -s create the file too, and the lines
// nginx logs there (-s's "signal process started", -t's warnings and
// its error) go to it besides the "gonginx: [level] ..." line on stderr
// that nginx writes for a warning or worse. "-e stderr" gets those lines
// in the log's own form instead, as nginx writes no second copy when its
// log is stderr. Without -e, gonginx keeps its one stderr line (nginx's
// compiled-in default log, Debian's "stderr", is not assumed).
type cmdLog struct {
	stderr   io.Writer
	file     *os.File
	logger   *location.Logger // of file, or of stderr for "-e stderr"
	toStderr bool
}

// openCmdLog opens -e's file, relative to the prefix (cfg's when read,
// else -p's, else the working directory).
func openCmdLog(f *flags, cfg *nginxconf.Config, stderr io.Writer) *cmdLog {
	c := &cmdLog{stderr: stderr}
	switch {
	case f.errLog == "":
	case f.errLog == "stderr":
		c.toStderr = true
		c.logger = location.NewLogger(stderr)
	default:
		path := f.errLog
		switch {
		case cfg != nil:
			path = cfg.PrefixPath(path)
		case f.prefix != "" && !strings.HasPrefix(path, "/"):
			path = filepath.Join(f.prefix, path)
		}
		fh, err := openLog(path)
		if err != nil {
			// ngx_log_init: the file cannot be opened, stderr is used.
			fmt.Fprintf(stderr, "%s: [alert] could not open error log file: %s\n", progName, err)
			c.toStderr, c.logger = true, location.NewLogger(stderr)
			return c
		}
		c.file, c.logger = fh, location.NewLogger(fh)
	}
	return c
}

// log writes one line at level as nginx's ngx_log_error does with the
// command's log.
func (c *cmdLog) log(level, msg string) {
	if !c.toStderr && levelRank(level) <= levelRank("warn") {
		fmt.Fprintf(c.stderr, "%s: [%s] %s\n", progName, level, msg)
	}
	c.logger.Log(level, msg)
}

func (c *cmdLog) close() {
	if c.file != nil {
		c.file.Close()
	}
}

// levelRank orders nginx's levels, emerg first.
func levelRank(level string) int {
	for i, l := range []string{"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"} {
		if l == level {
			return i
		}
	}
	return 8
}
