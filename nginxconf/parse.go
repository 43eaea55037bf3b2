package nginxconf

import "strings"

// This file turns tokens into directives, as ngx_conf_parse and
// ngx_conf_handler do: a directive is checked (checkDirective) as soon as
// its arguments and its ";" or "{" are read, in document order, and the
// first error stops everything.

// blockBuf collects the directives of one block while it is read. Its
// own directives (the block as written in its file: an include directive
// stays an include directive) sit on the parser's stack from mark up while
// the block is open, and are copied out, exactly sized, when it closes.
// The expanded view (includes spliced in place, as nginx sees the block)
// is the same list until the first include, then a separate slice.
type blockBuf struct {
	p     *parser
	mark  int
	exp   []*Directive // the expanded view, once split
	split bool
	// into is set for the top level of an included file: its expanded
	// view is the including block's.
	into *blockBuf
	// seenMark is where the duplicate keys of the expanded view start in
	// the parser's seen stack (blocks with into == nil only).
	seenMark int
}

// newBuf starts a block buffer. Blocks open and close in stack order,
// so closed buffers are reused (no allocation per block).
func (p *parser) newBuf(into *blockBuf) *blockBuf {
	var b *blockBuf
	if n := len(p.freeBufs); n > 0 {
		b = p.freeBufs[n-1]
		p.freeBufs = p.freeBufs[:n-1]
	} else {
		b = new(blockBuf)
	}
	*b = blockBuf{p: p, mark: len(p.stack), into: into, seenMark: len(p.seen)}
	return b
}

func (b *blockBuf) own() []*Directive { return b.p.stack[b.mark:] }

// readSoFar returns the directives of the block read so far, includes
// spliced in.
func (b *blockBuf) readSoFar() []*Directive {
	for b.into != nil {
		b = b.into
	}
	if b.split {
		return b.exp
	}
	return b.own()
}

// push adds a directive: own as written, exp its expanded form (the same
// pointer unless its block holds includes).
func (b *blockBuf) push(own, exp *Directive) {
	b.p.stack = append(b.p.stack, own)
	switch {
	case b.into != nil:
		b.into.pushExpanded(exp)
	case b.split:
		b.exp = append(b.exp, exp)
	case own != exp:
		b.splitNow(len(b.own()) - 1)
		b.exp = append(b.exp, exp)
	}
	if b.into == nil {
		b.noteSeen(exp)
	}
}

// noteSeen records exp, just added to the expanded view, for the
// duplicate checks of the directives after it.
func (b *blockBuf) noteSeen(exp *Directive) {
	if !b.p.unchecked {
		b.p.seen = addDupKeysInfo(b.p.seen, b.seenMark, b.p.nameInfo(exp.Name))
	}
}

// seenKeys returns the duplicate keys of the expanded view read so far.
func (b *blockBuf) seenKeys() []dupKey {
	for b.into != nil {
		b = b.into
	}
	return b.p.seen[b.seenMark:]
}

// pushInclude adds an include directive to own only; the included
// directives arrive through pushExpanded.
func (b *blockBuf) pushInclude(inc *Directive) {
	b.ensureSplit()
	b.p.stack = append(b.p.stack, inc)
}

func (b *blockBuf) pushExpanded(d *Directive) {
	if b.into != nil {
		b.into.pushExpanded(d)
		return
	}
	b.ensureSplit()
	b.exp = append(b.exp, d)
	b.noteSeen(d)
}

// ensureSplit makes the expanded view separate from own, so that an
// included file's directives can go into it.
func (b *blockBuf) ensureSplit() {
	if b.into == nil && !b.split {
		b.splitNow(len(b.own()))
	}
}

func (b *blockBuf) splitNow(n int) {
	b.exp = make([]*Directive, n, n+8)
	copy(b.exp, b.own()[:n])
	b.split = true
}

