package location

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// tlsServer is one server's SSL context, as nginx's SSL_CTX: built once
// per configuration, read by every handshake.
type tlsServer struct {
	vs    *VirtualServer
	ssl   *SSLConfig
	certs []tls.Certificate // static certificates, in configuration order
	// staplers are the certificates' OCSP stapling (nil entries: none).
	staplers []*stapler
	suites   []uint16 // TLS 1.2 suites ssl_ciphers enables, in OpenSSL's order
	minV     uint16   // the versions ssl_protocols and the security level allow
	maxV     uint16
	// refused are versions ssl_protocols names that the security level
	// refuses: a client that can only speak one of them gets OpenSSL's
	// internal_error, not protocol_version.
	refused []uint16
	curves  []tls.CurveID
	// ticketKeys protect this context's session tickets: the first
	// encrypts, all decrypt; sealer seals them.
	ticketKeys [][32]byte
	sealer     *ticketSealer
	// base is what every handshake's configuration starts from (a
	// clone): the ticket keys set once, crypto/tls's legacy key made, as
	// a new configuration would hash the keys and draw a random legacy
	// key on each handshake.
	base     *tls.Config
	sessions *sessionCache   // ssl_session_cache; nil: "off" or "none"
	verifier *clientVerifier // nil: ssl_verify_client off
	rc       *Router
}

// tlsSocket selects, per handshake, what nginx's servername callback and
// OpenSSL select: the server by SNI among the servers of the address.
type tlsSocket struct {
	sock    *Socket
	servers map[*VirtualServer]*tlsServer
	log     *Logger
	configs configCache
}

// buildTLS makes the socket's TLS configuration; nil when no address of
// the socket is TLS.
func buildTLS(sock *Socket, rt *Router, log *Logger) (*tls.Config, error) {
	ts := &tlsSocket{sock: sock, servers: map[*VirtualServer]*tlsServer{}, log: log}
	tlsAddr := false
	for _, a := range sock.Addrs {
		if !a.TLS() {
			continue
		}
		tlsAddr = true
		for _, vs := range a.Servers {
			if vs.SSL == nil || ts.servers[vs] != nil {
				continue
			}
			t, err := newTLSServer(vs, rt, log)
			if err != nil {
				return nil, err
			}
			ts.servers[vs] = t
		}
	}
	if !tlsAddr {
		return nil, nil
	}
	return &tls.Config{GetConfigForClient: ts.configFor}, nil
}

func newTLSServer(vs *VirtualServer, rt *Router, log *Logger) (*tlsServer, error) {
	t := &tlsServer{vs: vs, ssl: vs.SSL, rc: rt}
	if !vs.SSL.dynamic() {
		certs, err := loadCerts(vs.SSL)
		if err != nil {
			return nil, err
		}
		t.certs = certs
		if vs.SSL.Stapling {
			for i := range certs {
				st, err := newStapler(vs.SSL, &t.certs[i], vs.SSL.Certificates[i], log, rt.numberConn)
				if err != nil {
					return nil, err
				}
				t.staplers = append(t.staplers, st)
			}
		}
	}
	suites, level := opensslSuites(vs.SSL.Ciphers)
	t.suites = suites
	t.minV, t.maxV = protocolRange(vs.SSL.Protocols, level)
	if level >= 1 {
		for _, p := range vs.SSL.Protocols {
			switch p {
			case "TLSv1":
				t.refused = append(t.refused, tls.VersionTLS10)
			case "TLSv1.1":
				t.refused = append(t.refused, tls.VersionTLS11)
			}
		}
	}
	t.curves = tlsCurves(vs.SSL.Curves)
	t.ticketKeys = ticketKeys(vs, rt.ticketSeed)
	t.sealer = newTicketSealer(t.ticketKeys, vs.SSL.SessionTimeout)
	// Records of up to 16 KB from the first byte, as nginx's default
	// ssl_buffer_size: crypto/tls's dynamic sizing began each
	// connection with records of one segment, growing, each its own
	// write(2) (a fresh connection's 40 KB response: 11 writes against
	// nginx's 5).
	t.base = &tls.Config{DynamicRecordSizingDisabled: true}
	t.base.SetSessionTicketKeys(t.ticketKeys)
	t.base.SessionTicketKey = t.ticketKeys[0] // not the legacy one: crypto/tls leaves the keys as set
	switch sc := vs.SSL.SessionCache; {
	case sc.sharedName != "":
		t.sessions = vs.SSL.sharedSessions
	case sc.builtin > 0:
		t.sessions = newSessionCache(sc.builtin)
	}
	v, err := newClientVerifier(vs.SSL)
	if err != nil {
		return nil, err
	}
	if v != nil && vs.SSL.OCSP != "off" {
		ssl := vs.SSL
		v.ocsp = &ocspChecker{leafOnly: ssl.OCSP == "leaf", responder: ssl.OCSPResponder, store: v.store,
			cache: ssl.ocspCache, resolver: ssl.resolver, timeout: ssl.resolverTimeout, log: log,
			number: rt.numberConn}
	}
	t.verifier = v
	return t, nil
}

