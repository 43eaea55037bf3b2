package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
)

const explainUsage = `Usage: gonginx explain [-c file] [-p prefix] [-g directives] [-X method] [-H 'Name: value']... [-J] URL

Prints how the configuration would handle a request for URL, without
starting a server: the listen socket and server chosen and why, the
locations tried, each rewrite directive and if with its result, try_files,
the handler, what a backend would receive (nothing is sent to it), and the
response. -J prints it as JSON.
`

// explainRequest is what "gonginx explain" was asked.
type explainRequest struct {
	f       *flags
	method  string
	url     *url.URL
	headers []string
	json    bool
}

func parseExplain(args []string) (*explainRequest, error) {
	e := &explainRequest{f: &flags{conf: defaultConf}, method: "GET"}
	var target string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			if target != "" {
				return nil, fmt.Errorf("one URL only: %q", a)
			}
			target = a
			continue
		}
		if a == "-J" {
			e.json = true
			continue
		}
		if i+1 >= len(args) {
			return nil, fmt.Errorf("option %q requires a value", a)
		}
		v := args[i+1]
		i++
		switch a {
		case "-c":
			e.f.conf, e.f.confSet = v, true
		case "-p":
			e.f.prefix = v
		case "-g":
			e.f.globals = v
		case "-X":
			e.method = v
		case "-H":
			if !strings.Contains(v, ":") {
				return nil, fmt.Errorf("header %q has no ':'", v)
			}
			e.headers = append(e.headers, v)
		default:
			return nil, fmt.Errorf("invalid option: %q", a)
		}
	}
	if target == "" {
		return nil, errors.New("no URL given")
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("URL must be http:// or https:// with a host: %q", target)
	}
	e.url = u
	return e, nil
}

// explainStep is one line of the explanation.
type explainStep struct {
	Step   string `json:"step"`
	Detail string `json:"detail"`
}

// explanation is what explain prints.
type explanation struct {
	Listen   string        `json:"listen"`
	Request  string        `json:"request"`
	Steps    []explainStep `json:"steps"`
	Response []string      `json:"response"` // status line and headers
	BodySize int           `json:"body_bytes"`
	ErrorLog []string      `json:"error_log,omitempty"`
	Notes    []string      `json:"notes,omitempty"`
}

func runExplain(args []string, stdout, stderr io.Writer) int {
	e, err := parseExplain(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n%s", progName, err, explainUsage)
		return 1
	}
	out, err := explain(e)
	if err != nil {
		fmt.Fprintf(stderr, "%s: [emerg] %s\n", progName, err)
		return 1
	}
	if e.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return 0
	}
	printExplanation(stdout, out)
	return 0
}

func explain(e *explainRequest) (*explanation, error) {
	cfg, err := nginxconf.Load(e.f.conf, e.f.loadOptions())
	if err != nil {
		return nil, err
	}
	out := &explanation{}
	if _, err := nginxconf.Servable(cfg.Tree); err != nil {
		out.Notes = append(out.Notes, "gonginx does not serve all of this configuration: "+err.Error())
	}
	opts := compileOptions(false)
	rt, err := location.Compile(cfg, opts)
	if err != nil {
		return nil, err
	}
	defer rt.CloseLogs()
	isTLS := e.url.Scheme == "https"
	host, port := e.url.Hostname(), e.url.Port()
	if port == "" {
		port = map[bool]string{false: "80", true: "443"}[isTLS]
	}
	portNum, _ := strconv.Atoi(port)
	sock, addr := pickSocket(rt, net.ParseIP(host), portNum)
	if sock == nil {
		return nil, fmt.Errorf("no listen directive takes port %s", port)
	}
	out.Listen = sock.Listen.Addr
	if l := addr.Listen; l.File != "" {
		out.Listen += " (" + l.File + ":" + strconv.Itoa(l.Line) + ")"
	}
	if isTLS && !addr.TLS() {
		out.Notes = append(out.Notes, "the address is not ssl: nginx answers a TLS handshake there with garbage")
	}
	if !isTLS && addr.TLS() {
		out.Notes = append(out.Notes, "the address is ssl: a plain request gets 400 \"The plain HTTP request was sent to HTTPS port\"")
	}
	raw := e.rawRequest()
	out.Request = strings.TrimRight(raw, "\r\n")

	serverSide, clientSide := net.Pipe()
	serverIP := "127.0.0.1"
	if ip := addr.Listen.IP; ip != nil && !ip.IsUnspecified() {
		serverIP = ip.String()
	}
	info := &http1.ConnInfo{RemoteAddr: "127.0.0.1", RemotePort: 54321, Local: http1.AddrText(serverIP), ServerPort: http1.PortNumber(port), TLS: isTLS}
	if isTLS {
		info.SSL = explainedSNI(strings.ToLower(host))
		out.Notes = append(out.Notes, "TLS is taken as negotiated: no handshake, so the $ssl_* variables are empty")
	}
	c := http1.NewConn(serverSide, info)
	var errLog bytes.Buffer
	logger := location.NewLogger(&errLog)
	logger.SetLevel("info")
	h := location.NewConn(rt, c, logger, 1, time.Now(), &rewrite.ConnStats{}, false)
	h.Trace(func(step, detail string) { out.Steps = append(out.Steps, explainStep{step, detail}) })
	h.Prepare(addr)

	respc := make(chan []byte, 1)
	go func() {
		clientSide.SetDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(clientSide, raw)
		b, _ := io.ReadAll(clientSide)
		respc <- b
	}()
	req, rerr := c.ReadRequest()
	var perr *http1.Error
	switch {
	case rerr == nil:
		h.Serve(addr, req)
	case errors.As(rerr, &perr):
		out.Steps = append(out.Steps, explainStep{"request", "rejected by the parser: " + rerr.Error()})
		h.BadRequest(addr, perr)
	default:
		out.Steps = append(out.Steps, explainStep{"request", rerr.Error()})
	}
	h.EndRequest()
	h.Release()
	c.Release()
	serverSide.Close()
	resp := <-respc
	clientSide.Close()

	head, body, _ := bytes.Cut(resp, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if line != "" {
			out.Response = append(out.Response, line)
		}
	}
	out.BodySize = len(body)
	for _, line := range strings.Split(strings.TrimSpace(errLog.String()), "\n") {
		if strings.Contains(line, upstream.ErrExplained.Error()) {
			out.Notes = append(out.Notes, "explain stops where the request would reach its backend: the response is the one for a backend not reached")
			continue
		}
		if line != "" {
			out.ErrorLog = append(out.ErrorLog, line)
		}
	}
	return out, nil
}