// close ends the block: it returns its own directives and its expanded
// view (the same slice when it had no include), both non-nil, and pops
// the block off the parser's stack. b must not be used after close.
func (b *blockBuf) close() (own, view []*Directive) {
	p := b.p
	own = p.dirSlice(b.own())
	p.stack = p.stack[:b.mark]
	if b.into == nil {
		p.seen = p.seen[:b.seenMark]
	}
	switch {
	case b.into != nil || !b.split:
		view = own
	case b.exp == nil:
		view = []*Directive{}
	default:
		view = b.exp
	}
	*b = blockBuf{}
	p.freeBufs = append(p.freeBufs, b)
	return own, view
}

// dirSlice copies ds into an exactly sized slice carved from a chunk.
func (p *parser) dirSlice(ds []*Directive) []*Directive {
	if len(ds) == 0 {
		return []*Directive{}
	}
	if cap(p.lists)-len(p.lists) < len(ds) {
		p.lists = make([]*Directive, 0, max(4096, len(ds)))
	}
	n := len(p.lists)
	p.lists = append(p.lists, ds...)
	return p.lists[n:len(p.lists):len(p.lists)]
}

// source is one file (or the -g parameter string) being read.
type source struct {
	lex  *Lexer
	path string // "" for -g
	// param is true for -g: errors end with "in command line", blocks
	// are refused, and end of input reads "end of parameter".
	param bool
}

func (s *source) errorf(line int, msg string) *Error {
	if s.param {
		return &Error{Msg: msg + " in command line"}
	}
	return &Error{Msg: msg, File: s.path, Line: line}
}

// parser holds what one Load shares across files.
type parser struct {
	cfg      *Config
	loader   *loader
	comments bool
	handler  func(*Directive, Context) *Error // Options.Handler
	// unchecked skips checkDirective and include (Parse: structure only).
	unchecked bool
	// rawBlock names the directive whose raw block is being read.
	rawBlock string
	// raw checks the entries of a geo or split_clients block (nil for
	// other raw blocks); closeLine is the line of the last "}" read.
	raw       rawChecker
	closeLine int
	// ups follows the upstream{} block being read.
	ups *upsState
	// hosts caches host name look-ups (resolve.go).
	hosts map[string]bool
	// state holds what the checks of blockcheck.go remember.
	state blockState
	// typesLevels holds, per open block, the extensions its types{}
	// blocks have listed.
	typesLevels []*typesCheck
	// includeDepth counts the include files open; a cycle would make
	// nginx recurse until it crashes, gonginx stops at maxIncludeDepth.
	includeDepth int
	// noInclude keeps include directives as written (fuzzing: no file
	// system access).
	noInclude bool
	// arenas: directives and argument strings are carved out of chunks
	// to keep allocations per directive low.
	dirs  []Directive
	strs  []string
	bools []bool
	args  []string // scratch for the directive being read
	quote []bool
	stack []*Directive // own directives of the open blocks
	lists []*Directive // chunk for closed blocks' lists
	// freeBufs holds closed block buffers for reuse.
	freeBufs []*blockBuf
	// seen stacks the duplicate keys (dupKey) of the open blocks'
	// expanded views, each block's from its seenMark.
	seen []dupKey
	// present marks the after-block checks that some directive read so
	// far concerns (nameInfo.concerns); the others are skipped.
	present presence
	// lastName and lastInfo remember the name last looked up in
	// infoByName: the checks of one directive need it several times.
	lastName string
	lastInfo *nameInfo
}

// nameInfo returns infoByName[name], from the last look-up when it was
// for the same name.
func (p *parser) nameInfo(name string) *nameInfo {
	if name == p.lastName {
		return p.lastInfo
	}
	return infoByName[name]
}

func (p *parser) newDirective() *Directive {
	if len(p.dirs) == cap(p.dirs) {
		p.dirs = make([]Directive, 0, 256)
	}
	p.dirs = p.dirs[:len(p.dirs)+1]
	return &p.dirs[len(p.dirs)-1]
}

func (p *parser) copyArgs(args []string) []string {
	if len(args) == 0 {
		return nil // no arguments: nil, like the JSON "args": [] after marshaling
	}
	if cap(p.strs)-len(p.strs) < len(args) {
		p.strs = make([]string, 0, max(1024, len(args)))
	}
	n := len(p.strs)
	p.strs = append(p.strs, args...)
	return p.strs[n:len(p.strs):len(p.strs)]
}

