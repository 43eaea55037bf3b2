package difftest

// The stream module side by side: nginx and gonginx run the same stream{}
// config (master and worker, as root), with a TCP and a UDP backend of the
// test's own; what each client gets, what the backends see, the access log
// lines and the session lines of the error log are compared.

import (
	"bufio"
	"crypto/tls"

	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// streamBackends are a TCP echo backend (each connection's bytes come
// back prefixed with its name, once the client half-closes or after the
// first read) and a UDP one; they record what arrives.
type streamBackends struct {
	mu   sync.Mutex
	seen []string
	lns  []net.Listener
	pcs  []net.PacketConn
}

func (b *streamBackends) record(s string) {
	b.mu.Lock()
	b.seen = append(b.seen, s)
	b.mu.Unlock()
}

func (b *streamBackends) tcp(t *testing.T, name string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.lns = append(b.lns, ln)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 4096)
				n, _ := c.Read(buf)
				got := string(buf[:n])
				// A PROXY protocol line is recorded without the ports
				// the client chose.
				if strings.HasPrefix(got, "PROXY ") {
					line, rest, _ := strings.Cut(got, "\r\n")
					f := strings.Fields(line)
					if len(f) == 6 {
						f[4], f[5] = "PORT", "LISTEN"
					}
					b.record(name + " got proxy header " + strings.Join(f, " "))
					got = rest
					if got == "" {
						n, _ = c.Read(buf)
						got = string(buf[:n])
					}
				}
				if strings.HasPrefix(got, "\x16\x03") {
					b.record(name + " got a TLS record")
					c.Write([]byte(name + ":tls"))
					return
				}
				b.record(name + " got " + strconv.Quote(got))
				c.Write([]byte(name + ":" + got))
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// resetting is a TCP backend that reads a client's first bytes and
// resets the connection (SO_LINGER 0).
func (b *streamBackends) resetting(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.lns = append(b.lns, ln)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Read(make([]byte, 100))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// holding is a TCP backend that reads until its client's end, saying on
// got when the first bytes came.
func (b *streamBackends) holding(t *testing.T, got chan<- struct{}) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.lns = append(b.lns, ln)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 100)
				if _, err := c.Read(buf); err != nil {
					return
				}
				got <- struct{}{}
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func (b *streamBackends) udp(t *testing.T, name string) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.pcs = append(b.pcs, pc)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			b.record(name + " got datagram " + strconv.Quote(string(buf[:n])))
			pc.WriteTo([]byte(name+":"+string(buf[:n])), addr)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

func (b *streamBackends) close() {
	for _, ln := range b.lns {
		ln.Close()
	}
	for _, pc := range b.pcs {
		pc.Close()
	}
}

const streamConf = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
stream {
    log_format s '$protocol $remote_addr $status $bytes_sent $bytes_received '
                 '"$upstream_addr" "$upstream_bytes_sent" "$upstream_bytes_received" '
                 '"$ssl_preread_server_name" "$ssl_preread_protocol" "$ssl_preread_alpn_protocols" '
                 '"$route" "$name" $server_port';
    access_log DIR/stream.log s;
    # access_log takes the first format whose name matches caselessly,
    # an exact match defined later or not.
    log_format Caseless 'first $status';
    log_format caseless 'second $status';
    map $ssl_preread_server_name $route {
        b.example b;
        default a;
    }
    upstream a { server 127.0.0.1:APORT; }
    upstream b { server 127.0.0.1:BPORT; }
    upstream down_then_a { server 127.0.0.1:DOWNPORT; server 127.0.0.1:APORT backup; }
    server {
        listen 127.0.0.1:PORT;
        proxy_pass a;
    }
    server {
        listen 127.0.0.1:RETPORT;
        set $name "ret-$remote_addr";
        return "$name $server_port\n";
    }
    server {
        listen 127.0.0.1:PREPORT;
        ssl_preread on;
        proxy_pass $route;
    }
    server {
        listen 127.0.0.1:DENYPORT;
        access_log DIR/caseless.log caseless;
        deny 127.0.0.1;
        return "no";
    }
    server {
        listen 127.0.0.1:PPPORT;
        proxy_protocol on;
        proxy_pass 127.0.0.1:BPORT;
    }
    server {
        listen 127.0.0.1:NEXTPORT;
        proxy_pass down_then_a;
    }
    server {
        listen 127.0.0.1:HOLDPORT;
        proxy_pass 127.0.0.1:HBACKEND;
    }
    server {
        listen 127.0.0.1:RSTPORT;
        proxy_pass 127.0.0.1:RBACKEND;
    }
    server {
        listen 127.0.0.1:BADPORT;
        proxy_pass 127.0.0.1:DOWNPORT;
    }
    server {
        listen 127.0.0.1:TLSPORT ssl;
        ssl_certificate DIR/cert.pem;
        ssl_certificate_key DIR/key.pem;
        ssl_protocols TLSv1.2;
        proxy_pass a;
    }
    server {
        listen 127.0.0.1:TLSRETPORT ssl;
        ssl_certificate DIR/cert.pem;
        ssl_certificate_key DIR/key.pem;
        ssl_protocols TLSv1.2;
        return "$ssl_protocol $ssl_server_name $ssl_session_reused\n";
    }
    server {
        listen 127.0.0.1:UDPPORT udp;
        proxy_pass 127.0.0.1:UPORT;
        proxy_responses 1;
        proxy_timeout 2s;
    }
}
`

// streamClient sends data on a TCP connection, half-closes it and reads
// all it gets back.
func streamClient(t *testing.T, port int, data []byte) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		return "connect: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if len(data) > 0 {
		c.Write(data)
	}
	b, _ := io.ReadAll(c)
	return strconv.Quote(string(b))
}

// streamHalfClose sends data, half-closes the connection and reads all
// it gets back.
func streamHalfClose(t *testing.T, port int, data []byte) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		return "connect: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(data)
	c.(*net.TCPConn).CloseWrite()
	b, _ := io.ReadAll(c)
	return strconv.Quote(string(b))
}

// tlsClient is streamClient over TLS with sni.
func tlsClient(t *testing.T, port int, sni string, data []byte) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", "127.0.0.1:"+strconv.Itoa(port),
		&tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		return "handshake: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if len(data) > 0 {
		// The echo's answer, then the session's end: the backend
		// closes after answering, and the client waits for the server
		// to close too (closing first would race the backend's close,
		// and the log would name either side; a close_notify right
		// after the data would race the answer).
		c.Write(data)
		b := make([]byte, len("A:")+len(data))
		n, _ := io.ReadFull(c, b)
		io.Copy(io.Discard, c)
		return strconv.Quote(string(b[:n]))
	}
	b, _ := io.ReadAll(c)
	return strconv.Quote(string(b))
}

// helloBytes is a TLS client's first flight for sni and alpn.
func helloBytes(t *testing.T, sni string, alpn []string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tls.Client(c, &tls.Config{ServerName: sni, NextProtos: alpn, MaxVersion: tls.VersionTLS13}).Handshake()
		c.Close()
	}()
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16384)
	n, err := s.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func TestServeStream(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_stream_module.so"); err != nil {
		t.Fatal("nginx's stream module is needed (Debian's nginx package installs it):", err)
	}
	hello := helloBytes(t, "b.example", []string{"h2", "http/1.1"})
	helloA := helloBytes(t, "other.example", nil)
	keep := regexp.MustCompile(`\] \*\d+ (udp )?(client .* connected|client disconnected|upstream disconnected|udp done|proxy .* connected|access forbidden|connect\(\) failed|no live upstreams|upstream server temporarily disabled|recv\(\) failed)`)
	ports := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	type outcome struct {
		Client, Backend, Access, Caseless, Errors []string
	}
	got := map[string]outcome{}
	for _, im := range procImpls(t) {
		be := &streamBackends{}
		held := make(chan struct{}, 1)
		aPort, bPort, uPort := be.tcp(t, "A"), be.tcp(t, "B"), be.udp(t, "U")
		dir := procDir(t)
		conf := streamConf
		names := []string{"PREPORT", "TLSRETPORT", "TLSPORT", "RETPORT", "DENYPORT", "PPPORT", "NEXTPORT", "BADPORT", "UDPPORT", "DOWNPORT", "RSTPORT", "HOLDPORT"}
		p := map[string]int{}
		for _, n := range names {
			p[n] = freeTCPPort(t)
		}
		for _, n := range names {
			conf = strings.ReplaceAll(conf, n, strconv.Itoa(p[n]))
		}
		conf = strings.NewReplacer("APORT", strconv.Itoa(aPort), "BPORT", strconv.Itoa(bPort), "UPORT", strconv.Itoa(uPort),
			"RBACKEND", strconv.Itoa(be.resetting(t)), "HBACKEND", strconv.Itoa(be.holding(t, held))).Replace(conf)
		for _, f := range []string{"cert.pem", "key.pem"} {
			b, err := os.ReadFile(filepath.Join(serveAssets(t), f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf, port)
		var o outcome
		add := func(name, v string) { o.Client = append(o.Client, name+": "+v) }
		add("proxy", streamClient(t, port, []byte("hello")))
		add("return", streamClient(t, p["RETPORT"], nil))
		add("preread b", streamClient(t, p["PREPORT"], hello))
		add("preread default", streamClient(t, p["PREPORT"], helloA))
		add("preread not tls", streamClient(t, p["PREPORT"], []byte("plain text")))
		// The client's end before ssl_preread decided ends the session
		// (200, no backend).
		add("preread ended", streamHalfClose(t, p["PREPORT"], hello[:10]))
		add("deny", streamClient(t, p["DENYPORT"], nil))
		add("proxy protocol", streamClient(t, p["PPPORT"], []byte("pp")))
		add("next upstream", streamClient(t, p["NEXTPORT"], []byte("next")))
		add("bad gateway", streamClient(t, p["BADPORT"], []byte("x")))
		add("backend resets", streamClient(t, p["RSTPORT"], []byte("x")))
		// The client resets its connection once its bytes reached the
		// backend: nginx logs the recv() failure at info.
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p["HOLDPORT"])); err == nil {
			c.Write([]byte("x"))
			select {
			case <-held:
			case <-time.After(5 * time.Second):
				t.Error("the held session's bytes did not reach the backend")
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
		add("tls proxy", tlsClient(t, p["TLSPORT"], "one.example", []byte("secret")))
		add("tls return", tlsClient(t, p["TLSRETPORT"], "two.example", nil))
		uc, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(p["UDPPORT"]))
		if err != nil {
			t.Fatal(err)
		}
		uc.SetDeadline(time.Now().Add(5 * time.Second))
		uc.Write([]byte("ping"))
		ub := make([]byte, 100)
		n, _ := uc.Read(ub)
		add("udp", strconv.Quote(string(ub[:n])))
		uc.Close()
		// The UDP session is done once its one answer went out; let the
		// access log line be written.
		time.Sleep(200 * time.Millisecond)
		m.quit()
		be.close()
		sort.Strings(be.seen)
		o.Backend = be.seen
		o.Access = readLines(t, filepath.Join(dir, "stream.log"))
		for i, l := range o.Access {
			l = ports.ReplaceAllString(l, "127.0.0.1:P")
			o.Access[i] = regexp.MustCompile(` \d+$`).ReplaceAllString(l, " PORT")
		}
		sort.Strings(o.Access)
		o.Caseless = readLines(t, filepath.Join(dir, "caseless.log"))
		for _, l := range logLines(t, filepath.Join(dir, "error.log"), keep, dir) {
			o.Errors = append(o.Errors, ports.ReplaceAllString(l, "127.0.0.1:P"))
		}
		for i, c := range o.Client {
			o.Client[i] = strings.ReplaceAll(c, strconv.Itoa(p["RETPORT"]), "RETPORT")
		}
		got[im.name] = o
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("stream (-nginx +gonginx):\n%s", diff)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
