package mail

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAuthRequest(t *testing.T) {
	sv := &server{proto: pop3Proto, auth: authHTTP{uri: "/auth", hostHeader: "127.0.0.1", headers: []byte("X-A: b\r\n")}}
	tests := []struct {
		name string
		s    *session
		want []string
		pass bool // the password is kept for the backend
	}{
		{"plain", &session{sv: sv, login: []byte("us er"), passwd: []byte("p%w"), loginAttempt: 1, addr: "127.0.0.1"},
			[]string{"GET /auth HTTP/1.0", "Host: 127.0.0.1", "Auth-Method: plain", "Auth-User: us%20er", "Auth-Pass: p%25w",
				"Auth-Protocol: pop3", "Auth-Login-Attempt: 1", "Client-IP: 127.0.0.1", "X-A: b", "", ""}, true},
		{"apop with the salt", &session{sv: sv, login: []byte("u"), passwd: []byte("d1"), salt: []byte("<1.2@h>\r\n"), authMethod: methodAPOP, loginAttempt: 2, addr: "::1"},
			[]string{"GET /auth HTTP/1.0", "Host: 127.0.0.1", "Auth-Method: apop", "Auth-User: u", "Auth-Pass: d1", "Auth-Salt: <1.2@h>",
				"Auth-Protocol: pop3", "Auth-Login-Attempt: 2", "Client-IP: ::1", "X-A: b", "", ""}, false},
		{"plain keeps its password despite a salt", &session{sv: sv, login: []byte("u"), passwd: []byte("x"), salt: []byte("<1.2@h>\r\n"), loginAttempt: 1, addr: "a"},
			[]string{"GET /auth HTTP/1.0", "Host: 127.0.0.1", "Auth-Method: plain", "Auth-User: u", "Auth-Pass: x",
				"Auth-Protocol: pop3", "Auth-Login-Attempt: 1", "Client-IP: a", "X-A: b", "", ""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Split(string(tt.s.authRequest()), "\r\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("-want +got\n%s", diff)
			}
			if (tt.s.passwd != nil) != tt.pass {
				t.Errorf("password kept: %v, want %v", tt.s.passwd != nil, tt.pass)
			}
		})
	}
}