func (p *parser) copyQuoted(q []bool) []bool {
	any := false
	for _, b := range q {
		any = any || b
	}
	if !any {
		return nil
	}
	if cap(p.bools)-len(p.bools) < len(q) {
		p.bools = make([]bool, 0, max(1024, len(q)))
	}
	n := len(p.bools)
	p.bools = append(p.bools, q...)
	return p.bools[n:len(p.bools):len(p.bools)]
}

// blockKind says how a block ends.
type blockKind uint8

const (
	topOfFile  blockKind = iota // ends at end of file; "}" is unexpected
	innerBlock                  // ends at "}"; end of file is unexpected
	topOfParam                  // -g: ends at end of input; no blocks
)

// parseBlock reads directives into buf until the block ends. ctx is the
// context of the directives; ctx == 0 means raw "key value;" entries
// (map, types, ...) that are stored without checking.
func (p *parser) parseBlock(src *source, buf *blockBuf, ctx Context, kind blockKind) *Error {
	for {
		args, quoted := p.args[:0], p.quote[:0]
		var nameLine int
		var comments []*Directive
		// t points into the lexer: it holds the token until the next read.
		t := src.lex.next()
		for t.Kind == TokWord || t.Kind == TokComment {
			if t.Kind == TokComment {
				if p.comments {
					c := p.comment(src, *t)
					if len(args) == 0 {
						buf.push(c, c)
					} else {
						comments = append(comments, c)
					}
				}
				t = src.lex.next()
				continue
			}
			if len(args) == 0 {
				nameLine = t.Line
			}
			args = append(args, t.Val)
			quoted = append(quoted, t.Quoted)
			t = src.lex.next()
		}
		p.args, p.quote = args, quoted
		switch t.Kind {
		case TokError:
			if src.param && strings.HasPrefix(t.Val, "unexpected end of file") {
				return src.errorf(t.Line, `unexpected end of parameter, expecting ";"`)
			}
			return src.errorf(t.Line, t.Val)
		case TokEOF:
			if len(args) > 0 {
				if src.param {
					return src.errorf(t.Line, `unexpected end of parameter, expecting ";"`)
				}
				return src.errorf(t.Line, `unexpected end of file, expecting ";" or "}"`)
			}
			if kind == innerBlock {
				return src.errorf(t.Line, `unexpected end of file, expecting "}"`)
			}
			return nil
		case TokRBrace:
			if len(args) > 0 || kind != innerBlock {
				return src.errorf(t.Line, `unexpected "}"`)
			}
			p.closeLine = t.Line
			return nil
		case TokSemicolon, TokLBrace:
			if len(args) == 0 {
				return src.errorf(t.Line, `unexpected "`+t.Val+`"`)
			}
		}
		isBlock := t.Kind == TokLBrace
		if isBlock && src.param {
			return src.errorf(t.Line, "block directives are not supported in -g option")
		}
		d := p.newDirective()
		d.Name = args[0]
		d.NameQuoted = quoted[0]
		d.Args = p.copyArgs(args[1:])
		d.Quoted = p.copyQuoted(quoted[1:])
		d.File = src.path
		d.Line = nameLine
		d.EndLine = t.Line
		info := infoByName[d.Name]
		p.lastName, p.lastInfo = d.Name, info
		if info != nil {
			p.present |= info.concerns
		}
		if err := p.directive(src, buf, ctx, d, info, isBlock); err != nil {
			return err
		}
		for _, c := range comments {
			buf.push(c, c)
		}
	}
}

func (p *parser) comment(src *source, t Token) *Directive {
	c := p.newDirective()
	c.Name = "#"
	c.Comment = t.Val
	c.File = src.path
	c.Line = t.Line
	c.EndLine = t.Line
	return c
}

