package location

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// helloConn is the connection a ClientHelloInfo names: configFor reads
// only its local address.
type helloConn struct{ net.Conn }

func (helloConn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 19443} }

// TestConfigShared: handshakes that choose alike share one
// configuration; another SNI server, another group order or another
// protocol version get theirs, with what they chose.
func TestConfigShared(t *testing.T) {
	dir, err := filepath.Abs("../examples/article")
	if err != nil {
		t.Fatal(err)
	}
	certs := " ssl_certificate " + dir + "/cert.pem; ssl_certificate_key " + dir + "/key.pem; "
	rt := compileConf(t, "ssl_protocols TLSv1.2 TLSv1.3; server { listen 127.0.0.1:19443 ssl; server_name a.test;"+certs+"}"+
		" server { listen 127.0.0.1:19443 ssl; server_name b.test;"+certs+"ssl_session_tickets off; }")
	tc, err := rt.TLSConfig(rt.Sockets[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	var conn net.Conn = helloConn{}
	hello := func(name string, curves []tls.CurveID, versions ...uint16) *tls.Config {
		cfg, err := tc.GetConfigForClient(&tls.ClientHelloInfo{
			ServerName:        name,
			CipherSuites:      []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
			SupportedCurves:   curves,
			SupportedVersions: versions,
			SignatureSchemes:  []tls.SignatureScheme{tls.PSSWithSHA256, tls.PKCS1WithSHA256},
			Conn:              conn,
		})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	goCurves := []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}
	a := hello("a.test", goCurves, tls.VersionTLS12)
	type view struct {
		Same, TicketsOff bool
		Suites           []uint16
		Curves           []tls.CurveID
	}
	see := func(cfg *tls.Config) view {
		return view{cfg == a, cfg.SessionTicketsDisabled, cfg.CipherSuites, cfg.CurvePreferences}
	}
	for _, tt := range []struct {
		name string
		cfg  *tls.Config
		want view
	}{
		{"alike", hello("a.test", goCurves, tls.VersionTLS12), view{true, false, []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, goCurves}},
		{"other server", hello("b.test", goCurves, tls.VersionTLS12), view{false, true, []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, goCurves}},
		{"other order", hello("a.test", []tls.CurveID{tls.CurveP256, tls.X25519}, tls.VersionTLS12),
			view{false, false, []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, []tls.CurveID{tls.CurveP256, tls.X25519}}},
		{"TLS 1.3", hello("a.test", goCurves, tls.VersionTLS13, tls.VersionTLS12), view{false, false, nil, goCurves}},
	} {
		if d := cmp.Diff(tt.want, see(tt.cfg)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
	// One that offers a ticket gets its own, to send the ticket back.
	conn = &peekedConn{Conn: helloConn{}, ticketOffered: true}
	for _, tt := range []struct {
		name string
		cfg  *tls.Config
		want view
	}{
		{"offers a ticket", hello("a.test", goCurves, tls.VersionTLS12), view{false, false, []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, goCurves}},
		{"offers a ticket, TLS 1.3", hello("a.test", goCurves, tls.VersionTLS13, tls.VersionTLS12), view{false, false, nil, goCurves}},
	} {
		if d := cmp.Diff(tt.want, see(tt.cfg)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}
