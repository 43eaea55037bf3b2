package mail

import "strings"

// The parser's states.
const (
	swStart = iota
	swCommand
	swInvalid
	swSpacesBeforeArgument
	swArgument
	swAlmostDone
)

// lineGrammar is what POP3's and SMTP's command lines differ in
// (ngx_mail_pop3_parse_command, ngx_mail_smtp_parse_command share the rest).
type lineGrammar struct {
	commands map[string]int
	long     int    // a command name's other length than 4 (SMTP's STARTTLS)
	maxArgs  int    // a line with more arguments than maxArgs+1 is invalid
	auth     int    // the command whose next line is its argument (AUTH)
	spaced   [2]int // commands whose one argument may hold spaces
}

// parseLine parses one POP3 or SMTP command line from the buffer.
func (s *session) parseLine(g *lineGrammar) int {
	state := s.state
	p := s.pos
	for ; p < s.last; p++ {
		ch := s.buf[p]
		switch state {
		case swStart:
			s.cmdStart = p
			state = swCommand
			fallthrough
		case swCommand:
			if ch == ' ' || ch == '\r' || ch == '\n' {
				cmd := 0
				if n := p - s.cmdStart; n == 4 || n == g.long {
					cmd = g.commands[strings.ToUpper(string(s.buf[s.cmdStart:p]))]
				}
				if cmd == 0 {
					return s.skipInvalid(p)
				}
				s.command = cmd
				switch ch {
				case ' ':
					state = swSpacesBeforeArgument
				case '\r':
					state = swAlmostDone
				case '\n':
					return s.lineDone(g, p)
				}
				break
			}
			if (ch < 'A' || ch > 'Z') && (ch < 'a' || ch > 'z') {
				return s.skipInvalid(p)
			}
		case swInvalid:
			return s.skipInvalid(p)
		case swSpacesBeforeArgument:
			switch ch {
			case ' ':
			case '\r':
				state = swAlmostDone
			case '\n':
				return s.lineDone(g, p)
			default:
				if len(s.args) <= g.maxArgs {
					state = swArgument
					s.argStart = p
					break
				}
				return s.skipInvalid(p)
			}
		case swArgument:
			switch ch {
			case ' ':
				if c := s.command; c == g.spaced[0] || c == g.spaced[1] {
					break
				}
				fallthrough
			case '\r', '\n':
				s.args = append(s.args, s.buf[s.argStart:p])
				switch ch {
				case ' ':
					state = swSpacesBeforeArgument
				case '\r':
					state = swAlmostDone
				case '\n':
					return s.lineDone(g, p)
				}
			}
		case swAlmostDone:
			if ch == '\n' {
				return s.lineDone(g, p)
			}
			return s.skipInvalid(p)
		}
	}
	s.pos = p
	s.state = state
	return rcAgain
}

// lineDone ends a command line at p: AUTH's next line is its argument.
func (s *session) lineDone(g *lineGrammar, p int) int {
	s.pos = p + 1
	s.state = swStart
	if s.command == g.auth {
		s.state = swArgument
	}
	return rcOK
}

// skipInvalid skips the rest of an invalid line.
func (s *session) skipInvalid(p int) int {
	s.state = swInvalid
	for ; p < s.last; p++ {
		if s.buf[p] == '\n' {
			s.state = swStart
			s.pos = p + 1
			return rcInvalid
		}
	}
	s.pos = p
	return rcAgain
}
