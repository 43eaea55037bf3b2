package location

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// Resumption is how a stream or mail server's TLS sessions resume, from
// its directives (nil when not written): ssl_session_tickets (or
// ssl_conf_command's Options, TicketsCmd), ssl_session_cache,
// ssl_session_timeout; KeyFiles are its ssl_session_ticket_key files'
// contents, the first encrypting.
type Resumption struct {
	Tickets, Cache, Timeout *nginxconf.Directive
	TicketsCmd              *bool
	KeyFiles                [][]byte
}

// Apply sets cfg's session tickets. Without ticket keys of its own a
// server gets one derived from seed, label ("stream", "mail") and its
// certificate and key pairs (nginx's session id context), so every
// worker and every server of one certificate setting resume each
// other's sessions. Tickets off still resume by a shared or builtin
// ssl_session_cache: crypto/tls resumes by ticket only, so a ticket
// stands for the cached session, as the http side's cache does.
func (r Resumption) Apply(cfg *tls.Config, seed []byte, label string, certs, keys []*nginxconf.Directive) {
	tickets := r.Tickets == nil || r.Tickets.Args[0] == "on"
	if r.TicketsCmd != nil {
		tickets = *r.TicketsCmd
	}
	if !tickets && r.Cache != nil {
		for _, a := range r.Cache.Args {
			tickets = tickets || strings.HasPrefix(a, "shared:") || strings.HasPrefix(a, "builtin")
		}
	}
	if !tickets {
		cfg.SessionTicketsDisabled = true
		return
	}
	var ticketKeys [][32]byte
	for _, b := range r.KeyFiles {
		ticketKeys = append(ticketKeys, sha256.Sum256(b))
	}
	if len(ticketKeys) == 0 {
		mac := hmac.New(sha256.New, seed)
		mac.Write([]byte(label))
		for i, cd := range certs {
			mac.Write([]byte(cd.Args[0] + "\x00" + keys[i].Args[0] + "\x00"))
		}
		var key [32]byte
		copy(key[:], mac.Sum(nil))
		ticketKeys = [][32]byte{key}
	}
	timeout := 300 * time.Second // ssl_session_timeout's default
	if r.Timeout != nil {
		if sec, ok := nginxconf.ParseTime(r.Timeout.Args[0], true); ok {
			timeout = time.Duration(sec) * time.Second
		}
	}
	newTicketSealer(ticketKeys, timeout).sealSessions(cfg)
}
