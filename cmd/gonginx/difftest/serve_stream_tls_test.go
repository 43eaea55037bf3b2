package difftest

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
)

// The stream module's TLS termination against nginx's: the suite chosen
// in the client's order or, with ssl_prefer_server_ciphers, the server's
// (crypto/tls has an order of its own), ssl_ecdh_curve's group, and
// ssl_conf_command (Options SessionTicket and ServerPreference set and
// cleared, Certificate and PrivateKey adding an ECDSA certificate).
const streamTLSConf = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
stream {
    ssl_certificate DIR/cert.pem;
    ssl_certificate_key DIR/key.pem;
    ssl_protocols TLSv1.2;
    server {
        listen 127.0.0.1:PORT ssl;
        ssl_session_tickets off;
        ssl_conf_command Options SessionTicket;
        ssl_prefer_server_ciphers on;
        ssl_conf_command Options -ServerPreference;
        ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256;
        ssl_conf_command Certificate ec.pem;
        ssl_conf_command PrivateKey ec.key;
        return "$ssl_cipher $ssl_session_reused\n";
    }
    server {
        listen 127.0.0.1:PREFERPORT ssl;
        ssl_prefer_server_ciphers on;
        ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256;
        ssl_ecdh_curve secp384r1:prime256v1;
        return "$ssl_cipher $ssl_curve\n";
    }
    server {
        listen 127.0.0.1:NOTICKETPORT ssl;
        ssl_conf_command Options -SessionTicket,ServerPreference;
        ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256;
        return "$ssl_cipher $ssl_session_reused\n";
    }
    server {
        listen 127.0.0.1:KEYAPORT ssl;
        ssl_session_ticket_key ticket.key;
        ssl_session_timeout 1h;
        return "$ssl_session_reused\n";
    }
    server {
        listen 127.0.0.1:KEYBPORT ssl;
        ssl_session_ticket_key ticket.key;
        return "$ssl_session_reused\n";
    }
    server {
        listen 127.0.0.1:NOKEYPORT ssl;
        return "$ssl_session_reused\n";
    }
}
`

// streamTLSRead makes a TLS connection with cfg and reads what the
// server returns until it closes.
func streamTLSRead(port int, cfg *tls.Config) string {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", "127.0.0.1:"+strconv.Itoa(port), cfg)
	if err != nil {
		return "handshake: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	return strconv.Quote(string(b))
}

func TestServeStreamTLSChoice(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_stream_module.so"); err != nil {
		t.Fatal("nginx's stream module is needed (Debian's nginx package installs it):", err)
	}
	ec, ecKey := ecCert(t, "override.test")
	ticketKey := strings.Repeat("0123456789abcdef", 3) // 48 bytes, as nginx reads them
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		files := map[string]string{"ec.pem": ec, "ec.key": ecKey, "ticket.key": ticketKey}
		for _, f := range []string{"cert.pem", "key.pem"} {
			b, err := os.ReadFile(filepath.Join(serveAssets(t), f))
			if err != nil {
				t.Fatal(err)
			}
			files[f] = string(b)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		p := map[string]int{}
		conf := streamTLSConf
		for _, n := range []string{"PREFERPORT", "NOTICKETPORT", "KEYAPORT", "KEYBPORT", "NOKEYPORT"} {
			p[n] = freeTCPPort(t)
			conf = strings.ReplaceAll(conf, n, strconv.Itoa(p[n]))
		}
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf, port)
		var out []string
		add := func(name, v string) { out = append(out, name+": "+v) }
		cache := tls.NewLRUClientSessionCache(4)
		cfg := func() *tls.Config {
			return &tls.Config{InsecureSkipVerify: true, ClientSessionCache: cache}
		}
		add("client order, ECDSA certificate by command", streamTLSRead(port, cfg()))
		add("resumed: tickets on by command", streamTLSRead(port, cfg()))
		rsaOnly := cfg()
		rsaOnly.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}
		add("client order, RSA suites only", streamTLSRead(port, rsaOnly))
		add("server order and group", streamTLSRead(p["PREFERPORT"], cfg()))
		add("server order by command, no tickets", streamTLSRead(p["NOTICKETPORT"], cfg()))
		add("not resumed: tickets off by command", streamTLSRead(p["NOTICKETPORT"], cfg()))
		// ssl_session_ticket_key: a ticket of one server resumes on
		// another with the same key file, not on one without.
		named := tls.NewLRUClientSessionCache(4)
		ncfg := func() *tls.Config {
			return &tls.Config{InsecureSkipVerify: true, ClientSessionCache: named, ServerName: "ticket.test"}
		}
		add("ticket key: first", streamTLSRead(p["KEYAPORT"], ncfg()))
		add("ticket key: same key elsewhere", streamTLSRead(p["KEYBPORT"], ncfg()))
		add("ticket key: another server without", streamTLSRead(p["NOKEYPORT"], ncfg()))
		m.quit()
		got[im.name] = out
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("stream TLS (-nginx +gonginx):\n%s", diff)
	}
}

// ssl_verify_client in stream{} with the http side's verification:
// chains, purposes, expiry, optional_no_ca's leniency and ssl_crl.
const streamVerifyConf = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
stream {
    ssl_certificate DIR/cert.pem;
    ssl_certificate_key DIR/key.pem;
    ssl_client_certificate ca.pem;
    server {
        listen 127.0.0.1:PORT ssl;
        ssl_verify_client on;
        return "$ssl_client_verify\n";
    }
    server {
        listen 127.0.0.1:NOCAPORT ssl;
        ssl_verify_client optional_no_ca;
        return "$ssl_client_verify\n";
    }
    server {
        listen 127.0.0.1:CRLPORT ssl;
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_crl crl.pem;
        return "$ssl_client_verify\n";
    }
}
`

