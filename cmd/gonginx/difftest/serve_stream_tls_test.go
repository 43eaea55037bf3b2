package difftest

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
