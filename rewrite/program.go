package rewrite

import (
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/gonginx/gonginx/nginxconf"
)

// ActionKind says how a rewrite program ended.
type ActionKind uint8

const (
	// Continue: the program ran to its end; go on in this location.
	Continue ActionKind = iota
	// Break: "break" or "rewrite ... break": stop the rewrite module and
	// stay in this location, with the (maybe changed) URI.
	Break
	// Last: the URI changed ("rewrite ... last", or a flagless rewrite and
	// the program ended): search the location again for the new URI.
	Last
	// Redirect: answer Code (301/302) with Location: Text.
	Redirect
	// Return: "return" (Code, Text when HasText), or 500 when a rewrite
	// produced an empty URI.
	Return
)

func (k ActionKind) String() string {
	return [...]string{"Continue", "Break", "Last", "Redirect", "Return"}[k]
}

// Action is the outcome of Program.Run.
type Action struct {
	Kind ActionKind
	Code int
	// Text is the redirect target or the return text/URL, evaluated; it
	// points into s.Buf and is valid until s.Reset.
	Text    []byte
	HasText bool
	// URIChanged reports that a rewrite changed the URI in this run (nginx
	// then no longer has a valid unparsed URI nor location prefix: a
	// proxy_pass with a URI part sends the new URI as it is).
	URIChanged bool
	// IfBlock is the index in IfBlocks of the last "if" whose condition
	// held, whose other directives apply (nginx's implicit location), or -1.
	IfBlock int
}

type opKind uint8

const (
	opRewrite opKind = iota
	opReturn
	opSet
	opIf
	opBreak
)

type condKind uint8

const (
	condVar condKind = iota
	condEqual
	condNotEqual
	condRegex
	condFile
)

type op struct {
	kind opKind
	// rewrite
	regex    *Regex
	repl     *Complex
	redirect bool
	stop     bool // last, break, redirect, permanent
	flag     ActionKind
	addArgs  bool
	// return, rewrite redirect
	code int
	text *Complex
	// set
	target *variable
	value  *Complex
	// if
	cond     condKind
	left     *variable
	negative bool
	fileOp   byte // 'f', 'd', 'e', 'x'
	next     int  // op index after the if block
	ifBlock  int
	// src is the directive the op came from, for State.Trace.
	src *nginxconf.Directive
}

// Program is the rewrite module's directives of one server or location
// block, compiled in order.
type Program struct {
	ops      []op
	ifBlocks []*nginxconf.Directive
}

// IfBlocks lists the "if" directives of the block in order; their blocks
// may hold directives of other modules, which the location package
// compiles as nginx's implicit location.
func (p *Program) IfBlocks() []*nginxconf.Directive { return p.ifBlocks }

// Empty reports whether the block had no rewrite-module directive.
func (p *Program) Empty() bool { return len(p.ops) == 0 }

// Program compiles the rewrite, return, set, if and break directives of a
// server or location block; other directives are left to their packages.
func (c *Compiler) Program(block []*nginxconf.Directive) (*Program, error) {
	p := &Program{}
	if err := c.compileBlock(p, block); err != nil {
		return nil, err
	}
	return p, nil
}

func (c *Compiler) compileBlock(p *Program, block []*nginxconf.Directive) error {
	for _, d := range block {
		var err error
		first := len(p.ops)
		switch d.Name {
		case "rewrite":
			err = c.compileRewrite(p, d)
		case "return":
			err = c.compileReturn(p, d)
		case "set":
			err = c.compileSet(p, d)
		case "break":
			p.ops = append(p.ops, op{kind: opBreak})
		case "if":
			err = c.compileIf(p, d)
		}
		for k := first; k < len(p.ops); k++ {
			if p.ops[k].src == nil {
				p.ops[k].src = d
			}
		}
		if err != nil {
			return At(err, d)
		}
	}
	return nil
}

func errf(msg string) error { return &nginxconf.Error{Msg: msg} }