func TestServeStreamVerifyClient(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_stream_module.so"); err != nil {
		t.Fatal("nginx's stream module is needed (Debian's nginx package installs it):", err)
	}
	ca := harness.NewCA("stream root")
	other := harness.NewCA("other root")
	inter := ca.Intermediate("stream intermediate")
	now := time.Now()
	later := now.Add(36 * time.Hour)
	revoked := ca.Issue(harness.CertSpec{CN: "revoked client", Client: true, NotAfter: later})
	viaInter := inter.Issue(harness.CertSpec{CN: "chained client", Client: true, NotAfter: later})
	chained := viaInter.TLS
	chained.Certificate = append(chained.Certificate, inter.Cert.Raw)
	certs := []struct {
		name string
		cert tls.Certificate
	}{
		{"good", ca.Issue(harness.CertSpec{CN: "good client", Client: true, NotAfter: later}).TLS},
		{"chained", chained},
		{"expired", ca.Issue(harness.CertSpec{CN: "expired", Client: true, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}).TLS},
		{"foreign", other.Issue(harness.CertSpec{CN: "foreign", Client: true, NotAfter: later}).TLS},
		{"server use", ca.Issue(harness.CertSpec{CN: "server purpose", NotAfter: later}).TLS},
		{"revoked", revoked.TLS},
	}
	keep := regexp.MustCompile(`client SSL certificate verify error|client sent no required`)
	type result struct{ Clients, Log []string }
	got := map[string]result{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		files := map[string]string{"ca.pem": ca.PEM, "crl.pem": ca.CRL(revoked.Serial) + inter.CRL()}
		for _, f := range []string{"cert.pem", "key.pem"} {
			b, err := os.ReadFile(filepath.Join(serveAssets(t), f))
			if err != nil {
				t.Fatal(err)
			}
			files[f] = string(b)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		p := map[string]int{"NOCAPORT": freeTCPPort(t), "CRLPORT": freeTCPPort(t)}
		conf := strings.NewReplacer("NOCAPORT", strconv.Itoa(p["NOCAPORT"]), "CRLPORT", strconv.Itoa(p["CRLPORT"])).Replace(streamVerifyConf)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf, port)
		var r result
		for _, srv := range []struct {
			name string
			port int
		}{{"on", port}, {"optional_no_ca", p["NOCAPORT"]}, {"crl", p["CRLPORT"]}} {
			r.Clients = append(r.Clients, srv.name+", none: "+streamTLSRead(srv.port, &tls.Config{InsecureSkipVerify: true}))
			for _, c := range certs {
				cfg := &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{c.cert}}
				r.Clients = append(r.Clients, srv.name+", "+c.name+": "+streamTLSRead(srv.port, cfg))
			}
		}
		m.quit()
		r.Log = logLines(t, filepath.Join(dir, "error.log"), keep, dir)
		got[im.name] = r
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("stream ssl_verify_client (-nginx +gonginx):\n%s", diff)
	}
}
