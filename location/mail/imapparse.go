package mail

import "strings"

// The IMAP parser's states (ngx_mail_imap_parse_command).
const (
	isStart = iota
	isTag
	isInvalid
	isSpacesBeforeCommand
	isCommand
	isSpacesBeforeArgument
	isArgument
	isBackslash
	isLiteral
	isNoSyncLiteralArgument
	isStartLiteralArgument
	isLiteralArgument
	isEndLiteralArgument
	isAlmostDone
)

var imapCommands = map[string]int{
	"NOOP": imapNoop, "LOGIN": imapLogin, "LOGOUT": imapLogout,
	"CAPABILITY": imapCapability, "AUTHENTICATE": imapAuthenticate, "STARTTLS": imapStartTLS,
}

// imapParse parses one tagged command: quoted strings (with backslash
// escapes, undone in place) and literals, "{n}" (answered with "+ OK")
// or "{n+}".
func imapParse(s *session) int {
	state := s.state
	p := s.pos
	for ; p < s.last; p++ {
		ch := s.buf[p]
		switch state {
		case isStart:
			s.cmdStart = p // the tag's start
			state = isTag
			fallthrough
		case isTag:
			switch {
			case ch == ' ':
				s.tag = s.buf[s.cmdStart : p+1]
				state = isSpacesBeforeCommand
			case ch == '\r' || ch == '\n':
				return imapInvalid(s, p)
			default:
				if (ch < 'A' || ch > 'Z') && (ch < 'a' || ch > 'z') && (ch < '0' || ch > '9') &&
					ch != '-' && ch != '.' && ch != '_' {
					return imapInvalid(s, p)
				}
				if p-s.cmdStart > 31 {
					return imapInvalid(s, p)
				}
			}
		case isInvalid:
			return imapInvalid(s, p)
		case isSpacesBeforeCommand:
			switch ch {
			case ' ':
			case '\r', '\n':
				return imapInvalid(s, p)
			default:
				s.argStart = p // the command's start
				state = isCommand
			}
		case isCommand:
			if ch == ' ' || ch == '\r' || ch == '\n' {
				cmd := imapCommands[strings.ToUpper(string(s.buf[s.argStart:p]))]
				if cmd == 0 {
					return imapInvalid(s, p)
				}
				s.command = cmd
				switch ch {
				case ' ':
					state = isSpacesBeforeArgument
				case '\r':
					state = isAlmostDone
				case '\n':
					return imapDone(s, p)
				}
				break
			}
			if (ch < 'A' || ch > 'Z') && (ch < 'a' || ch > 'z') {
				return imapInvalid(s, p)
			}
		case isSpacesBeforeArgument:
			switch ch {
			case ' ':
			case '\r':
				state = isAlmostDone
			case '\n':
				return imapDone(s, p)
			case '"':
				if len(s.args) > 2 {
					return imapInvalid(s, p)
				}
				s.quoted = true
				s.argStart = p + 1
				state = isArgument
			case '{':
				if len(s.args) > 2 {
					return imapInvalid(s, p)
				}
				state = isLiteral
			default:
				if len(s.args) > 2 {
					return imapInvalid(s, p)
				}
				s.argStart = p
				state = isArgument
			}
		case isArgument:
			if ch == ' ' && s.quoted {
				break
			}
			switch ch {
			case '"', ' ', '\r', '\n':
				if ch == '"' {
					if !s.quoted {
						break
					}
					s.quoted = false
				}
				arg := s.buf[s.argStart:p]
				if s.backslash {
					// Undo the escapes in place.
					dst := s.argStart
					for src := s.argStart; src < p; dst++ {
						s.buf[dst] = s.buf[src]
						src++
						if s.buf[dst] == '\\' {
							s.buf[dst] = s.buf[src]
							src++
						}
					}
					arg = s.buf[s.argStart:dst]
					s.backslash = false
				}
				s.args = append(s.args, arg)
				switch ch {
				case '"', ' ':
					state = isSpacesBeforeArgument
				case '\r':
					state = isAlmostDone
				case '\n':
					return imapDone(s, p)
				}
			case '\\':
				if s.quoted {
					s.backslash = true
					state = isBackslash
				}
			}
		case isBackslash:
			if ch == '\r' || ch == '\n' {
				return imapInvalid(s, p)
			}
			state = isArgument
		case isLiteral:
			switch {
			case ch >= '0' && ch <= '9':
				s.literalLen = s.literalLen*10 + int(ch-'0')
			case ch == '}':
				state = isStartLiteralArgument
			case ch == '+':
				state = isNoSyncLiteralArgument
			default:
				return imapInvalid(s, p)
			}
		case isNoSyncLiteralArgument:
			if ch != '}' {
				return imapInvalid(s, p)
			}
			s.noSyncLiteral = true
			state = isStartLiteralArgument
		case isStartLiteralArgument:
			switch ch {
			case '\r':
			case '\n':
				s.pos = p + 1
				s.argStart = p + 1
				if !s.noSyncLiteral {
					s.state = isLiteralArgument
					return rcImapNext
				}
				state = isLiteralArgument
				s.noSyncLiteral = false
			default:
				return imapInvalid(s, p)
			}
		case isLiteralArgument:
			if s.literalLen != 0 {
				s.literalLen--
				if s.literalLen != 0 {
					break
				}
			}
			s.args = append(s.args, s.buf[s.argStart:p+1])
			state = isEndLiteralArgument
		case isEndLiteralArgument:
			switch ch {
			case '{':
				if len(s.args) > 2 {
					return imapInvalid(s, p)
				}
				state = isLiteral
			case '\r':
				state = isAlmostDone
			case '\n':
				return imapDone(s, p)
			default:
				state = isSpacesBeforeArgument
			}
		case isAlmostDone:
			if ch == '\n' {
				return imapDone(s, p)
			}
			return imapInvalid(s, p)
		}
	}
	s.pos = p
	s.state = state
	return rcAgain
}

func imapDone(s *session, p int) int {
	s.pos = p + 1
	s.state = isStart
	if s.command == imapAuthenticate {
		s.state = isArgument
	}
	return rcOK
}

// imapInvalid skips the rest of an invalid line; a line that ends in a
// non-synchronizing literal ends the session, as its bytes would follow
// unasked.
func imapInvalid(s *session, p int) int {
	s.state = isInvalid
	s.quoted, s.backslash, s.noSyncLiteral, s.literalLen = false, false, false, 0
	for ; p < s.last; p++ {
		if s.buf[p] != '\n' {
			continue
		}
		s.state = isStart
		s.pos = p + 1
		if p > len("{1+}") {
			q := p - 1
			if s.buf[q] == '\r' {
				q--
			}
			if s.buf[q] == '}' && s.buf[q-1] == '+' {
				s.quit = true
			}
		}
		return rcInvalid
	}
	s.pos = p
	return rcAgain
}
