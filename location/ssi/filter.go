// Package ssi is nginx's ssi filter (ngx_http_ssi_filter_module): a body
// filter that reads <!--# command param="value" --> in a response as it
// streams and runs include, echo, set, if/elif/else/endif, config and
// block/endblock, as nginx 1.22 does, malformed commands and their
// "[an error occurred while processing the directive]" included.
//
// It owns the parser and the commands. Whether a response is filtered,
// and the head (Content-Length, Last-Modified, ETag), is decided in
// package location, which also runs the subrequests of include for it
// (Host). The entry point is Filter, a filter.Link.
//
// As nginx, an include not waited for is posted and runs once the filter
// is done with the buffer it was given, beside the document (the Host
// keeps its output for its turn: nginx's postpone filter); a waited one
// (wait="yes", file=, set=) holds the document until it ended and every
// output before it went out. Where gonginx differs: nginx assigns an
// include set='s variable again when the subrequest's output turn comes,
// if it was not its turn when it ended (commands in between see the
// value gonginx keeps), and nginx 1.22 hangs on a waited include (file=,
// wait=yes) right after such an include; gonginx answers.
package ssi

import (
	"sync"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/rewrite"
)

// Host is what the filter needs of the request it runs for.
type Host interface {
	// Variable appends the value of the request variable name
	// (lowercase) to dst, as ngx_http_get_variable; found is false for
	// nginx's not_found (and for an unknown name).
	Variable(name, dst []byte) (out []byte, found bool)
	// URI is the request's current $uri: a relative include is relative
	// to it.
	URI() []byte
	// Include makes uri (with args when hasArgs) a subrequest of the
	// request, as ngx_http_subrequest. A subrequest that sends no body
	// sends stub, when not nil, instead (a buffer a chunk), through its
	// filters. One not waited for runs beside the request, its output
	// kept for its turn after what the filter output so far; Include
	// returns at once (status 0) and may not keep uri and args. A waited
	// one runs to its end, what its response's body becomes, through its
	// own location's filters, going to out; Include returns once the
	// request's own output is in turn again, with the subrequest's
	// status. ok is false when the subrequest could not be made (logged
	// by Include).
	Include(uri, args []byte, hasArgs bool, out func([]byte) error, stub [][]byte, waited bool) (status int, ok bool)
	// RunPosted starts the subrequests Include made not waited for and
	// not started yet: the filter is done with the buffer it was given.
	RunPosted()
	// SubrequestBuffer is subrequest_output_buffer_size where the
	// running include's subrequest is, how much of its output set= may
	// keep, and the length its head announced (-1: none); read while the
	// subrequest writes.
	SubrequestBuffer() (size int, length int64)
	// Terminate ends the request at once, what it has not sent yet
	// dropped (ngx_http_terminate_request).
	Terminate()
	// Errorf logs at level error.
	Errorf(format string, args ...any)
}

// Conf is a location's ssi settings.
type Conf struct {
	SilentErrors bool // ssi_silent_errors
	ValueLen     int  // ssi_value_length
}

// Shared is what nginx keeps in the main request's ssi context: variables
// set, blocks, the captures of the last regex. The main request's filter
// and those of its subrequests share one; subrequests that run beside
// the page run their commands under mu, one at a time, as nginx's one
// thread does.
type Shared struct {
	mu       sync.Mutex
	vars     []sharedVar
	blocks   []block
	captures []int // pairs of offsets into capSubject
	capN     int   // how many pairs the match set (nginx's ncaptures)
	capSubj  []byte
	rs       rewrite.State // regex scratch
}

type sharedVar struct{ name, value []byte }

// block is a block's text as nginx keeps it: a buffer per copy of text
// or command written again, which a stub sends as as many buffers.
type block struct {
	name   []byte
	chunks [][]byte
}

func (b *block) add(parts ...[]byte) {
	var c []byte
	for _, p := range parts {
		c = append(c, p...)
	}
	b.chunks = append(b.chunks, c)
}

// Reset empties s for another request, keeping its memory.
func (s *Shared) Reset() {
	for i := range s.blocks {
		s.blocks[i].chunks = nil // a block's text is not kept for the next document
	}
	s.vars, s.blocks = s.vars[:0], s.blocks[:0]
	s.captures, s.capN, s.capSubj = s.captures[:0], 0, s.capSubj[:0]
}

func (s *Shared) lookup(name []byte) *sharedVar {
	for i := range s.vars {
		if string(s.vars[i].name) == string(name) {
			return &s.vars[i]
		}
	}
	return nil
}

