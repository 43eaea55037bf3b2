package harness

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// logStep keeps the two runs of a case that compares logs in step. A
// server may write a request's lines after the client saw its exchange
// end: "closed keepalive connection" when it notices the client's close,
// a lingering close's access line, a stream's line after its last frame.
// The next request's lines could then come first, in one run and not the
// other. So after each request (and each HTTP/2 stream) each run waits
// until its log has as many compared lines as the other's had there;
// only a run behind waits, and no longer than stepWait (a run that
// stays behind differs anyway: its lines are missing).
type logStep struct {
	mu     sync.Mutex
	at     [2]stepAt         // the step each run has reached
	counts [2]map[stepAt]int // each run's compared lines at each step reached
	gone   [2]bool           // the run ended (or failed) and reaches no more steps
	slack  bool              // a wait timed out: the runs' counts differ, stop waiting long
}

// stepAt is a step's place: the request's index, then its stream's (an
// HTTP/2 request's streams come before the request's end, afterStreams),
// so that a run whose request ended early skips its other streams' steps.
type stepAt struct{ req, stream int }

const afterStreams = 1 << 30

func (a stepAt) before(b stepAt) bool {
	return a.req < b.req || a.req == b.req && a.stream < b.stream
}

const stepWait = 5 * time.Second

func newLogStep() *logStep {
	return &logStep{at: [2]stepAt{{-1, 0}, {-1, 0}}, counts: [2]map[stepAt]int{{}, {}}}
}

// end says run side reaches no more steps.
func (s *logStep) end(side int) {
	s.mu.Lock()
	s.gone[side] = true
	s.mu.Unlock()
}

// step is run side's step p: it publishes its count (count() now) and
// waits until that is at least the other run's count at the same step.
func (s *logStep) step(side int, p stepAt, count func() int) {
	s.mu.Lock()
	s.at[side] = p
	wait := stepWait
	if s.slack {
		wait = 100 * time.Millisecond
	}
	s.mu.Unlock()
	other := 1 - side
	// The wait is bounded from the other run's arrival at p: until then
	// that run's own request (bounded by its timeouts) is what is waited
	// for, and a slow request is no difference in the logs.
	var deadline time.Time
	for ; ; time.Sleep(5 * time.Millisecond) {
		n := count()
		s.mu.Lock()
		s.counts[side][p] = n
		theirs, reached := s.counts[other][p]
		// Gone before p, or past it without stopping there: no count to wait for.
		skipped := !reached && (s.gone[other] || p.before(s.at[other]))
		s.mu.Unlock()
		if skipped || (reached && n >= theirs) {
			return
		}
		if reached && deadline.IsZero() {
			deadline = time.Now().Add(wait)
		}
		if reached && time.Now().After(deadline) {
			s.mu.Lock()
			s.slack = true
			s.mu.Unlock()
			return
		}
	}
}

// loggedLines counts the lines of c's logs that Collect compares, as it
// reads them: the access log files' lines, the request lines of the log
// files and (ErrorLog, ErrorMessages) of the server's output. A gzip
// access log counts none: its members come when its buffer fills.
func loggedLines(c Case, srv *Server) int {
	n := 0
	for _, f := range c.AccessLogFiles {
		b, _ := os.ReadFile(filepath.Join(srv.dir, f))
		if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" {
				n++
			}
		}
	}
	for _, f := range c.LogFiles {
		b, _ := os.ReadFile(filepath.Join(srv.dir, f))
		n += len(requestErrors(string(b), srv.dir))
	}
	if c.ErrorLog || c.ErrorMessages {
		n += len(requestErrors(srv.Output(), srv.dir))
	}
	return n
}
