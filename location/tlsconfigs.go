package location

import (
	"crypto/tls"
	"sync"
)

// handshakeChoice is what configFor settled for one ClientHello: the
// address's default server (versions, groups) and the SNI server
// (certificates, tickets, client verification), the certificate's
// owner, the ALPN list, TLS 1.3 or not, the TLS 1.2 suite, the
// certificate and the groups in their order.
type handshakeChoice struct {
	def, srv, owner *tlsServer
	h2, v13         bool
	suite           uint16
	cert            *tls.Certificate
	groups          []tls.CurveID
}

// maxKeyGroups bounds the groups a shared configuration is found by
// (clients send four or five); a longer list gets a configuration of
// its own.
const maxKeyGroups = 8

// configKey finds the configuration of a handshakeChoice.
type configKey struct {
	def, srv, owner *tlsServer
	h2, v13         bool
	suite           uint16
	cert            *tls.Certificate
	groups          [maxKeyGroups]tls.CurveID
	ngroups         uint8
}

func (h *handshakeChoice) key() (configKey, bool) {
	if len(h.groups) > maxKeyGroups {
		return configKey{}, false
	}
	k := configKey{def: h.def, srv: h.srv, owner: h.owner, h2: h.h2, v13: h.v13, suite: h.suite, cert: h.cert,
		ngroups: uint8(len(h.groups))}
	copy(k.groups[:], h.groups)
	return k, true
}

// noResumption is UnwrapSession when the default and the SNI server
// disagree on ssl_session_tickets.
func noResumption([]byte, tls.ConnectionState) (*tls.SessionState, error) { return nil, nil }

// config makes the configuration of a choice; info is the connection's
// (a session cache records the session's ID in it).
func (h *handshakeChoice) config(hello *tls.ClientHelloInfo, info *tlsInfo) *tls.Config {
	def, srv := h.def, h.srv
	cfg := srv.base.Clone()
	cfg.MinVersion, cfg.MaxVersion = def.minV, def.maxV
	cfg.SessionTicketsDisabled = !srv.ssl.Tickets
	cfg.NextProtos = alpnHTTP1
	if h.h2 {
		cfg.NextProtos = alpnHTTP2 // ngx_http_ssl_alpn_select: h2 first
	}
	if v := srv.verifier; v != nil {
		// Requested, never required: nginx decides per request.
		cfg.ClientAuth = tls.RequestClientCert
		cfg.ClientCAs = v.names
	}
	// OpenSSL reads the client's ticket under the address's default
	// server's options (before the servername callback) and issues
	// tickets under the SNI server's: when they disagree on
	// ssl_session_tickets nothing is resumed (TLS 1.2 gets no ticket,
	// TLS 1.3 tickets are not taken back).
	switch {
	case srv.ssl.Tickets && def.ssl.Tickets:
		srv.sealer.sealSessions(cfg)
	case srv.ssl.Tickets != def.ssl.Tickets:
		cfg.SessionTicketsDisabled = !h.v13
		cfg.UnwrapSession = noResumption
	case def.sessions != nil:
		// Sessions live in the cache of the address's default server
		// (OpenSSL's session_ctx is the first context), resumed by
		// their key (tlssession.go).
		cfg.SessionTicketsDisabled = false
		srv.storeSessions(cfg, def.sessions, info)
	}
	cfg.CurvePreferences = append([]tls.CurveID(nil), h.groups...)
	if !h.v13 {
		cfg.CipherSuites = []uint16{h.suite}
	}
	cfg.Certificates = []tls.Certificate{h.owner.withStaple(h.cert, hello)}
	return cfg
}

// configCache holds a socket's shared handshake configurations: clients
// of one kind choose alike, and a connection holds its configuration
// for its life (about 700 bytes each when every handshake made its own).
type configCache struct {
	mu      sync.RWMutex
	configs map[configKey]*tls.Config
}

// maxSharedConfigs bounds a socket's shared configurations; beyond it a
// handshake makes its own, as before it was shared.
const maxSharedConfigs = 1024

func (c *configCache) get(k configKey) *tls.Config {
	c.mu.RLock()
	cfg := c.configs[k]
	c.mu.RUnlock()
	return cfg
}

func (c *configCache) put(k configKey, cfg *tls.Config) {
	c.mu.Lock()
	if c.configs == nil {
		c.configs = map[configKey]*tls.Config{}
	}
	if len(c.configs) < maxSharedConfigs {
		c.configs[k] = cfg
	}
	c.mu.Unlock()
}
