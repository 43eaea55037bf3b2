package location

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

func suiteNames(ids []uint16) []string {
	var out []string
	for _, id := range ids {
		out = append(out, opensslCipherNames[id])
	}
	return out
}

// The lists were checked with `openssl ciphers -V LIST` (OpenSSL 3.0.19),
// keeping the suites crypto/tls implements.
func TestOpensslSuites(t *testing.T) {
	tests := []struct {
		list  string
		want  []string
		level int
	}{
		{"HIGH:!aNULL:!MD5", []string{"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
			"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-GCM-SHA256",
			"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
			"ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
			"AES256-GCM-SHA384", "AES128-GCM-SHA256", "AES128-SHA256", "AES256-SHA", "AES128-SHA"}, 1},
		{"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE+AES128:!SHA1",
			[]string{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
				"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256"}, 1},
		// "+X" moves to the end; "-X" may be added again, at the end.
		{"ECDHE+AESGCM:+AES128", []string{"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
			"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"}, 1},
		{"kRSA:-AES256:AES", []string{"AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA",
			"AES256-GCM-SHA384", "AES256-SHA", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256",
			"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
			"ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA"}, 1},
		{"AES128-SHA:AES256-SHA:@STRENGTH", []string{"AES256-SHA", "AES128-SHA"}, 1},
		// Unknown words are skipped; DEFAULT at the start is ALL here.
		{"DEFAULT:ECCdraft:!kRSA:!SHA1:!SHA256:!SHA384", []string{"ECDHE-ECDSA-AES256-GCM-SHA384",
			"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
			"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"}, 1},
		{"DHE-RSA-AES128-GCM-SHA256:AESCCM", nil, 1},
		{"ALL:@SECLEVEL=0:!aECDSA:!SHA1:!SHA256:!AESGCM", []string{"ECDHE-RSA-CHACHA20-POLY1305"}, 0},
	}
	for _, tt := range tests {
		suites, level := opensslSuites(tt.list)
		if d := cmp.Diff(tt.want, suiteNames(suites)); d != "" || level != tt.level {
			t.Errorf("%s: level %d (want %d) (-want +got):\n%s", tt.list, level, tt.level, d)
		}
	}
}

func TestProtocolRange(t *testing.T) {
	tests := []struct {
		protocols  []string
		level      int
		wantMin    uint16
		wantMax    uint16
		wantRefuse bool
	}{
		{defaultSSLProtocols, 1, tls.VersionTLS12, tls.VersionTLS12, false},
		{[]string{"TLSv1.2", "TLSv1.3"}, 1, tls.VersionTLS12, tls.VersionTLS13, false},
		{[]string{"TLSv1", "TLSv1.1"}, 1, 0, 0, false},
		{[]string{"TLSv1", "TLSv1.1"}, 0, tls.VersionTLS10, tls.VersionTLS11, false},
		{[]string{"SSLv3", "TLSv1.3"}, 1, tls.VersionTLS13, tls.VersionTLS13, false},
	}
	for _, tt := range tests {
		lo, hi := protocolRange(tt.protocols, tt.level)
		if lo != tt.wantMin || hi != tt.wantMax {
			t.Errorf("%v level %d: got %x-%x, want %x-%x", tt.protocols, tt.level, lo, hi, tt.wantMin, tt.wantMax)
		}
	}
}

func testCerts(t *testing.T) (rsaCert, p256Cert, p384Cert tls.Certificate) {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ek384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	return tls.Certificate{PrivateKey: rk}, tls.Certificate{PrivateKey: ek}, tls.Certificate{PrivateKey: ek384}
}