func (c *Compiler) compileRewrite(p *Program, d *nginxconf.Directive) error {
	if len(d.Args) < 2 || len(d.Args) > 3 {
		return errf(`invalid number of arguments in "rewrite" directive`)
	}
	repl := d.Args[1]
	if repl == "" {
		return errf("empty replacement")
	}
	rx, err := c.Regex(d.Args[0], false)
	if err != nil {
		return err
	}
	o := op{kind: opRewrite, regex: rx, flag: Continue}
	if strings.HasSuffix(repl, "?") {
		repl = repl[:len(repl)-1] // the last "?" drops the original arguments
	} else {
		o.addArgs = true
	}
	if strings.HasPrefix(repl, "http://") || strings.HasPrefix(repl, "https://") || strings.HasPrefix(repl, "$scheme") {
		o.code, o.redirect, o.stop = 302, true, true
	}
	if len(d.Args) == 3 {
		switch d.Args[2] {
		case "last":
			o.stop, o.flag = true, Last
		case "break":
			o.stop, o.flag = true, Break
		case "redirect":
			o.code, o.redirect, o.stop = 302, true, true
		case "permanent":
			o.code, o.redirect, o.stop = 301, true, true
		default:
			return errf(`invalid parameter "` + d.Args[2] + `"`)
		}
	}
	o.repl, err = c.parse(repl, !o.redirect)
	if err != nil {
		return err
	}
	p.ops = append(p.ops, o)
	return nil
}

