package mail

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func newTestSession(p *protocol, size int) *session {
	return &session{sv: &server{proto: p, maxErrors: 5, authMethods: authPlain | authLogin | authAPOP | authCramMD5 | authExternal}, buf: make([]byte, size)}
}

// feed parses in as sent in one piece: each result with its arguments.
func feed(s *session, in string) []string {
	s.last += copy(s.buf[s.last:], in)
	var out []string
	for {
		rc := s.sv.proto.parse(s)
		if rc == rcAgain {
			return out
		}
		line := []string{"invalid"}
		if rc == rcOK {
			line = []string{"ok"}
			for _, a := range s.args {
				line = append(line, string(a))
			}
		}
		out = append(out, line...)
		out = append(out, "|")
		s.args = s.args[:0]
		if s.state != 0 {
			s.argStart = s.pos
		}
	}
}

func TestPOP3Parse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"user", "USER test@example.com\r\n", []string{"ok", "test@example.com", "|"}},
		{"space in password", "PASS se cret\r\n", []string{"ok", "se cret", "|"}},
		{"bare LF", "NOOP\n", []string{"ok", "|"}},
		{"lower case", "quit\r\n", []string{"ok", "|"}},
		{"unknown then noop", "INVALID COMMAND\r\nNOOP\r\n", []string{"invalid", "|", "ok", "|"}},
		{"apop", "APOP user 0123\r\n", []string{"ok", "user", "0123", "|"}},
		{"too many args", "APOP a b c d\r\n", []string{"invalid", "|"}},
		{"CR without LF", "NOOP\rX\r\n", []string{"invalid", "|"}},
		{"incomplete", "USER x", nil},
		{"auth then response line", "AUTH LOGIN\r\ndGVzdA==\r\n", []string{"ok", "LOGIN", "|", "ok", "dGVzdA==", "|"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSession(pop3Proto, 128)
			if diff := cmp.Diff(tt.want, feed(s, tt.in)); diff != "" {
				t.Errorf("-want +got\n%s", diff)
			}
		})
	}
}

func TestDecodeBase64(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"dGVzdA==", "test", true},
		{"dGVzdA", "test", true},
		{"dGVzdA=garbage", "test", true},
		{"dGVzd", "", false},
		{"", "", true},
	}
	for _, tt := range tests {
		got, ok := decodeBase64([]byte(tt.in))
		if diff := cmp.Diff([]any{tt.want, tt.ok}, []any{string(got), ok}); diff != "" {
			t.Errorf("%q: -want +got\n%s", tt.in, diff)
		}
	}
}

func TestEscapeAuth(t *testing.T) {
	got := string(escapeAuth([]byte("a b%c\x01\xff")))
	if diff := cmp.Diff("a%20b%25c%01\xff", got); diff != "" {
		t.Errorf("-want +got\n%s", diff)
	}
}

func TestAuthParser(t *testing.T) {
	tests := []struct {
		name, in string
		rc       int
		want     authReply
	}{
		{"ok", "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 8111\r\nAuth-Pass: secret\r\n\r\n", rcOK,
			authReply{server: []byte("127.0.0.1"), port: []byte("8111"), pass: []byte("secret"), hasPass: true}},
		{"error with wait", "HTTP/1.1 204 No Content\r\nAuth-Status: Invalid login  \r\nauth-wait: 3\r\n\r\n", rcOK,
			authReply{status: []byte("Invalid login"), sleep: 3}},
		{"no status line", "Auth-Status: WAIT\n\n", rcOK, authReply{wait: true}},
		{"bad header", "HTTP/1.0 200 OK\r\nAuth_Status: OK\r\n\r\n", rcError, authReply{}},
		{"incomplete", "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\n", rcAgain, authReply{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p authParser
			rc := p.feed([]byte(tt.in))
			if rc != tt.rc {
				t.Fatalf("rc %d, want %d", rc, tt.rc)
			}
			if rc == rcOK {
				if diff := cmp.Diff(tt.want, p.reply, cmp.AllowUnexported(authReply{})); diff != "" {
					t.Errorf("-want +got\n%s", diff)
				}
			}
		})
	}
}