// pickSocket finds the listen socket a connection to ip:port arrives on:
// one bound to that address, else a wildcard one of the port.
func pickSocket(rt *location.Router, ip net.IP, port int) (*location.Socket, *location.Addr) {
	var wildcard *location.Socket
	for _, s := range rt.Sockets {
		l := s.Listen
		if l.Network == "unix" || l.Port != port {
			continue
		}
		if ip != nil && l.IP.Equal(ip) {
			return s, s.AddrFor(ip)
		}
		if l.IP == nil || l.IP.IsUnspecified() {
			if wildcard == nil {
				wildcard = s
			}
		} else if ip == nil && wildcard == nil {
			wildcard = s // a name: the first socket of the port
		}
	}
	if wildcard == nil {
		return nil, nil
	}
	local := ip
	if local == nil {
		local = wildcard.Listen.IP
	}
	return wildcard, wildcard.AddrFor(local)
}

// rawRequest is the request explain sends: HTTP/1.1 with the URL's host,
// the headers given, and "Connection: close".
func (e *explainRequest) rawRequest() string {
	var b strings.Builder
	target := e.url.EscapedPath()
	if target == "" {
		target = "/"
	}
	if e.url.RawQuery != "" {
		target += "?" + e.url.RawQuery
	}
	b.WriteString(e.method + " " + target + " HTTP/1.1\r\n")
	hasHost := false
	for _, h := range e.headers {
		name, _, _ := strings.Cut(h, ":")
		hasHost = hasHost || strings.EqualFold(strings.TrimSpace(name), "host")
	}
	if !hasHost {
		b.WriteString("Host: " + e.url.Host + "\r\n")
	}
	for _, h := range e.headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.String()
}

func printExplanation(w io.Writer, x *explanation) {
	fmt.Fprintf(w, "%-10s %s\n", "listen", x.Listen)
	for i, line := range strings.Split(x.Request, "\r\n") {
		label := ""
		if i == 0 {
			label = "request"
		}
		fmt.Fprintf(w, "%-10s %s\n", label, line)
	}
	for _, s := range x.Steps {
		for i, line := range strings.Split(strings.TrimRight(s.Detail, "\r\n"), "\n") {
			label := ""
			if i == 0 {
				label = s.Step
			}
			fmt.Fprintf(w, "%-10s %s\n", label, strings.TrimRight(line, "\r"))
		}
	}
	for i, line := range x.Response {
		label := ""
		if i == 0 {
			label = "response"
		}
		fmt.Fprintf(w, "%-10s %s\n", label, line)
	}
	fmt.Fprintf(w, "%-10s %d bytes\n", "body", x.BodySize)
	for _, line := range x.ErrorLog {
		fmt.Fprintf(w, "%-10s %s\n", "error_log", line)
	}
	for _, n := range x.Notes {
		fmt.Fprintf(w, "%-10s %s\n", "note", n)
	}
}

// explainedSNI is an explained request's TLS record: its server name
// (the Host's), no handshake.
type explainedSNI string

func (n explainedSNI) SNI() string { return string(n) }
