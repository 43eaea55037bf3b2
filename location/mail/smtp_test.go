package mail

import (
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/google/go-cmp/cmp"
)

func TestSMTPParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"ehlo", "EHLO client.example\r\n", []string{"ok", "client.example", "|"}},
		{"mail from", "MAIL FROM:<a@b> SIZE=10\r\n", []string{"ok", "FROM:<a@b>", "SIZE=10", "|"}},
		{"vrfy parses", "VRFY x\r\n", []string{"ok", "x", "|"}},
		{"unknown", "DATA\r\nNOOP\r\n", []string{"invalid", "|", "ok", "|"}},
		{"auth then line", "AUTH LOGIN\r\nabc\r\n", []string{"ok", "LOGIN", "|", "ok", "abc", "|"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSession(smtpProto, 128)
			if diff := cmp.Diff(tt.want, feed(s, tt.in)); diff != "" {
				t.Errorf("-want +got\n%s", diff)
			}
		})
	}
}

func TestSMTPCapability(t *testing.T) {
	tests := []struct {
		name, auth string
		caps       []string
		want       string
	}{
		{"default", "", nil, "250-mail.example\r\n250 AUTH PLAIN LOGIN\r\n"},
		{"none only", "none", []string{"SIZE"}, "250-mail.example\r\n250 SIZE\r\n"},
		{"with capabilities", "cram-md5 login", []string{"SIZE", "8BITMIME"}, "250-mail.example\r\n250-SIZE\r\n250-8BITMIME\r\n250 AUTH LOGIN CRAM-MD5\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &nginxconf.Directive{Name: "server"}
			if tt.auth != "" {
				srv.Block = append(srv.Block, &nginxconf.Directive{Name: "smtp_auth", Args: splitWords(tt.auth)})
			}
			if tt.caps != nil {
				srv.Block = append(srv.Block, &nginxconf.Directive{Name: "smtp_capabilities", Args: tt.caps})
			}
			sv := &server{serverName: "mail.example"}
			smtpCompile(sv, &nginxconf.Directive{Name: "mail"}, srv)
			if diff := cmp.Diff(tt.want, string(sv.capability)); diff != "" {
				t.Errorf("-want +got\n%s", diff)
			}
		})
	}
}

func splitWords(s string) []string {
	var out []string
	w := ""
	for _, c := range s + " " {
		if c == ' ' {
			if w != "" {
				out = append(out, w)
			}
			w = ""
			continue
		}
		w += string(c)
	}
	return out
}
