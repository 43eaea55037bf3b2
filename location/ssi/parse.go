package ssi

import "bytes"

// The parser is ngx_http_ssi_parse's state machine, fed one write at a
// time: a command may be split anywhere between writes, and what it
// outputs does not depend on where the splits fall.

const (
	maxParams  = 16 // NGX_HTTP_SSI_MAX_PARAMS
	commandLen = 32 // NGX_HTTP_SSI_COMMAND_LEN
	paramLen   = 32 // NGX_HTTP_SSI_PARAM_LEN
	// keptParams bounds what one command may hold: past it a parameter is
	// parsed (and counted, so the command fails as too many) but not kept.
	keptParams = 64
)

type state uint8

const (
	stText       state = iota
	stTag              // "<"
	stComment0         // "<!"
	stComment1         // "<!-"
	stSharp            // "<!--"
	stPreCommand       // "<!--#"
	stCommand
	stPreParam
	stParam
	stPreEqual
	stPreValue
	stDoubleQuoted
	stQuoted
	stQuotedSymbol
	stPostParam
	stCommentEnd0
	stCommentEnd1
	stError
	stErrorEnd0
	stErrorEnd1
)

// opening is what stTag..stSharp have matched: looked bytes of it.
const opening = "<!--"

// Param is one name="value" of a command; Value is as written between the
// quotes, backslashes kept.
type Param struct {
	Key, Value []byte
}

// handler takes what the parser finds, in document order.
type handler interface {
	text(prefix, p []byte) error // prefix: what nginx's ctx->saved adds
	command() error              // parser.command and parser.params hold it
	parseError() error           // a malformed command ended with "-->"
	logf(format string, args ...any)
}

// parser holds the state carried from one write to the next.
type parser struct {
	st, savedSt state
	looked      int // bytes of opening matched
	saved       int // of them, those at the end of the last buffer
	valueLen    int // ssi_value_length
	command     []byte
	params      []Param // the kept ones
	nparams     int     // all of them
	spare       Param   // where a parameter past keptParams is parsed
}

func (ps *parser) reset(valueLen int) {
	ps.st, ps.savedSt, ps.looked, ps.saved, ps.valueLen = stText, stText, 0, 0, valueLen
	ps.command, ps.params, ps.nparams = ps.command[:0], ps.params[:0], 0
}

// param is the parameter being parsed.
func (ps *parser) param() *Param {
	if ps.nparams > keptParams {
		return &ps.spare
	}
	return &ps.params[ps.nparams-1]
}

func (ps *parser) newParam(c byte) {
	ps.nparams++
	if ps.nparams > keptParams {
		ps.spare.Key = append(ps.spare.Key[:0], c)
		ps.spare.Value = ps.spare.Value[:0]
		return
	}
	if len(ps.params) < cap(ps.params) {
		ps.params = ps.params[:len(ps.params)+1]
	} else {
		ps.params = append(ps.params, Param{})
	}
	p := &ps.params[len(ps.params)-1]
	p.Key = append(p.Key[:0], c)
	p.Value = p.Value[:0]
}

func isSpace(c byte) bool { return c == ' ' || c == '\r' || c == '\n' || c == '\t' }

