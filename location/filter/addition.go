package filter

// Addition is nginx's addition filter: a subrequest's output before the
// body (before its first bytes, or at its end if it has none) and
// another's after it.
type Addition struct {
	next          Link
	Before, After []byte // URIs; empty: none
	// Run makes the subrequest for uri; its output goes to the Postpone
	// link below.
	Run     func(uri []byte)
	started bool
}

// Reset prepares the link for a response.
func (l *Addition) Reset(before, after []byte, run func([]byte)) {
	*l = Addition{Before: before, After: after, Run: run}
}

func (l *Addition) SetNext(n Link) { l.next = n }

func (l *Addition) Body(p []byte, flush, last bool) error {
	if !l.started {
		l.started = true
		if len(l.Before) > 0 {
			l.Run(l.Before)
		}
	}
	if !last || len(l.After) == 0 {
		return l.next.Body(p, flush, last)
	}
	// The body's end is not the response's: what the filters below hold
	// goes out before the after-body subrequest's output.
	if err := l.next.Body(p, true, false); err != nil {
		return err
	}
	l.Run(l.After)
	return l.next.Body(nil, false, true)
}