// directive checks d, reads its block if it has one, follows an include,
// and adds it to buf.
func (p *parser) directive(src *source, buf *blockBuf, ctx Context, d *Directive, info *nameInfo, isBlock bool) *Error {
	if ctx == 0 {
		// A raw entry of map, types, ...: nginx refuses a block there.
		// Of the block handlers, types, map and geo follow include (geo
		// without glob); other entries are the owning module's business.
		if isBlock {
			return src.errorf(d.EndLine, `unexpected "{"`)
		}
		if d.Name == "include" && !p.noInclude {
			switch {
			case p.rawBlock == "types" && len(d.Args) != 1:
				return src.errorf(d.EndLine, `invalid number of arguments in "include" directive`)
			case len(d.Args) == 1 && (p.rawBlock == "types" || p.rawBlock == "map" || p.rawBlock == "geo"):
				return p.include(src, buf, ctx, d)
			}
		}
		if p.raw != nil {
			for _, err := range p.raw.entry(d) {
				if !err.Warn {
					return err
				}
				p.cfg.Warnings = append(p.cfg.Warnings, err)
			}
		}
		buf.push(d, d)
		return nil
	}
	if p.unchecked {
		if !isBlock {
			buf.push(d, d)
			return nil
		}
		return p.block(src, buf, d, ctx)
	}
	if !p.state.available(info) {
		return atEndErr(d.errorf("unknown directive %q", d.Name), d)
	}
	if isBlock && ctx == MainConf && (d.Name == "events" || d.Name == "http" || d.Name == "stream" || d.Name == "mail") {
		defer func() { p.state.modulesUsed = true }()
	}
	in, err := checkDirectiveInfo(info, d, ctx, isBlock, buf.seenKeys())
	if cmd, _, _ := info.in(ctx); cmd != nil && cmd.Slot == SlotBitmask && (err == nil || strings.HasPrefix(err.Msg, "invalid value")) {
		for _, w := range bitmaskWarnings(cmd, d, buf.readSoFar()) {
			atEnd(w, d)
			p.cfg.Warnings = append(p.cfg.Warnings, w)
		}
	}
	if err != nil {
		atEnd(err, d)
		if !err.Warn {
			if src.param && err.File == "" {
				err.Msg += " in command line"
			}
			return err
		}
		p.cfg.Warnings = append(p.cfg.Warnings, err)
	}
	inner := in
	if (ctx == HTTPUpsConf || ctx == StreamUpsConf) && p.ups != nil {
		w, err := p.ups.check(d)
		if w != nil {
			atEnd(w, d)
			p.cfg.Warnings = append(p.cfg.Warnings, w)
		}
		if err != nil {
			return atEndErr(err, d)
		}
		if d.Name == "server" {
			if err := p.upstreamServerHost(d); err != nil {
				return atEndErr(err, d)
			}
		}
	}
	if err := p.stateCheck(d, ctx, buf.readSoFar()); err != nil {
		return atEndErr(err, d)
	}
	if info != nil && info.concerns&presStoreCache != 0 {
		if err := storeCacheCheck(d, buf.readSoFar()); err != nil {
			return atEndErr(err, d)
		}
	}
	if d.Name == "proxy_redirect" && ctx&(HTTPMainConf|HTTPSrvConf|HTTPLocConf) != 0 && !p.unchecked {
		if err := proxyRedirectCheck(d, buf.readSoFar()); err != nil {
			return atEndErr(err, d)
		}
	}
	if p.handler != nil {
		if err := p.handler(d, ctx); err != nil {
			return err
		}
	}
	if d.Name == "include" && !isBlock && len(d.Args) == 1 && !p.noInclude {
		return p.include(src, buf, ctx, d)
	}
	if !isBlock {
		buf.push(d, d)
		return nil
	}
	return p.block(src, buf, d, inner)
}