func TestChooseCertificate(t *testing.T) {
	rsaC, p256, p384 := testCerts(t)
	certs := []tls.Certificate{p256, rsaC, p384}
	name := func(c *tls.Certificate) string {
		if c == nil {
			return "none"
		}
		switch k := c.PrivateKey.(type) {
		case *rsa.PrivateKey:
			return "rsa"
		case *ecdsa.PrivateKey:
			return "ec" + k.Curve.Params().Name
		}
		return "?"
	}
	tls13 := []struct {
		name   string
		client []tls.SignatureScheme
		prefer bool
		want   string
	}{
		// Go's and OpenSSL's clients: the first shared one the certificates can make.
		{"pss first", []tls.SignatureScheme{tls.PSSWithSHA256, tls.ECDSAWithP256AndSHA256}, false, "rsa"},
		{"ecdsa first", []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, tls.PSSWithSHA256}, false, "ecP-256"},
		{"p384 only", []tls.SignatureScheme{tls.ECDSAWithP384AndSHA384}, false, "ecP-384"},
		{"server order", []tls.SignatureScheme{tls.PSSWithSHA256, tls.ECDSAWithP256AndSHA256}, true, "ecP-256"},
		{"pkcs1 is not for tls 1.3", []tls.SignatureScheme{tls.PKCS1WithSHA256}, false, "none"},
		{"ed25519 without such a certificate", []tls.SignatureScheme{tls.Ed25519}, false, "none"},
	}
	for _, tt := range tls13 {
		if got := name(chooseCert13(certs, tt.client, tt.prefer)); got != tt.want {
			t.Errorf("tls 1.3 %s: got %s, want %s", tt.name, got, tt.want)
		}
	}
	server, _ := opensslSuites("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:AES128-SHA")
	allCurves := []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}
	serverCurves := tlsCurves("auto")
	tls12 := []struct {
		name      string
		client    []uint16
		curves    []tls.CurveID
		certs     []tls.Certificate
		prefer    bool
		wantSuite string
		wantCert  string
	}{
		{"client order", []uint16{0xc02b, 0xc02f}, allCurves, certs, false, "ECDHE-ECDSA-AES128-GCM-SHA256", "ecP-256"},
		{"server order", []uint16{0xc02b, 0xc02f}, allCurves, certs, true, "ECDHE-RSA-AES128-GCM-SHA256", "rsa"},
		{"no ecdsa certificate", []uint16{0xc02b, 0xc02f}, allCurves, []tls.Certificate{rsaC}, false, "ECDHE-RSA-AES128-GCM-SHA256", "rsa"},
		{"rsa key exchange", []uint16{0x002f}, allCurves, certs, false, "AES128-SHA", "rsa"},
		{"not enabled", []uint16{0xc030}, allCurves, certs, false, "", "none"},
		{"ecdsa certificate on a curve the client lacks", []uint16{0xc02b, 0xc02f}, []tls.CurveID{tls.X25519, tls.CurveP384},
			[]tls.Certificate{p256, rsaC}, false, "ECDHE-RSA-AES128-GCM-SHA256", "rsa"},
		{"no shared group: no ecdhe", []uint16{0xc02f, 0x002f}, []tls.CurveID{30}, certs, false, "AES128-SHA", "rsa"},
	}
	for _, tt := range tls12 {
		id, c := chooseSuite12(server, tt.client, tt.certs, tt.prefer, tt.curves, serverCurves)
		if got := opensslCipherNames[id]; got != tt.wantSuite || name(c) != tt.wantCert {
			t.Errorf("tls 1.2 %s: got %s %s, want %s %s", tt.name, got, name(c), tt.wantSuite, tt.wantCert)
		}
	}
}

