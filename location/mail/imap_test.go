package mail

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIMAPParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"login", "a1 LOGIN user pass\r\n", []string{"ok", "user", "pass", "|"}},
		{"quoted with escapes", "a1 login \"us\\\"er\" \"p a\\\\ss\"\r\n", []string{"ok", "us\"er", "p a\\ss", "|"}},
		{"literal asks for more", "a1 LOGIN {4}\r\n", []string{"next"}},
		{"non-sync literal", "a1 LOGIN {4+}\r\nuser pass\r\n", []string{"ok", "user", "pass", "|"}},
		{"bad tag", "a*1 NOOP\r\n", []string{"invalid", "|"}},
		{"no tag", "\r\n", []string{"invalid", "|"}},
		{"unknown", "a1 SELECT INBOX\r\na2 NOOP\r\n", []string{"invalid", "|", "ok", "|"}},
		{"authenticate then line", "a1 AUTHENTICATE PLAIN\r\nAGEAYg==\r\n", []string{"ok", "PLAIN", "|", "ok", "AGEAYg==", "|"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSession(imapProto, 128)
			s.last += copy(s.buf, tt.in)
			var got []string
			for len(got) < 20 {
				rc := imapParse(s)
				if rc == rcAgain {
					break
				}
				if rc == rcImapNext {
					got = append(got, "next")
					break
				}
				if rc == rcInvalid {
					got = append(got, "invalid", "|")
				} else {
					got = append(got, "ok")
					for _, a := range s.args {
						got = append(got, string(a))
					}
					got = append(got, "|")
				}
				s.args = s.args[:0]
				if s.state != 0 {
					s.argStart = s.pos
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("-want +got\n%s", diff)
			}
		})
	}
}
