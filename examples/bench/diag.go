package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// A run whose clients met an error (a connection closed with no
// response, a status other than 200) is reported with what the server
// and php-fpm logged meanwhile, and a failed row keeps the server's
// directory (its error.log, and stderr.log with a worker's panic trace):
// one such failure in many runs is diagnosable after the fact.

// logTail reads a log on from where its last read ended.
type logTail struct {
	path string
	off  int64
}

// next is what was written to the log since the last call.
func (t *logTail) next() string {
	f, err := os.Open(t.path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(t.off, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	t.off += int64(len(b))
	return string(b)
}

// alarming keeps a log's lines that tell of trouble: every level above
// notice, and notice's lines on workers that exited (a Go worker's
// panic exits with code 2, logged at notice as nginx logs an exit code;
// not nginx's cache loader's own end);
// info's (-errlog info) but for the clients' closing of their kept
// connections at a run's end (and the start's probe's, before a request)
// and nginx's interrupted epoll_wait (strace attaching, -syscalls). Lines without a level (a panic's trace)
// are all kept.
func alarming(log string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimRight(log, "\n"), "\n") {
		quiet := line == "" || strings.Contains(line, "[debug]") ||
			strings.Contains(line, "[info]") && (strings.Contains(line, "closed keepalive connection") ||
				strings.Contains(line, "closed connection while waiting for request") ||
				// nginx's epoll_wait when -syscalls' strace attaches.
				strings.Contains(line, "Interrupted system call")) ||
			strings.Contains(line, "[notice]") && (!strings.Contains(line, "exited") ||
				// nginx's cache loader ends by itself a minute in.
				strings.Contains(line, "cache loader process") && strings.HasSuffix(line, "exited with code 0")) ||
			// php-fpm's own start and stop.
			strings.Contains(line, "NOTICE:")
		if !quiet {
			out = append(out, line)
		}
	}
	return out
}

// startLines are the lines each server's first start logged, without
// their time and process: its "start" report's and the next's (its
// workers log theirs as they start, maybe after the first report). A
// later report (a new start of -fresh or the idle rows) does not print
// them again.
var startLines = map[string]bool{}

// startSeen records the first start's lines (s.startReports counts the
// reports that are its), or drops a later report's that say what it
// printed.
func (s *server) startSeen(lines []string) []string {
	key := func(line string) string {
		// "2026/12/07 19:00:01 [alert] 22833#22833: text": level and text.
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[2], "[") {
			return ""
		}
		return s.name + " " + f[2] + " " + strings.Join(f[4:], " ")
	}
	lines = slices.DeleteFunc(lines, func(l string) bool { k := key(l); return k != "" && startLines[k] })
	if s.startReports > 0 {
		s.startReports--
		for _, l := range lines {
			if k := key(l); k != "" {
				startLines[k] = true
			}
		}
	}
	return lines
}

// report prints what the row's run on s left in the logs that tells of
// trouble, and the clients' failures. s's directory is kept (and
// php-fpm's) when the row failed, a client met an error or a worker
// exited or left a trace: the lines printed are the first of it.
func (s *server) report(row string, failed bool) {
	n, first := failures.reset()
	lines := s.startSeen(alarming(s.errLog.next()))
	out := alarming(s.outLog.next())
	var fpm []string
	if extra != nil && extra.fpmLog.path != "" {
		fpm = alarming(extra.fpmLog.next())
	}
	if n == 0 && len(lines) == 0 && len(out) == 0 && len(fpm) == 0 && !failed {
		return
	}
	fmt.Printf("%s on %s:\n", row, s.name)
	if n > 0 {
		fmt.Printf("  %d client errors, the first: %v\n", n, first)
	}
	keep := failed || n > 0
	show := func(what string, l []string) {
		if len(l) == 0 {
			return
		}
		fmt.Printf("  %s:\n", what)
		// Every line with a level (up to 40: a worker's exit comes
		// after its trace), and the first 20 of the rest (a trace).
		leveled, other := 0, 0
		for _, line := range l {
			if strings.Contains(line, "exited") {
				keep = true
			}
			if strings.Contains(line, "] ") && line[0] != ' ' && line[0] != '\t' {
				if leveled++; leveled <= 40 {
					fmt.Printf("    %s\n", line)
				}
				continue
			}
			keep = true
			if other++; other <= 20 {
				fmt.Printf("    %s\n", line)
			}
		}
		if leveled > 40 || other > 20 {
			fmt.Printf("    ... %d lines more\n", max(leveled-40, 0)+max(other-20, 0))
		}
	}
	show(s.name+"'s error.log", lines)
	show(s.name+"'s stderr", out)
	show("php-fpm's log", fpm)
	if keep {
		s.keep = true
		fmt.Printf("  %s's configuration and logs kept in %s\n", s.name, s.dir)
		if extra != nil && extra.phpRoot != "" {
			extra.keep = true
			fmt.Printf("  php-fpm's in %s\n", extra.phpRoot)
		}
	}
}
