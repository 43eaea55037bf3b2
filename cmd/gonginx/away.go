package main

import (
	"context"
	bin "encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// -t away from the server the configuration runs on (a CI job on a
// checkout): --map reads the server's paths from the checkout, --lenient
// turns what only the server has (certificates and keys, include targets,
// host names of its network) into warnings. Without them -t is nginx's.

// parseMapping reads "--map FROM=TO"; TO is made absolute.
func parseMapping(v string) (nginxconf.PathMapping, error) {
	from, to, ok := strings.Cut(v, "=")
	if !ok || !strings.HasPrefix(from, "/") || to == "" {
		return nginxconf.PathMapping{}, errors.New(`invalid option: "--map ` + v + `" (FROM=TO, FROM absolute)`)
	}
	abs, err := filepath.Abs(to)
	if err != nil {
		return nginxconf.PathMapping{}, err
	}
	return nginxconf.PathMapping{From: filepath.Clean(from), To: abs}, nil
}

// confOnServer is the -c file as the server names it: a file given in a
// mapped checkout directory is loaded as its server path, so relative
// includes and the prefix resolve as they do there.
func confOnServer(maps []nginxconf.PathMapping, conf string) string {
	abs, err := filepath.Abs(conf)
	if err != nil {
		return conf
	}
	best, bestLen := abs, -1
	for _, m := range maps {
		if (abs == m.To || strings.HasPrefix(abs, m.To+"/")) && len(m.To) > bestLen {
			best, bestLen = m.From+abs[len(m.To):], len(m.To)
		}
	}
	return best
}

// certDirectives are the files nginx -t loads as certificates, keys,
// CA lists and CRLs.
var certDirectives = map[string]string{
	"ssl_certificate": "certificate", "ssl_certificate_key": "certificate key",
	"ssl_trusted_certificate": "certificate", "ssl_client_certificate": "certificate", "ssl_crl": "CRL",
	"ssl_dhparam": "DH parameters", "ssl_stapling_file": "OCSP response",
}

// checkCertFiles checks, through the path map, the files that -t loads
// when it runs on the server; with lenient a missing one is a warning.
func checkCertFiles(cfg *nginxconf.Config, lenient bool) (warns []*nginxconf.Error, err error) {
	var walk func([]*nginxconf.Directive) error
	walk = func(dirs []*nginxconf.Directive) error {
		for _, d := range dirs {
			what, ok := certDirectives[d.Name]
			if !ok {
				for _, p := range []string{"proxy_", "grpc_", "uwsgi_"} {
					if rest, found := strings.CutPrefix(d.Name, p); found {
						what, ok = certDirectives[rest]
					}
				}
			}
			if ok && len(d.Args) == 1 && !strings.Contains(d.Args[0], "$") && !strings.HasPrefix(d.Args[0], "data:") {
				path := cfg.ConfPath(d.Args[0])
				if _, serr := os.Stat(cfg.MapPath(path)); serr != nil {
					e := &nginxconf.Error{Msg: "cannot load " + what + ` "` + path + `": BIO_new_file() failed (SSL: error:80000002:system library::` +
						"No such file or directory:calling fopen(" + path + ", r) error:10000080:BIO routines::no such file)", File: d.File, Line: d.EndLine}
					if !lenient {
						return e
					}
					e.Msg = "cannot load " + what + ` "` + path + `" (` + nginxconf.ErrnoText(serr) + "), not checked (--lenient)"
					e.Warn = true
					warns = append(warns, e)
				}
			}
			if err := walk(d.Block); err != nil {
				return err
			}
		}
		return nil
	}
	return warns, walk(cfg.Tree)
}

// lenientResolver answers the host names of the configuration that do
// not resolve here with 127.0.0.1, noting them: docker-compose service
// names and hosts of a private network exist only where the server runs.
// It is a DNS server in the process (the Go resolver's Dial), so every
// lookup of -t (upstream servers, proxy_pass, listen, set_real_ip_from)
// goes through it unchanged.
type lenientResolver struct {
	mu        sync.Mutex
	missing   []string
	search    []string // resolv.conf's search domains: not the last try
	real      *net.Resolver
	installed *net.Resolver
}

func installLenientResolver() *lenientResolver {
	lr := &lenientResolver{real: &net.Resolver{PreferGo: true}}
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && (f[0] == "search" || f[0] == "domain") {
				lr.search = append(lr.search, f[1:]...)
			}
		}
	}
	lr.installed = net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		// Not a PacketConn, so the resolver frames queries as over TCP.
		return &dnsConn{lr: lr, stream: true}, nil
	}}
	return lr
}

// warnings are the names answered with 127.0.0.1.
func (lr *lenientResolver) warnings() []*nginxconf.Error {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	var out []*nginxconf.Error
	seen := map[string]bool{}
	for _, h := range lr.missing {
		if !seen[h] {
			seen[h] = true
			out = append(out, &nginxconf.Error{Msg: `host "` + h + `" not found here, taken as 127.0.0.1 (--lenient)`, Warn: true})
		}
	}
	return out
}