// block reads d's block, whose directives stand in ctx.
func (p *parser) block(src *source, buf *blockBuf, d *Directive, ctx Context) *Error {
	child := p.newBuf(nil)
	if ctx == 0 {
		defer func(saved string, raw rawChecker) { p.rawBlock, p.raw = saved, raw }(p.rawBlock, p.raw)
		p.rawBlock = d.Name
		p.raw = nil
		if !p.unchecked {
			p.raw = newRawChecker(d.Name)
			if d.Name == "map" {
				// ngx_http_map and ngx_stream_map check each entry as
				// they read it (package rewrite checks http maps again
				// when it compiles them).
				p.raw = &mapCheck{exact: map[string]bool{}}
			}
			if d.Name == "types" && len(p.typesLevels) > 0 {
				// The types blocks of one level fill one list.
				top := &p.typesLevels[len(p.typesLevels)-1]
				if *top == nil {
					*top = &typesCheck{ext: map[string]string{}}
				}
				p.raw = *top
			}
		}
	} else {
		p.typesLevels = append(p.typesLevels, nil)
		defer func() { p.typesLevels = p.typesLevels[:len(p.typesLevels)-1] }()
	}
	if d.Name == "upstream" && (ctx == HTTPUpsConf || ctx == StreamUpsConf) && !p.unchecked && len(d.Args) == 1 {
		// ngx_http_upstream_add refuses the name before the block is
		// read (its warnings come after), host names compared caseless.
		key := strings.ToLower(d.Args[0])
		if ctx == StreamUpsConf {
			key = "stream " + key
		}
		if p.state.upstreams[key] {
			return atEndErr(d.errorf("duplicate upstream %q", d.Args[0]), d)
		}
		if p.state.upstreams == nil {
			p.state.upstreams = map[string]bool{}
		}
		p.state.upstreams[key] = true
	}
	if d.Name == "location" && ctx == HTTPLocConf && !p.unchecked {
		var in *locFrame
		if n := len(p.state.locs); n > 0 {
			in = &p.state.locs[n-1]
		}
		f, err := readLocation(d, in)
		if err != nil {
			return err
		}
		p.state.locs = append(p.state.locs, f)
		defer func() { p.state.locs = p.state.locs[:len(p.state.locs)-1] }()
	}
	if ctx == StreamMainConf {
		p.state.inStream = true
		defer func() { p.state.inStream = false }()
	}
	ups := ctx == HTTPUpsConf || ctx == StreamUpsConf
	if ups {
		defer func(saved *upsState) { p.ups = saved }(p.ups)
		p.ups = newUpsState()
	}
	err := p.parseBlock(src, child, ctx, innerBlock)
	if err == nil && p.raw != nil {
		err = p.raw.end(d, p.closeLine)
	}
	split := child.split
	own, view := child.close()
	if err == nil && ups && !p.unchecked && !hasServer(view) {
		err = &Error{Msg: "no servers are inside upstream", File: src.path, Line: p.closeLine}
	}
	if err == nil && !p.unchecked {
		err = p.endBlock(d, view, ctx)
	}
	d.Block = own
	if split {
		e := p.newDirective()
		*e = *d
		e.Block = view
		buf.push(d, e)
	} else {
		buf.push(d, d)
	}
	return err
}

func atEndErr(err *Error, d *Directive) *Error {
	atEnd(err, d)
	return err
}

// atEnd moves an error placed at d's name line to its terminator line:
// nginx checks a directive when it has read its ";" or "{" and reports
// the line it is then on.
func atEnd(err *Error, d *Directive) {
	if err.File == d.File && err.Line == d.Line {
		err.Line = d.EndLine
	}
}

// Parse reads one file's text into its directives: nginx's tokens and
// block structure with nginx's syntax errors, but no directive checks and
// no include (the include directive stays as written). Formatters and
// tools use it; Load is what reads a configuration.
func Parse(path string, data []byte, opt Options) (*File, error) {
	p := &parser{cfg: &Config{}, comments: opt.Comments, unchecked: true}
	buf := p.newBuf(nil)
	src := &source{lex: newLexer(string(data), fileTokenLimit), path: path}
	f := &File{Path: path, Data: data}
	err := p.parseBlock(src, buf, MainConf, topOfFile)
	f.Tree, _ = buf.close()
	if err != nil {
		return f, err
	}
	return f, nil
}