func (s *Shared) set(name, value []byte) {
	v := s.lookup(name)
	if v == nil {
		// Entries past len keep their buffers from earlier requests.
		if len(s.vars) < cap(s.vars) {
			s.vars = s.vars[:len(s.vars)+1]
		} else {
			s.vars = append(s.vars, sharedVar{})
		}
		v = &s.vars[len(s.vars)-1]
		v.name = append(v.name[:0], name...)
	}
	v.value = append(v.value[:0], value...)
}

// echo's encodings.
const (
	encNone = iota
	encURL
	encEntity
)

// conditional levels (NGX_HTTP_SSI_COND_IF, _ELSE).
const (
	condIf   = 1
	condElse = 2
)

var (
	defaultErrmsg  = []byte("[an error occurred while processing the directive]")
	defaultTimefmt = []byte("%A, %d-%b-%Y %H:%M:%S %Z")
	noneValue      = []byte("(none)")
	openingBytes   = []byte(opening)
)

// Filter is one response's ssi filter.
type Filter struct {
	next   filter.Link
	host   Host
	shared *Shared
	conf   Conf
	ps     parser

	output       bool // text and commands are run, not skipped
	outputChosen bool // a branch of this if was taken
	inBlock      bool // text goes to the last block
	conditional  int
	encoding     int
	errmsg       []byte
	timefmt      []byte

	args              args // the command being run's
	scratch, scratch2 []byte
	uriBuf, pathBuf   []byte
	capture           captureSink
	emitFn            func([]byte) error // f.emit, bound once
	locked            bool               // f.shared is locked: output is held
	held              []byte
}

// Reset readies f for a response of host, with the main request's shared
// state.
func (f *Filter) Reset(host Host, shared *Shared, conf Conf) {
	f.host, f.shared, f.conf = host, shared, conf
	if f.emitFn == nil {
		f.emitFn = f.emit
	}
	if f.conf.ValueLen <= 0 {
		f.conf.ValueLen = 255
	}
	f.ps.reset(f.conf.ValueLen)
	f.output, f.outputChosen, f.inBlock, f.conditional = true, false, false, 0
	f.encoding = encEntity
	f.errmsg = append(f.errmsg[:0], defaultErrmsg...)
	f.timefmt = append(f.timefmt[:0], defaultTimefmt...)
}

// SetNext is filter.Link's.
func (f *Filter) SetNext(next filter.Link) { f.next = next }

// Body is filter.Link's: p is parsed; text and the commands' output go on
// to the next link as they come. A command still open when the body ends
// is dropped, with the "<!--" before it, as nginx does.
func (f *Filter) Body(p []byte, flush, last bool) error {
	if len(p) > 0 {
		err := f.ps.feed(p, f)
		f.host.RunPosted()
		if err != nil {
			return err
		}
	}
	if flush || last {
		return f.next.Body(nil, flush, last)
	}
	return nil
}

func (f *Filter) emit(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if f.locked {
		// A command's output waits for the lock's release: the link
		// below may wait for the parent, whose commands take the lock.
		f.held = append(f.held, p...)
		return nil
	}
	return f.next.Body(p, false, false)
}

// lockShared takes the shared state for a command.
func (f *Filter) lockShared() {
	f.shared.mu.Lock()
	f.locked = true
}

// unlockShared releases it and passes on what the command output.
func (f *Filter) unlockShared() error {
	f.locked = false
	f.shared.mu.Unlock()
	if len(f.held) == 0 {
		return nil
	}
	err := f.next.Body(f.held, false, false)
	f.held = f.held[:0]
	return err
}

// text is the parser's: text is output, kept in the block being defined,
// or skipped.
func (f *Filter) text(prefix, p []byte) error {
	if f.output {
		if err := f.emit(prefix); err != nil {
			return err
		}
		return f.emit(p)
	}
	if f.inBlock {
		f.shared.mu.Lock()
		if len(f.shared.blocks) > 0 {
			f.shared.blocks[len(f.shared.blocks)-1].add(prefix, p)
		}
		f.shared.mu.Unlock()
	}
	return nil
}

func (f *Filter) logf(format string, args ...any) { f.host.Errorf(format, args...) }

// parseError is the parser's: a malformed command is an error.
func (f *Filter) parseError() error { return f.fail() }

// fail outputs errmsg for a command that failed, unless ssi_silent_errors.
// It is output even where text is skipped, as nginx does.
func (f *Filter) fail() error {
	if f.conf.SilentErrors {
		return nil
	}
	return f.emit(f.errmsg)
}