// feed parses p, one buffer of nginx's. Text goes on in nginx's copies:
// from the end of a command (or the buffer's start) to the start of the
// next one or the buffer's end. The start of an opening ("<", "<!",
// "<!-", "<!--") left at the end of a buffer is nginx's ctx->saved: it
// goes out before the next text copied, and is lost when the next buffer
// copies none before its end, or starts a command with it (nginx's
// buffers fall at the same places for static files, which it reads in
// 32 KiB buffers as gonginx does).
func (ps *parser) feed(p []byte, h handler) error {
	pos0 := 0      // where this parse call started (nginx's ctx->pos)
	cs, ce := 0, 0 // the text to copy, p[cs:ce]; -1: none yet (NULL)
	if ps.st != stText {
		cs, ce = -1, -1
	}
	copyText := func() error {
		if ce < 0 {
			return nil
		}
		if cs < 0 {
			cs = 0
		}
		if ce == cs {
			return nil
		}
		var prefix []byte
		if ps.saved > 0 {
			prefix = openingBytes[:ps.saved]
		}
		ps.saved = 0
		return h.text(prefix, p[cs:ce])
	}
	i := 0
	for i < len(p) {
		if ps.st == stText {
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				i = len(p)
				break
			}
			i += j
			ce, ps.looked, ps.st = i, 1, stTag
			i++
			continue
		}
		c := p[i]
		i++
		switch ps.st {
		case stTag, stComment0, stComment1, stSharp:
			next := byte('#')
			if ps.looked < len(opening) {
				next = opening[ps.looked]
			}
			switch {
			case c == next && ps.st == stSharp:
				if i-1-pos0 < len(opening) {
					// The opening began in an earlier buffer: it was
					// this command's.
					ps.saved = 0
				}
				ps.st, ps.looked = stPreCommand, 0
				ps.command, ps.params, ps.nparams = ps.command[:0], ps.params[:0], 0
			case c == next:
				ps.looked++
				ps.st++
			case c == '<':
				ce, ps.looked, ps.st = i-1, 1, stTag
			default:
				ce, ps.looked, ps.st = i-1, 0, stText
			}
		case stPreCommand:
			if !isSpace(c) {
				ps.command = append(ps.command, c)
				ps.st = stCommand
			}
		case stCommand:
			switch {
			case isSpace(c):
				ps.st = stPreParam
			case c == '-':
				ps.st = stCommentEnd0
			case len(ps.command) == commandLen:
				h.logf("the \"%s%c...\" SSI command is too long", ps.command, c)
				ps.st = stError
			default:
				ps.command = append(ps.command, c)
			}
		case stPreParam:
			switch {
			case isSpace(c):
			case c == '-':
				ps.st = stCommentEnd0
			default:
				ps.newParam(c)
				ps.st = stParam
			}
		case stParam:
			pm := ps.param()
			switch {
			case isSpace(c):
				ps.st = stPreEqual
			case c == '=':
				ps.st = stPreValue
			case c == '-':
				ps.st = stErrorEnd0
				h.logf("unexpected \"-\" symbol after \"%s\" parameter in \"%s\" SSI command", pm.Key, ps.command)
			case len(pm.Key) == paramLen:
				ps.st = stError
				h.logf("too long \"%s%c...\" parameter in \"%s\" SSI command", pm.Key, c, ps.command)
			default:
				pm.Key = append(pm.Key, c)
			}
		case stPreEqual:
			switch {
			case isSpace(c):
			case c == '=':
				ps.st = stPreValue
			default:
				ps.st = stError
				if c == '-' {
					ps.st = stErrorEnd0
				}
				h.logf("unexpected \"%c\" symbol after \"%s\" parameter in \"%s\" SSI command", c, ps.param().Key, ps.command)
			}
		case stPreValue:
			switch {
			case isSpace(c):
			case c == '"':
				ps.st = stDoubleQuoted
			case c == '\'':
				ps.st = stQuoted
			default:
				ps.st = stError
				if c == '-' {
					ps.st = stErrorEnd0
				}
				h.logf("unexpected \"%c\" symbol before value of \"%s\" parameter in \"%s\" SSI command", c, ps.param().Key, ps.command)
			}
		case stDoubleQuoted, stQuoted:
			quote := byte('"')
			if ps.st == stQuoted {
				quote = '\''
			}
			if c == quote {
				ps.st = stPostParam
				break
			}
			if c == '\\' {
				// The backslash is kept, and the next byte whatever it is.
				ps.savedSt, ps.st = ps.st, stQuotedSymbol
			}
			ps.appendValue(c, h)
		case stQuotedSymbol:
			ps.st = ps.savedSt
			ps.appendValue(c, h)
		case stPostParam:
			switch {
			case isSpace(c):
				ps.st = stPreParam
			case c == '-':
				ps.st = stCommentEnd0
			default:
				pm := ps.param()
				h.logf("unexpected \"%c\" symbol after \"%s\" value of \"%s\" parameter in \"%s\" SSI command", c, pm.Value, pm.Key, ps.command)
				ps.st = stError
			}
		case stCommentEnd0:
			if c == '-' {
				ps.st = stCommentEnd1
				break
			}
			h.logf("unexpected \"%c\" symbol in \"%s\" SSI command", c, ps.command)
			ps.st = stError
		case stCommentEnd1, stErrorEnd1:
			if c != '>' {
				if ps.st == stCommentEnd1 {
					h.logf("unexpected \"%c\" symbol in \"%s\" SSI command", c, ps.command)
				}
				ps.st = stError
				break
			}
			ok := ps.st == stCommentEnd1
			ps.st = stText
			if err := copyText(); err != nil {
				return err
			}
			var err error
			if ok {
				err = h.command()
			} else {
				err = h.parseError()
			}
			if err != nil {
				return err
			}
			pos0, cs, ce = i, i, i
		case stError:
			if c == '-' {
				ps.st = stErrorEnd0
			}
		case stErrorEnd0:
			ps.st = stError
			if c == '-' {
				ps.st = stErrorEnd1
			}
		}
	}
	if ps.st == stText {
		ce = len(p)
	}
	if err := copyText(); err != nil {
		return err
	}
	ps.saved = 0
	if ps.st >= stTag && ps.st <= stSharp {
		ps.saved = ps.looked
	}
	return nil
}

// appendValue adds c to the value being parsed, or fails the command when
// the value would pass ssi_value_length.
func (ps *parser) appendValue(c byte, h handler) {
	pm := ps.param()
	if len(pm.Value) >= ps.valueLen {
		h.logf("too long \"%s%c...\" value of \"%s\" parameter in \"%s\" SSI command", pm.Value, c, pm.Key, ps.command)
		ps.st = stError
		return
	}
	pm.Value = append(pm.Value, c)
}