// ticketKeys are a server's session ticket keys: from its
// ssl_session_ticket_key files, else derived from the process's seed and
// the server's place in the configuration, so that every worker of a
// configuration has the same ones and each server (SSL context) its own,
// as nginx's contexts get random keys in the master.
func ticketKeys(vs *VirtualServer, seed []byte) [][32]byte {
	if len(vs.SSL.TicketKeys) > 0 {
		var out [][32]byte
		for _, k := range vs.SSL.TicketKeys {
			out = append(out, sha256.Sum256(k))
		}
		return out
	}
	mac := hmac.New(sha256.New, seed)
	mac.Write([]byte(vs.File + ":" + strconv.Itoa(vs.Line)))
	var key [32]byte
	copy(key[:], mac.Sum(nil))
	return [][32]byte{key}
}

// peekedConn replays the byte read to tell TLS from plain HTTP. The
// handshake records on it what the variables need; mute drops what
// crypto/tls writes after a rejected handshake's own alert.
type peekedConn struct {
	net.Conn
	first  []byte
	peeked *[]byte // first's buffer, back to peekPool once read again
	// ticketOffered: the ClientHello in the first read offers a
	// session ticket (a resumption, most likely).
	ticketOffered bool
	info          *http1.ConnInfo
	connID        uint64
	mute          bool
	// sock reads and writes the socket under TLS with raw system calls,
	// as a plain connection's (http1.Sock); nil for another net.Conn.
	sock *http1.Sock
}

func (p *peekedConn) Write(b []byte) (int, error) {
	if p.mute {
		return 0, net.ErrClosed
	}
	return http1.WriteVia(p.sock, p.Conn, b)
}

// peekPool holds the buffers of PeekConn's first read: room for a
// ClientHello (with a post-quantum key share, 1.6-2 KB), given back as
// soon as the handshake has taken it.
var peekPool = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

func (p *peekedConn) Read(b []byte) (int, error) {
	if len(p.first) > 0 {
		n := copy(b, p.first)
		p.first = p.first[n:]
		if len(p.first) == 0 {
			peekPool.Put(p.peeked)
			p.first, p.peeked = nil, nil
		}
		return n, nil
	}
	return http1.ReadVia(p.sock, p.Conn, b)
}

// UnderSock is http1.SockUnder: the Conn over TLS steers the record
// layer's socket reads and writes as a plain socket's (its first read's
// deadline, send_timeout armed only for a write that waits).
func (p *peekedConn) UnderSock() *http1.Sock { return p.sock }