// parseStatus is ngx_atoi: digits only, no sign, no overflow.
func parseStatus(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func (c *Compiler) compileReturn(p *Program, d *nginxconf.Directive) error {
	if len(d.Args) < 1 || len(d.Args) > 2 {
		return errf(`invalid number of arguments in "return" directive`)
	}
	o := op{kind: opReturn}
	a := d.Args[0]
	code, ok := parseStatus(a)
	var text string
	switch {
	case !ok:
		if len(d.Args) == 1 && (strings.HasPrefix(a, "http://") || strings.HasPrefix(a, "https://") || strings.HasPrefix(a, "$scheme")) {
			o.code, text = 302, a
			break
		}
		return errf(`invalid return code "` + a + `"`)
	case code > 999:
		return errf(`invalid return code "` + a + `"`)
	default:
		o.code = code
		if len(d.Args) == 1 {
			p.ops = append(p.ops, o)
			return nil
		}
		text = d.Args[1]
	}
	cv, err := c.Complex(text)
	if err != nil {
		return err
	}
	o.text = cv
	p.ops = append(p.ops, o)
	return nil
}

func (c *Compiler) compileSet(p *Program, d *nginxconf.Directive) error {
	if len(d.Args) != 2 {
		return errf(`invalid number of arguments in "set" directive`)
	}
	if !strings.HasPrefix(d.Args[0], "$") {
		return errf(`invalid variable name "` + d.Args[0] + `"`)
	}
	v, err := c.newSlot(d.Args[0][1:])
	if err != nil {
		return err
	}
	val, err := c.value(d.Args[1])
	if err != nil {
		return err
	}
	p.ops = append(p.ops, op{kind: opSet, target: v, value: val})
	return nil
}

// value is ngx_http_rewrite_value: text without '$' is static, anything
// else a complex value.
func (c *Compiler) value(s string) (*Complex, error) {
	if !strings.Contains(s, "$") {
		return &Complex{raw: s, segs: []segment{{kind: segLiteral, lit: s}}}, nil
	}
	return c.Complex(s)
}

// compileIf follows ngx_http_rewrite_if_condition, messages included.
func (c *Compiler) compileIf(p *Program, d *nginxconf.Directive) error {
	args := append([]string(nil), d.Args...)
	if len(args) == 0 || args[0] == "" || args[0][0] != '(' {
		first := ""
		if len(args) > 0 {
			first = args[0]
		}
		return errf(`invalid condition "` + first + `"`)
	}
	cur, last := 0, len(args)-1
	if len(args[0]) == 1 {
		cur = 1
	} else {
		args[0] = args[0][1:]
	}
	if args[last] == "" || args[last][len(args[last])-1] != ')' {
		return errf(`invalid condition "` + args[last] + `"`)
	}
	if len(args[last]) == 1 {
		last--
	} else {
		args[last] = args[last][:len(args[last])-1]
	}
	if cur >= len(args) {
		return errf(`invalid condition "` + d.Args[0] + `"`)
	}
	o := op{kind: opIf, ifBlock: len(p.ifBlocks)}
	tok := args[cur]
	switch {
	case len(tok) > 1 && tok[0] == '$':
		if cur != last && cur+2 != last {
			return errf(`invalid condition "` + tok + `"`)
		}
		o.left = c.lookup(tok[1:])
		o.cond = condVar
		if cur != last {
			operator := args[cur+1]
			switch operator {
			case "=", "!=":
				val, err := c.value(args[last])
				if err != nil {
					return err
				}
				o.value = val
				o.cond = condEqual
				if operator == "!=" {
					o.cond = condNotEqual
				}
			case "~", "~*", "!~", "!~*":
				rx, err := c.Regex(args[last], strings.HasSuffix(operator, "*"))
				if err != nil {
					return err
				}
				o.regex, o.cond, o.negative = rx, condRegex, operator[0] == '!'
			default:
				return errf(`unexpected "` + operator + `" in condition`)
			}
		}
	case len(tok) == 2 && tok[0] == '-' || len(tok) == 3 && tok[0] == '!' && tok[1] == '-':
		if cur+1 != last {
			return errf(`invalid condition "` + tok + `"`)
		}
		val, err := c.value(args[last])
		if err != nil {
			return err
		}
		letter := tok[len(tok)-1]
		if !strings.ContainsRune("fdex", rune(letter)) {
			return errf(`invalid condition "` + tok + `"`)
		}
		o.cond, o.value, o.fileOp, o.negative = condFile, val, letter, tok[0] == '!'
	default:
		return errf(`invalid condition "` + tok + `"`)
	}
	at := len(p.ops)
	p.ops = append(p.ops, o)
	p.ifBlocks = append(p.ifBlocks, d)
	if err := c.compileBlock(p, d.Block); err != nil {
		return err
	}
	p.ops[at].next = len(p.ops)
	return nil
}

// Run executes the program for the request in s, as nginx's rewrite
// handler runs its codes, changing s.Req.URI, Args, HasArgs and Internal
// in place (new values live in s.Buf).
func (p *Program) Run(s *State) Action {
	act := Action{Kind: Continue, IfBlock: -1}
	quote := true // nginx's e->quote: set by the handler, cleared by a rewrite
	uriChanged := false
	for pc := 0; pc < len(p.ops); {
		o := &p.ops[pc]
		pc++
		switch o.kind {
		case opRewrite:
			s.RegexFailed = ""
			if !o.regex.Match(s, s.Req.URI) {
				if s.RegexFailed != "" {
					// ngx_http_script_regex_start_code: NGX_ERROR.
					act.Kind, act.Code = Return, 500
					return act
				}
				s.Captures = s.Captures[:0]
				if s.Trace != nil {
					traceOp(s, o, "no match for \""+string(s.Req.URI)+"\"")
				}
				continue
			}
			quote = false
			if o.redirect {
				act.Kind, act.Code, act.HasText = Redirect, o.code, true
				act.Text = p.redirectTarget(s, o)
				if s.Trace != nil {
					traceOp(s, o, "matches: redirect "+strconv.Itoa(o.code)+" to \""+string(act.Text)+"\"")
				}
				return act
			}
			start := len(s.Buf)
			var argsAt int
			s.Buf, argsAt = o.repl.eval(s, s.Buf, false)
			out := s.Buf[start:]
			uri, args := out, s.Req.Args
			if argsAt >= 0 {
				uri = out[:argsAt-start]
				if o.addArgs && len(s.Req.Args) > 0 {
					s.Buf = append(s.Buf, '&')
					s.Buf = append(s.Buf, s.Req.Args...)
				}
				args = s.Buf[argsAt:len(s.Buf):len(s.Buf)]
			} else if !o.addArgs {
				args = nil
			}
			if len(uri) == 0 {
				// nginx logs "the rewritten URI has a zero length".
				act.Kind, act.Code = Return, 500
				return act
			}
			s.Req.URI = uri[:len(uri):len(uri)]
			s.Req.Args = args
			s.Req.HasArgs = len(args) > 0
			s.Req.Internal, s.Req.RawStale = true, true
			act.URIChanged = true
			uriChanged = o.flag != Break
			s.LocationChanged = o.flag == Break
			if s.Trace != nil {
				traceOp(s, o, "matches: URI is now \""+string(s.Req.URI)+"\", args \""+string(args)+"\"")
			}
			if o.stop {
				act.Kind = o.flag
				return act
			}
		case opReturn:
			act.Kind, act.Code = Return, o.code
			if o.text != nil {
				// ngx_http_send_response sets the status before it
				// evaluates the text: "return 200 $status" says 200.
				s.Status = o.code
				start := len(s.Buf)
				s.Buf = o.text.Eval(s, s.Buf)
				act.Text, act.HasText = s.Buf[start:], true
			}
			if s.Trace != nil {
				traceOp(s, o, "returns "+strconv.Itoa(o.code)+" \""+string(act.Text)+"\"")
			}
			return act
		case opSet:
			start := len(s.Buf)
			s.Buf, _ = o.value.eval(s, s.Buf, quote)
			// store copies the value into memory of its own.
			o.target.store(s, s.Buf[start:])
			if s.Trace != nil {
				traceOp(s, o, "sets \""+string(s.Buf[start:])+"\"")
			}
			s.Buf = s.Buf[:start]
		case opBreak:
			// ngx_http_script_break_code: after a rewrite that changed the
			// URI, the location no longer matches it (valid_location = 0).
			if uriChanged {
				s.LocationChanged = true
			}
			act.Kind = Break
			if s.Trace != nil {
				traceOp(s, o, "stops the rewrite directives")
			}
			return act
		case opIf:
			s.RegexFailed = ""
			ok := p.test(s, o, quote)
			if s.RegexFailed != "" {
				act.Kind, act.Code = Return, 500
				return act
			}
			if ok {
				act.IfBlock = o.ifBlock
				if s.Trace != nil {
					traceOp(s, o, "true: its block applies")
				}
			} else {
				pc = o.next
				if s.Trace != nil {
					traceOp(s, o, "false")
				}
			}
		}
	}
	if uriChanged {
		act.Kind = Last
	}
	return act
}

func (p *Program) redirectTarget(s *State, o *op) []byte {
	start := len(s.Buf)
	s.Buf, _ = o.repl.eval(s, s.Buf, true)
	s.Buf = append(s.Buf[:start], unescapeRedirect(s.Buf[start:])...)
	if o.addArgs && len(s.Req.Args) > 0 {
		if o.repl.hasQuery {
			s.Buf = append(s.Buf, '&')
		} else {
			s.Buf = append(s.Buf, '?')
		}
		s.Buf = append(s.Buf, s.Req.Args...)
	}
	return s.Buf[start:len(s.Buf):len(s.Buf)]
}

func (p *Program) test(s *State, o *op, quote bool) bool {
	start := len(s.Buf)
	defer func() { s.Buf = s.Buf[:start] }()
	switch o.cond {
	case condVar:
		s.Buf = o.left.eval(s, s.Buf)
		v := s.Buf[start:]
		return len(v) > 0 && !(len(v) == 1 && v[0] == '0')
	case condEqual, condNotEqual:
		s.Buf = o.left.eval(s, s.Buf)
		mid := len(s.Buf)
		s.Buf, _ = o.value.eval(s, s.Buf, quote)
		eq := string(s.Buf[start:mid]) == string(s.Buf[mid:])
		return eq == (o.cond == condEqual)
	case condRegex:
		s.Buf = o.left.eval(s, s.Buf)
		if o.regex.Match(s, s.Buf[start:]) {
			return !o.negative
		}
		s.Captures = s.Captures[:0]
		return o.negative
	case condFile:
		s.Buf, _ = o.value.eval(s, s.Buf, quote)
		path := s.Buf[start:]
		ok := fileTest(s, path, o.fileOp)
		return ok != o.negative
	}
	return false
}

// fileTest is -f, -d, -e, -x as ngx_http_script_file_code: a path that
// cannot be opened fails every test; -e holds for a file or a directory
// (not a socket or FIFO) and -x for anything with the owner's execute bit,
// directories included.
func fileTest(s *State, path []byte, op byte) bool {
	var fi FileInfo
	if s.Files != nil {
		var ok bool
		if fi, ok = s.Files.TestFile(path); !ok {
			return false
		}
	} else {
		if len(path) == 0 {
			return false
		}
		// os.Stat allocates; only tests run without a FileTester.
		st, err := os.Stat(unsafe.String(&path[0], len(path)))
		if err != nil {
			return false
		}
		fi = FileInfo{Regular: st.Mode().IsRegular(), Dir: st.IsDir(), Exec: st.Mode().Perm()&0o100 != 0}
	}
	switch op {
	case 'f':
		return fi.Regular
	case 'd':
		return fi.Dir
	case 'e':
		return fi.Regular || fi.Dir
	case 'x':
		return fi.Exec
	}
	return false
}

// traceOp tells s.Trace what an op did, naming its directive as written.
func traceOp(s *State, o *op, what string) {
	src := ""
	if d := o.src; d != nil {
		src = d.Name
		if len(d.Args) > 0 {
			src += " " + strings.Join(d.Args, " ")
		}
		if d.Name == "if" {
			src = "if (" + strings.TrimSuffix(strings.TrimPrefix(strings.Join(d.Args, " "), "("), ")") + ")"
		}
		src += " (" + d.File + ":" + strconv.Itoa(d.Line) + ")"
	}
	s.Trace("rewrite", src+": "+what)
}