// Keys as OpenSSL 3 writes them encrypted (openssl pkcs8 -topk8 -v2 ...,
// openssl ec -aes128), opened with the passwords of ssl_password_file.
func TestDecryptKeyPEM(t *testing.T) {
	plain, err := os.ReadFile("testdata/tls/plain.key")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(plain)
	wantKey, err := x509.ParseECPrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file      string
		passwords []string
		ok        bool
	}{
		{"pbes2.key", []string{"wrong", "secret"}, true},
		{"pbes2-sha512-aes256.key", []string{"secret"}, true},
		{"legacy.key", []string{"secret"}, true},
		{"pbes2.key", []string{"wrong"}, false},
		{"legacy.key", nil, false},
		{"plain.key", nil, true},
	}
	for _, tt := range tests {
		data, err := os.ReadFile("testdata/tls/" + tt.file)
		if err != nil {
			t.Fatal(err)
		}
		out, ok := decryptKeyPEM(data, tt.passwords)
		if ok != tt.ok {
			t.Errorf("%s with %q: ok = %v, want %v", tt.file, tt.passwords, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		b, _ := pem.Decode(out)
		var key any
		if b.Type == "PRIVATE KEY" {
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		} else {
			key, err = x509.ParseECPrivateKey(b.Bytes)
		}
		if err != nil || !wantKey.Equal(key) {
			t.Errorf("%s: decrypted key differs (%v)", tt.file, err)
		}
	}
}

// The $ssl_* variables print what OpenSSL names (suites, groups, versions),
// are empty on plain connections, and $ssl_client_verify is NONE over TLS.
func TestSSLVariables(t *testing.T) {
	rc := rewrite.NewCompiler()
	addSSLVariables(rc)
	cv, err := rc.Complex("$ssl_protocol|$ssl_cipher|$ssl_ciphers|$ssl_curve|$ssl_curves|$ssl_server_name|" +
		"$ssl_session_reused|$ssl_alpn_protocol|$ssl_client_verify|$ssl_client_cert|$ssl_early_data")
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Finish(); err != nil {
		t.Fatal(err)
	}
	info := &tlsInfo{
		serverName: "Example.COM",
		ciphers:    []uint16{0x1301, 0xc02f, 0x0a0a, 0x00ff},
		curves:     []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, 30, 256},
		state: handshakeState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256,
			CurveID: tls.X25519, DidResume: true, NegotiatedProtocol: "http/1.1"},
	}
	eval := func(ci *http1.ConnInfo) string {
		st := &rewrite.State{Req: &http1.Request{Conn: ci}}
		return string(cv.Eval(st, nil))
	}
	want := "TLSv1.3|TLS_AES_128_GCM_SHA256|TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256:0x0a0a:" +
		"TLS_EMPTY_RENEGOTIATION_INFO_SCSV|X25519|0x11ec:X25519:prime256v1:X448:ffdhe2048|Example.COM|r|http/1.1|NONE||"
	if d := cmp.Diff(want, eval(&http1.ConnInfo{TLS: true, SSL: info})); d != "" {
		t.Errorf("tls (-want +got):\n%s", d)
	}
	if d := cmp.Diff("||||||||||", eval(&http1.ConnInfo{})); d != "" {
		t.Errorf("plain (-want +got):\n%s", d)
	}
}

// recordingConn keeps the TLS record types the client received.
type recordingConn struct {
	net.Conn
	raw []byte
}

func (r *recordingConn) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.raw = append(r.raw, b[:n]...)
	return n, err
}

// lastRecordType walks TLS records and returns the type of the last one.
func lastRecordType(raw []byte) byte {
	var typ byte
	for len(raw) >= 5 {
		n := int(raw[3])<<8 | int(raw[4])
		if len(raw) < 5+n {
			break
		}
		typ, raw = raw[0], raw[5+n:]
	}
	return typ
}

// A connection that ends after a response sends close_notify first, as
// ngx_ssl_shutdown (OpenSSL clients keep a TLS 1.2 session only then), and
// a session ticket resumes on the next connection ($ssl_session_reused),
// which gets the same ticket back (OpenSSL renews none of the current
// key; the resumption's configuration is the first connection's copy).
func TestTLSCloseNotifyAndResumption(t *testing.T) {
	dir := t.TempDir()
	writeTestCert(t, dir)
	ts := startTest(t, `server { listen 127.0.0.1:PORT ssl; ssl_certificate `+dir+`/cert.pem; ssl_certificate_key `+dir+`/key.pem;
		return 200 "reused=$ssl_session_reused\n"; }`)
	cache := tls.NewLRUClientSessionCache(4)
	var tickets [][]byte
	for i, want := range []string{"reused=.", "reused=r", "reused=r"} {
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		rc := &recordingConn{Conn: nc}
		c := tls.Client(rc, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, ClientSessionCache: cache})
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if !strings.HasSuffix(string(resp), want+"\n") {
			t.Errorf("connection %d: got %q, want it to end with %q", i, resp, want)
		}
		if typ := lastRecordType(rc.raw); typ != 0x15 {
			t.Errorf("connection %d: last record type %#x, want an alert (close_notify)", i, typ)
		}
		if cs, ok := cache.Get(ts.addr); ok {
			ticket, _, _ := cs.ResumptionState()
			tickets = append(tickets, ticket)
		}
	}
	if len(tickets) != 3 || !bytes.Equal(tickets[0], tickets[1]) || !bytes.Equal(tickets[1], tickets[2]) {
		t.Errorf("tickets after each connection differ (or are missing): %d kept", len(tickets))
	}
}