func (lr *lenientResolver) restore() { net.DefaultResolver = lr.installed }

// answer resolves one question: the real answer, else 127.0.0.1 for an
// A question of a name that is not a search-domain try.
func (lr *lenientResolver) answer(name string, qtype uint16) (ips []net.IP, nxdomain bool) {
	host := strings.TrimSuffix(name, ".")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	network := "ip4"
	if qtype == 28 {
		network = "ip6"
	}
	found, err := lr.real.LookupIP(ctx, network, host)
	if err == nil {
		return found, false
	}
	if _, aerr := lr.real.LookupIP(ctx, "ip", host); aerr == nil {
		return nil, false // the name exists, not with this family
	}
	for _, s := range lr.search {
		if strings.HasSuffix(host, "."+strings.TrimSuffix(s, ".")) {
			return nil, true // let the resolver try the name itself next
		}
	}
	if qtype != 1 {
		return nil, false
	}
	lr.mu.Lock()
	lr.missing = append(lr.missing, host)
	lr.mu.Unlock()
	return []net.IP{net.IPv4(127, 0, 0, 1)}, false
}

// dnsConn is one exchange with the in-process DNS server: a query
// written, its answer read (with TCP's length prefix when stream).
type dnsConn struct {
	lr     *lenientResolver
	stream bool
	reply  []byte
}

func (c *dnsConn) Write(b []byte) (int, error) {
	q := b
	if c.stream {
		if len(q) < 2 {
			return 0, errors.New("short query")
		}
		q = q[2:]
	}
	reply, err := c.respond(q)
	if err != nil {
		return 0, err
	}
	if c.stream {
		reply = append(bin.BigEndian.AppendUint16(nil, uint16(len(reply))), reply...)
	}
	c.reply = reply
	return len(b), nil
}

func (c *dnsConn) Read(b []byte) (int, error) {
	if c.reply == nil {
		return 0, errors.New("no query")
	}
	n := copy(b, c.reply)
	c.reply = c.reply[n:]
	return n, nil
}

// respond builds the answer to a one-question query (RFC 1035 4.1).
func (c *dnsConn) respond(q []byte) ([]byte, error) {
	if len(q) < 12 || bin.BigEndian.Uint16(q[4:]) != 1 {
		return nil, errors.New("not a one-question query")
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		n := int(q[i])
		if n > 63 || i+1+n > len(q) {
			return nil, errors.New("bad name")
		}
		labels = append(labels, string(q[i+1:i+1+n]))
		i += 1 + n
	}
	if i+5 > len(q) {
		return nil, errors.New("short question")
	}
	qend := i + 5
	qtype := bin.BigEndian.Uint16(q[i+1:])
	ips, nx := c.lr.answer(strings.Join(labels, ".")+".", qtype)
	out := append([]byte(nil), q[:2]...) // ID
	flags := uint16(0x8180)              // response, recursion desired and available
	if nx {
		flags |= 3 // NXDOMAIN
	}
	out = bin.BigEndian.AppendUint16(out, flags)
	var answers [][]byte
	for _, ip := range ips {
		if v4 := ip.To4(); qtype == 1 && v4 != nil {
			answers = append(answers, v4)
		} else if qtype == 28 && v4 == nil && len(ip) == 16 {
			answers = append(answers, ip)
		}
	}
	out = bin.BigEndian.AppendUint16(out, 1)
	out = bin.BigEndian.AppendUint16(out, uint16(len(answers)))
	out = append(out, 0, 0, 0, 0)
	out = append(out, q[12:qend]...)
	for _, a := range answers {
		out = append(out, 0xc0, 12) // the question's name
		out = bin.BigEndian.AppendUint16(out, qtype)
		out = bin.BigEndian.AppendUint16(out, 1) // IN
		out = bin.BigEndian.AppendUint32(out, 60)
		out = bin.BigEndian.AppendUint16(out, uint16(len(a)))
		out = append(out, a...)
	}
	return out, nil
}

func (c *dnsConn) Close() error                     { return nil }
func (c *dnsConn) LocalAddr() net.Addr              { return &net.UDPAddr{} }
func (c *dnsConn) RemoteAddr() net.Addr             { return &net.UDPAddr{} }
func (c *dnsConn) SetDeadline(time.Time) error      { return nil }
func (c *dnsConn) SetReadDeadline(time.Time) error  { return nil }
func (c *dnsConn) SetWriteDeadline(time.Time) error { return nil }

// reportPath is a finding's file as the checkout has it (for GitHub and
// SARIF, relative to the working directory when under it).
func reportPath(cfg *nginxconf.Config, file string) string {
	if file == "" || cfg == nil {
		return file
	}
	p := cfg.MapPath(file)
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}