// SyscallConn reaches the socket under the wrapper (the first byte was
// read again by the handshake): an idle TLS connection parks on the
// poller, and a proxied request watches for the client's hang-up, as
// nginx does below SSL.
func (p *peekedConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := p.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

// CloseWrite lets the proxy half-close through the wrapper.
func (p *peekedConn) CloseWrite() error {
	if cw, ok := p.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// TLS alerts OpenSSL sends where crypto/tls would send internal_error
// for a failed GetConfigForClient.
const (
	alertHandshakeFailure = 40
	alertInternalError    = 80
	alertUnrecognizedName = 112
)

// fail ends the handshake with a fatal alert of OpenSSL's choice; what
// crypto/tls writes afterwards is dropped.
func (pc *peekedConn) fail(alert byte, err error) error {
	if pc != nil {
		pc.Conn.Write([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, alert})
		pc.mute = true
	}
	return err
}

// The protocols ALPN offers, in nginx's order of preference.
var (
	alpnHTTP1 = []string{"http/1.1", "http/1.0", "http/0.9"}
	alpnHTTP2 = []string{"h2", "http/1.1", "http/1.0", "http/0.9"}
)

// configFor is the per-handshake choice nginx and OpenSSL make: the
// address's default server gives the protocol versions, ciphers and
// curves (they are settled before the servername callback switches
// contexts); the server the SNI name selects gives the certificates,
// the session tickets and the cipher preference, or rejects the
// handshake.
func (ts *tlsSocket) configFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	pc, _ := hello.Conn.(*peekedConn)
	a := ts.sock.Addrs[len(ts.sock.Addrs)-1]
	// The local address is read (getsockname, on a wildcard listener)
	// only when the port has several addresses, as nginx's
	// ngx_http_init_connection.
	if len(ts.sock.Addrs) > 1 {
		if ta, ok := hello.Conn.LocalAddr().(*net.TCPAddr); ok {
			a = ts.sock.AddrFor(ta.IP)
		}
	}
	def := ts.servers[a.Default]
	if def == nil {
		return nil, errors.New("no SSL context")
	}
	srv := def
	info := &tlsInfo{serverName: hello.ServerName, ciphers: hello.CipherSuites, curves: hello.SupportedCurves}
	if hello.ServerName != "" {
		info.sniServer = a.namedServer(lowerASCII(hello.ServerName))
		if t := ts.servers[info.sniServer]; t != nil {
			srv = t
		}
	}
	info.verifier = srv.verifier
	if pc != nil && pc.info != nil {
		pc.info.SSL = info
		info.connID = pc.connID
	}
	if srv.ssl.Reject {
		return nil, pc.fail(alertUnrecognizedName, errors.New("handshake rejected"))
	}
	version := negotiatedVersion(hello.SupportedVersions, def.minV, def.maxV)
	refused := version == 0 && slices.ContainsFunc(def.refused, func(v uint16) bool { return slices.Contains(hello.SupportedVersions, v) })
	if def.maxV == 0 || refused {
		return nil, pc.fail(alertInternalError, errors.New("no protocols available"))
	}
	certs := srv.certs
	if srv.ssl.dynamic() {
		var err error
		if certs, err = srv.loadDynamic(pc); err != nil {
			// ngx_http_ssl_certificate logs it; OpenSSL's certificate
			// callback failure is an internal_error alert.
			ts.logHandshake(pc, "error", err.Error())
			return nil, pc.fail(alertInternalError, err)
		}
	}
	owner := srv // the context whose certificates are sent
	if len(certs) == 0 {
		certs, owner = def.certs, def
	}
	v13 := version == tls.VersionTLS13
	var suite uint16
	var cert *tls.Certificate
	if v13 {
		if cert = chooseCert13(certs, hello.SignatureSchemes, srv.ssl.PreferServer); cert == nil {
			return nil, pc.fail(alertHandshakeFailure, errors.New("no suitable signature algorithm"))
		}
	} else if suite, cert = chooseSuite12(def.suites, hello.CipherSuites, certs, srv.ssl.PreferServer, hello.SupportedCurves, def.curves); cert == nil {
		return nil, pc.fail(alertHandshakeFailure, errors.New("no shared cipher"))
	}
	var groups [maxKeyGroups]tls.CurveID
	order := appendGroupOrder(groups[:0], hello.SupportedCurves, def.curves, !v13 && srv.ssl.PreferServer)
	h := handshakeChoice{def: def, srv: srv, owner: owner, h2: a.Listen.HTTP2, v13: v13, suite: suite, cert: cert, groups: order}
	// A configuration shared by the handshakes that chose alike: a
	// connection keeps its handshake's configuration for its life.
	// A TLS 1.2 client offering a ticket gets a configuration of its
	// own, which sends its ticket back if it resumes (keepTicket).
	keep := !v13 && pc != nil && pc.ticketOffered && srv.ssl.Tickets && def.ssl.Tickets
	key, shared := h.key()
	shared = shared && !srv.ssl.dynamic() && !(len(owner.staplers) > 0 && slices.Contains(hello.Extensions, 5)) &&
		!(srv.ssl.Tickets == def.ssl.Tickets && !srv.ssl.Tickets && def.sessions != nil)
	if shared {
		if cfg := ts.configs.get(key); cfg != nil {
			if keep {
				// The shared one's copy (its slices shared): what a
				// configuration of its own would hold, made again,
				// cost a resumed handshake ~300 bytes more.
				cfg = cfg.Clone()
				srv.sealer.keepTicket(cfg)
			}
			return cfg, nil
		}
	}
	cfg := h.config(hello, info)
	if keep {
		srv.sealer.keepTicket(cfg)
		shared = false
	}
	if shared {
		ts.configs.put(key, cfg)
	}
	return cfg, nil
}

// sessionCreatedAt reads created_at of an encoded tls.SessionState
// (version uint16, type uint8, cipher_suite uint16, created_at uint64),
// -1 when too short.
func sessionCreatedAt(state []byte) int64 {
	if len(state) < 13 {
		return -1
	}
	return int64(binary.BigEndian.Uint64(state[5:13]))
}

// sessionExpired is OpenSSL's test, in whole seconds: a session expires
// once more than timeout has passed (so "0" still resumes within the
// second it was made).
func sessionExpired(created, now int64, timeout time.Duration) bool {
	return created < 0 || now > created+int64(timeout/time.Second)
}

// withStaple is the certificate with its OCSP response when the client
// asked for one (status_request), as OpenSSL calls nginx's status
// callback only then.
func (t *tlsServer) withStaple(cert *tls.Certificate, hello *tls.ClientHelloInfo) tls.Certificate {
	out := *cert
	if len(t.staplers) == 0 || !slices.Contains(hello.Extensions, 5) {
		return out
	}
	for i := range t.certs {
		if &t.certs[i] == cert && t.staplers[i] != nil {
			out.OCSPStaple = t.staplers[i].current()
		}
	}
	return out
}

// logHandshake writes an error of a handshake with nginx's context.
func (ts *tlsSocket) logHandshake(pc *peekedConn, level, msg string) {
	if pc == nil || pc.info == nil {
		ts.log.Log(level, msg)
		return
	}
	ts.log.Log(level, "*"+strconv.FormatUint(pc.connID, 10)+" "+msg+" while SSL handshaking, client: "+
		pc.info.RemoteAddr+", server: "+pc.info.ServerAddress()+":"+pc.info.ServerPortText())
}

// loadDynamic loads the certificates whose names have variables, as
// ngx_http_ssl_certificate does at each handshake: the variables of the
// connection and $ssl_server_name are known.
func (t *tlsServer) loadDynamic(pc *peekedConn) ([]tls.Certificate, error) {
	req := &http1.Request{}
	if pc != nil {
		req.Conn = pc.info
	}
	st := &rewrite.State{Req: req, Values: make([][]byte, t.rc.slots), Valid: make([]bool, t.rc.slots)}
	var out []tls.Certificate
	for i := range t.ssl.certValues {
		certPath := string(t.ssl.certValues[i].Eval(st, nil))
		keyPath := string(t.ssl.keyValues[i].Eval(st, nil))
		pair, err := loadPair(t.rc.resolveConf(certPath), t.rc.resolveConf(keyPath), t.ssl.Passwords)
		if err != nil {
			return nil, err
		}
		out = append(out, pair)
	}
	return out, nil
}

// groupOrder is the order OpenSSL 3.0 picks the key exchange group in:
// the client's (TLS 1.3 takes its first key share the server supports),
// or in TLS 1.2 with ssl_prefer_server_ciphers the server's. crypto/tls
// takes the first of CurvePreferences the client supports (with a key
// share, in TLS 1.3) but in TLS 1.2 the client's first that
// CurvePreferences has: the server's choice is then the only one left.
func groupOrder(client, server []tls.CurveID, preferServer bool) []tls.CurveID {
	return appendGroupOrder(nil, client, server, preferServer)
}

// appendGroupOrder is groupOrder appending to dst (which it returns as
// is when it returns server).
func appendGroupOrder(dst, client, server []tls.CurveID, preferServer bool) []tls.CurveID {
	order, other := client, server
	if preferServer {
		order, other = server, client
	}
	out := dst
	for _, g := range order {
		if slices.Contains(other, g) {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return server
	}
	if preferServer {
		return out[:1]
	}
	return out
}

// negotiatedVersion is the highest version both sides support.
func negotiatedVersion(client []uint16, minV, maxV uint16) uint16 {
	best := uint16(0)
	for _, v := range client {
		if v >= minV && v <= maxV && v > best {
			best = v
		}
	}
	return best
}

// certKind classifies a certificate's key for the signature algorithms
// and cipher suites that can use it.
type certKind uint8

const (
	kindOther certKind = iota
	kindRSA
	kindECDSA
	kindEd25519
)

func kindOf(c *tls.Certificate) (certKind, elliptic.Curve) {
	switch k := c.PrivateKey.(type) {
	case *rsa.PrivateKey:
		return kindRSA, nil
	case *ecdsa.PrivateKey:
		return kindECDSA, k.Curve
	case ed25519.PrivateKey:
		return kindEd25519, nil
	}
	return kindOther, nil
}

// serverSigalgs is OpenSSL 3.0's own signature algorithm order (tls12_sigalgs),
// the preference list when the server's preference counts.
var serverSigalgs = []tls.SignatureScheme{
	tls.ECDSAWithP256AndSHA256, tls.ECDSAWithP384AndSHA384, tls.ECDSAWithP521AndSHA512,
	tls.Ed25519, tls.PSSWithSHA256, tls.PSSWithSHA384, tls.PSSWithSHA512,
}

// chooseCert13 picks the certificate as OpenSSL's tls_choose_sigalg does
// in TLS 1.3: the first shared signature algorithm, in the client's order
// (the server's with ssl_prefer_server_ciphers), that a certificate can
// make; an ECDSA algorithm names the certificate's curve.
func chooseCert13(certs []tls.Certificate, client []tls.SignatureScheme, preferServer bool) *tls.Certificate {
	order, other := client, serverSigalgs
	if preferServer {
		order, other = serverSigalgs, client
	}
	for _, s := range order {
		if !slices.Contains(other, s) {
			continue
		}
		for i := range certs {
			if sigalgFits(&certs[i], s) {
				return &certs[i]
			}
		}
	}
	return nil
}

func sigalgFits(c *tls.Certificate, s tls.SignatureScheme) bool {
	kind, curve := kindOf(c)
	switch s {
	case tls.PSSWithSHA256, tls.PSSWithSHA384, tls.PSSWithSHA512:
		return kind == kindRSA
	case tls.ECDSAWithP256AndSHA256:
		return kind == kindECDSA && curve == elliptic.P256()
	case tls.ECDSAWithP384AndSHA384:
		return kind == kindECDSA && curve == elliptic.P384()
	case tls.ECDSAWithP521AndSHA512:
		return kind == kindECDSA && curve == elliptic.P521()
	case tls.Ed25519:
		return kind == kindEd25519
	}
	return false
}

// chooseSuite12 picks the TLS 1.2 suite and certificate as OpenSSL's
// ssl3_choose_cipher does: the first suite, in the client's order (the
// server's with ssl_prefer_server_ciphers), that both enable, whose key
// exchange has a group both support (ECDHE), and whose authentication a
// certificate provides (an ECDSA one on a curve the client supports);
// the certificate is the first such.
func chooseSuite12(server, client []uint16, certs []tls.Certificate, preferServer bool, clientCurves, serverCurves []tls.CurveID) (uint16, *tls.Certificate) {
	order, other := client, server
	if preferServer {
		order, other = server, client
	}
	sharedGroup := slices.ContainsFunc(clientCurves, func(c tls.CurveID) bool { return slices.Contains(serverCurves, c) })
	for _, id := range order {
		if !slices.Contains(other, id) {
			continue
		}
		s := goSuites[id]
		if s == nil || s.kx == "kECDHE" && !sharedGroup {
			continue
		}
		for i := range certs {
			k, curve := kindOf(&certs[i])
			if k != s.auth {
				continue
			}
			if k == kindECDSA && len(clientCurves) > 0 && !slices.Contains(clientCurves, curveID(curve)) {
				continue
			}
			return id, &certs[i]
		}
	}
	return 0, nil
}

// curveID is the TLS group of an ECDSA key's curve.
func curveID(c elliptic.Curve) tls.CurveID {
	switch c {
	case elliptic.P256():
		return tls.CurveP256
	case elliptic.P384():
		return tls.CurveP384
	case elliptic.P521():
		return tls.CurveP521
	}
	return 0
}

// tlsInfo is what a TLS connection's handshake settled, for the $ssl_*
// variables (http1.ConnInfo.SSL).
type tlsInfo struct {
	serverName string // as the client sent it
	ciphers    []uint16
	curves     []tls.CurveID
	state      handshakeState
	sessionID  [32]byte
	// sniServer is the server the SNI name selected by name (nginx's
	// hc->ssl_servername), nil when the name selected none.
	sniServer *VirtualServer
	// verifier is the client verification of the context the handshake
	// ran with; verifyCode its result for the client's certificate
	// (SSL_get_verify_result), ocspError the OCSP check's failure.
	verifier   *clientVerifier
	verifyCode int
	ocspError  string
	connID     uint64 // for the OCSP check's log lines
	// sessionIDSet: sessionID is the session cache's key of the session
	// (resumed: the session was found there).
	sessionIDSet, resumed bool
}

// SNI is http1.TLSRecord's: the server name, lowercased (made again
// for a name sent with capitals, which clients rarely send).
func (t *tlsInfo) SNI() string { return lowerASCII(t.serverName) }

// handshakeState is what the variables read of the handshake's
// tls.ConnectionState, which is 192 bytes a connection held for its life.
type handshakeState struct {
	Version, CipherSuite uint16
	CurveID              tls.CurveID
	DidResume            bool
	NegotiatedProtocol   string
	PeerCertificates     []*x509.Certificate
}

func handshakeStateOf(cs tls.ConnectionState) handshakeState {
	return handshakeState{Version: cs.Version, CipherSuite: cs.CipherSuite, CurveID: cs.CurveID, DidResume: cs.DidResume,
		NegotiatedProtocol: cs.NegotiatedProtocol, PeerCertificates: cs.PeerCertificates}
}

// peer is the client's certificate, nil when it sent none.
func (t *tlsInfo) peer() *x509.Certificate {
	if len(t.state.PeerCertificates) == 0 {
		return nil
	}
	return t.state.PeerCertificates[0]
}