// Settings that crypto/tls cannot honour at all refuse to start, naming
// the directive; partly honoured lists serve what it implements.
func TestSSLRefusals(t *testing.T) {
	tests := []struct {
		name, server, want string
	}{
		{"curves none implemented", "ssl_ecdh_curve X448:brainpoolP256r1;", `"X448:brainpoolP256r1" value of "ssl_ecdh_curve" directive is not supported by gonginx (no group it implements)`},
		{"curves partly", "ssl_ecdh_curve X448:prime256v1;", ""},
		{"ciphers none implemented", "ssl_ciphers DHE-RSA-AES128-GCM-SHA256:AESCCM;", `"DHE-RSA-AES128-GCM-SHA256:AESCCM" value of "ssl_ciphers" directive is not supported by gonginx (no cipher suite it implements)`},
		{"ciphers only for tls 1.3", "ssl_protocols TLSv1.3; ssl_ciphers DHE-RSA-AES128-GCM-SHA256;", ""},
		{"ciphers partly", "ssl_ciphers DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256;", ""},
		{"conf_command served", "ssl_conf_command Options -SessionTicket,ServerPreference;", ""},
		{"conf_command option", "ssl_conf_command Options PrioritizeChaCha;", `"PrioritizeChaCha" option of "ssl_conf_command Options" is not supported by gonginx`},
		{"conf_command name", "ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;", `"Ciphersuites" command of "ssl_conf_command" is not supported by gonginx`},
		{"ocsp with optional_no_ca", "ssl_verify_client optional_no_ca; ssl_ocsp on;", `"ssl_ocsp" is incompatible with "ssl_verify_client optional_no_ca"`},
	}
	for _, tt := range tests {
		cfg := loadConf(t, `server { listen 127.0.0.1:8443 ssl; ssl_certificate c.pem; ssl_certificate_key k.pem; `+tt.server+` }`)
		_, err := Compile(cfg, Options{Serving: true})
		got := ""
		if err != nil {
			got = err.(*nginxconf.Error).Msg
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func BenchmarkSSLVariables(b *testing.B) {
	rc := rewrite.NewCompiler()
	addSSLVariables(rc)
	cv, err := rc.Complex("$ssl_protocol $ssl_cipher $ssl_curve $ssl_server_name $ssl_session_reused $ssl_ciphers $ssl_curves")
	if err != nil {
		b.Fatal(err)
	}
	if err := rc.Finish(); err != nil {
		b.Fatal(err)
	}
	info := &tlsInfo{serverName: "example.com", ciphers: []uint16{0x1301, 0x1302, 0xc02f, 0xc030, 0x00ff},
		curves: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256},
		state:  handshakeState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, CurveID: tls.X25519}}
	st := &rewrite.State{Req: &http1.Request{Conn: &http1.ConnInfo{TLS: true, SSL: info}}}
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		dst = cv.Eval(st, dst[:0])
	}
}

func TestSessionExpired(t *testing.T) {
	for _, tt := range []struct {
		created, now int64
		timeout      time.Duration
		want         bool
	}{
		{100, 100, 0, false},
		{100, 101, 0, true},
		{100, 400, 300 * time.Second, false},
		{100, 401, 300 * time.Second, true},
	} {
		if got := sessionExpired(tt.created, tt.now, tt.timeout); got != tt.want {
			t.Errorf("created %d, now %d, timeout %v: got %v, want %v", tt.created, tt.now, tt.timeout, got, tt.want)
		}
	}
}

func TestGroupOrder(t *testing.T) {
	server := tlsCurves("secp384r1:X25519:prime256v1")
	for _, tt := range []struct {
		name   string
		client []tls.CurveID
		prefer bool
		want   []tls.CurveID
	}{
		{"client order", []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}, false,
			[]tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}},
		{"server order (tls 1.2)", []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}, true,
			[]tls.CurveID{tls.CurveP384}},
		{"none shared", []tls.CurveID{30}, false, server},
	} {
		if d := cmp.Diff(tt.want, groupOrder(tt.client, server, tt.prefer)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}

// TestPeekConn: what the first read took is read again, in pieces as
// crypto/tls asks for them, then the socket's next bytes.
func TestPeekConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(10 * time.Second))
	hello := append([]byte{0x16}, bytes.Repeat([]byte("h"), 1000)...)
	c.Write(hello)
	pc, first, err := PeekConn(s, nil, 1)
	if err != nil || first != 0x16 {
		t.Fatalf("first %#x, %v", first, err)
	}
	c.Write([]byte("next"))
	var got []byte
	buf := make([]byte, 300)
	for len(got) < len(hello)+4 {
		n, err := pc.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if d := cmp.Diff(string(hello)+"next", string(got)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	c.Close()
	if _, _, err := PeekConn(s, nil, 2); err == nil {
		t.Error("a closed connection peeked")
	}
}
