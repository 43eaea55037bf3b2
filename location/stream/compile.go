package stream

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/location/limit"
	"github.com/gonginx/gonginx/location/realip"
	"github.com/gonginx/gonginx/location/syslog"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/upstream"
)

// Config is a compiled stream{} block: its sockets and, for each, the
// servers listening there.
type Config struct {
	sockets []*socket
	groups  *upstream.Groups
	slots   int
	// plainSlots are the "set" variables' slots, found empty until set.
	plainSlots []int
	rt         *location.Router
	// vars the session fills for its log and map lookups.
	rc *rewrite.Compiler
}

// socket is one listening socket and the servers of its addresses (a
// wildcard socket also serves the specific addresses of its port that
// have no socket of their own, told apart by the local address).
type socket struct {
	listen *location.Listen
	addrs  []addrServer // specific addresses first, the wildcard last
	// limited: a server of the socket has limit_conn (its sessions take
	// their place in line at accept).
	limited bool
}

type addrServer struct {
	listen *location.Listen
	srv    *server
}

// server is one server{} of stream{}, merged with the stream level.
type server struct {
	file string
	line int

	realipFrom     []realip.Net
	ppTimeout      time.Duration    // proxy_protocol_timeout
	set            *rewrite.Program // the "set" lines (ngx_stream_set_module)
	limits         []connLimit
	limitLevel     string
	limitDryRun    bool
	access         []accessRule
	tls            *tls.Config // ssl termination (a listen ... ssl)
	verify         *clientVerify
	dynCerts       *dynamicCerts // certificates named by variables
	choice         *location.ServerChoice
	handshakeLimit time.Duration
	preread        bool
	prereadSize    int
	prereadTimeout time.Duration
	proxy          *upstream.StreamProxy
	ret            *rewrite.Complex
	logs           []*accessLog
	errorLogs      []*location.ErrorLog
}

type connLimit struct {
	key  *rewrite.Complex
	name string
	conn limit.Conn
}

type accessRule struct {
	deny bool
	all  bool
	unix bool
	net  *net.IPNet
}

type accessLog struct {
	path      string
	pathValue *rewrite.Complex
	peer      *syslog.Peer
	format    *logFormat
	cond      *rewrite.Complex
	gzipLevel int // gzip[=level]: lines go out as gzip members
}

type logFormat struct {
	parts []*rewrite.Complex
	esc   rewrite.LogEscape
}

// Listens returns the sockets of the stream{} block.
func (c *Config) Listens() []*location.Listen {
	out := make([]*location.Listen, len(c.sockets))
	for i, s := range c.sockets {
		out[i] = s.listen
	}
	return out
}

// Groups returns the upstream groups of the stream{} block.
func (c *Config) Groups() *upstream.Groups { return c.groups }

func confErr(d *nginxconf.Directive, format string, args ...any) error {
	return &nginxconf.Error{Msg: fmt.Sprintf(format, args...), File: d.File, Line: d.ReportLine()}
}

// last is the innermost directive name of blocks (stream, then server).
func last(blocks [][]*nginxconf.Directive, name string) *nginxconf.Directive {
	for i := len(blocks) - 1; i >= 0; i-- {
		for j := len(blocks[i]) - 1; j >= 0; j-- {
			if blocks[i][j].Name == name {
				return blocks[i][j]
			}
		}
	}
	return nil
}

func all(block []*nginxconf.Directive, name string) []*nginxconf.Directive {
	var out []*nginxconf.Directive
	for _, d := range block {
		if d.Name == name {
			out = append(out, d)
		}
	}
	return out
}

func timeArg(blocks [][]*nginxconf.Directive, name string, def time.Duration) time.Duration {
	if d := last(blocks, name); d != nil {
		if ms, ok := nginxconf.ParseTime(d.Args[0], false); ok {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return def
}

// Compile compiles the stream{} block of cfg; rt is the http side's
// configuration, which gets the stream's log files and zones for the
// master. It is location.Options.CompileStream.
func Compile(cfg *nginxconf.Config, rt *location.Router, opts location.Options) (location.StreamConfig, error) {
	var block *nginxconf.Directive
	for _, d := range cfg.Tree {
		if d.Name == "stream" {
			block = d
			break
		}
	}
	c := &Config{rt: rt, rc: rewrite.NewStreamCompiler()}
	if block == nil {
		return c, nil
	}
	cc := &compiler{cfg: cfg, rt: rt, opts: opts, c: c, formats: map[string]*logFormat{}, zones: map[string]*zoneDecl{}}
	addVariables(c.rc)
	if err := cc.compile(block); err != nil {
		return nil, err
	}
	if !cc.streamLogsDone {
		// No server inherits them; their files are opened all the same.
		if _, err := cc.accessLogs(all(block.Block, "access_log")); err != nil {
			return nil, err
		}
	}
	if err := c.rc.Finish(); err != nil {
		return nil, err
	}
	c.slots = c.rc.Slots()
	c.plainSlots = c.rc.PlainSlots()
	return c, nil
}

type compiler struct {
	cfg         *nginxconf.Config
	rt          *location.Router
	opts        location.Options
	c           *Config
	formats     map[string]*logFormat
	formatNames []string // formats' names in the order defined
	zones       map[string]*zoneDecl
	// streamLogs are the stream level's access_log lines (streamLogsDone:
	// compiled).
	streamLogs     []*accessLog
	streamLogsDone bool
	// certsLoaded: ssl_certificate directives a server has loaded, whose
	// names nginx made full paths in place (ngx_ssl_load_certificate):
	// a later server inheriting them names the full path in errors.
	certsLoaded map[*nginxconf.Directive]bool
}

// certName is an ssl_certificate's name as nginx's errors give it.
func (cc *compiler) certName(d *nginxconf.Directive) string {
	if cc.certsLoaded[d] {
		return cc.cfg.ConfPath(d.Args[0])
	}
	return d.Args[0]
}

type zoneDecl struct {
	key  *rewrite.Complex
	zone *limit.Zone
}

func (cc *compiler) compile(block *nginxconf.Directive) error {
	rc := cc.c.rc
	// The geoip module's variables exist when its object is loaded.
	if rewrite.GeoIPModule(cc.cfg.Tree, true) {
		if err := rc.GeoIP(block.Block); err != nil {
			return err
		}
	}
	for _, d := range block.Block {
		var err error
		switch d.Name {
		case "map":
			err = rc.Map(d)
		case "geo":
			err = rc.Geo(d)
		case "split_clients":
			err = rc.SplitClients(d)
		case "log_format":
			err = cc.logFormat(d)
		case "limit_conn_zone":
			err = cc.zone(d)
		}
		if err != nil {
			return err
		}
	}
	groups, err := upstream.CompileGroupsVars(block.Block, rc, cc.opts.UpstreamZones)
	if err != nil {
		return err
	}
	// Zones shared by the workers, made by the master as the http ones.
	for _, z := range groups.ZoneSpecs {
		cc.rt.Zones = append(cc.rt.Zones, location.ZoneSpec{ID: z.ID, Name: z.Name, Size: z.Size})
	}
	groups.ConfPrefix = cc.cfg.Prefix
	groups.Slots = cc.opts.Slots // backend connections take worker_connections
	if cc.cfg.ConfFile != "" {
		groups.ConfPrefix = confDir(cc.cfg.ConfFile)
	}
	cc.c.groups = groups
	type pending struct {
		l   *location.Listen
		srv *server
	}
	var listens []pending
	for _, d := range block.Block {
		if d.Name != "server" {
			continue
		}
		srv, ls, err := cc.server(block, d)
		if err != nil {
			return err
		}
		for _, l := range ls {
			listens = append(listens, pending{l, srv})
		}
	}
	// Sockets: a wildcard address of a port takes the specific addresses
	// of that port and type that do not ask for a socket of their own.
	type portKey struct {
		port int
		udp  bool
	}
	wild := map[portKey]*socket{}
	for _, p := range listens {
		if p.l.IsWildcard() {
			s := &socket{listen: p.l, addrs: []addrServer{{p.l, p.srv}}}
			wild[portKey{p.l.Port, p.l.UDP}] = s
			cc.c.sockets = append(cc.c.sockets, s)
		}
	}
	for _, p := range listens {
		if p.l.IsWildcard() {
			continue
		}
		if w := wild[portKey{p.l.Port, p.l.UDP}]; w != nil && !p.l.Bind && p.l.Network != "unix" {
			w.addrs = append([]addrServer{{p.l, p.srv}}, w.addrs...)
			continue
		}
		cc.c.sockets = append(cc.c.sockets, &socket{listen: p.l, addrs: []addrServer{{p.l, p.srv}}})
	}
	for _, s := range cc.c.sockets {
		for _, a := range s.addrs {
			s.limited = s.limited || len(a.srv.limits) > 0
		}
	}
	return nil
}

func confDir(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return "."
}

func (cc *compiler) server(stream, d *nginxconf.Directive) (*server, []*location.Listen, error) {
	blocks := [][]*nginxconf.Directive{stream.Block, d.Block}
	srv := &server{file: d.File, line: d.Line}
	var listens []*location.Listen
	for _, ld := range all(d.Block, "listen") {
		ls, err := location.ParseStreamListen(ld)
		if err != nil {
			return nil, nil, confErr(ld, "%s", err)
		}
		listens = append(listens, ls...)
	}
	rc := cc.c.rc
	srv.ppTimeout = timeArg(blocks, "proxy_protocol_timeout", 30*time.Second)
	srv.prereadTimeout = timeArg(blocks, "preread_timeout", 30*time.Second)
	srv.handshakeLimit = timeArg(blocks, "ssl_handshake_timeout", 60*time.Second)
	srv.prereadSize = 16384
	if pd := last(blocks, "preread_buffer_size"); pd != nil {
		if n, ok := nginxconf.ParseSize(pd.Args[0]); ok {
			srv.prereadSize = int(n)
		}
	}
	if pd := last(blocks, "ssl_preread"); pd != nil {
		srv.preread = pd.Args[0] == "on"
	}
	// set_real_ip_from: the server's lines, else the stream level's.
	for _, lvl := range [][]*nginxconf.Directive{d.Block, stream.Block} {
		ds := all(lvl, "set_real_ip_from")
		if len(ds) == 0 {
			continue
		}
		for _, rd := range ds {
			nets, err := realip.ParseNet(rd.Args[0], nginxconf.LookupIP)
			if err != nil {
				return nil, nil, confErr(rd, "%s", err)
			}
			srv.realipFrom = append(srv.realipFrom, nets...)
		}
		break
	}
	if sets := all(d.Block, "set"); len(sets) > 0 {
		prog, err := rc.Program(sets)
		if err != nil {
			return nil, nil, err
		}
		srv.set = prog
	}
	if err := cc.limitConn(srv, blocks); err != nil {
		return nil, nil, err
	}
	for _, ad := range d.Block {
		if ad.Name != "allow" && ad.Name != "deny" {
			continue
		}
		r, err := parseAccess(ad)
		if err != nil {
			return nil, nil, err
		}
		srv.access = append(srv.access, r)
	}
	ssl := false
	for _, l := range listens {
		ssl = ssl || l.SSL
	}
	if ssl {
		if err := cc.serverTLS(srv, blocks, d); err != nil {
			return nil, nil, err
		}
		var err error
		if srv.verify, err = cc.compileVerify(blocks, srv.tls); err != nil {
			return nil, nil, err
		}
	}
	if pd := last([][]*nginxconf.Directive{d.Block}, "proxy_pass"); pd != nil {
		p, err := upstream.CompileStreamProxy(pd, blocks, cc.c.groups, rc)
		if err != nil {
			return nil, nil, err
		}
		srv.proxy = p
	} else if rd := last([][]*nginxconf.Directive{d.Block}, "return"); rd != nil {
		cv, err := rc.Complex(rd.Args[0])
		if err != nil {
			return nil, nil, rewrite.At(err, rd)
		}
		srv.ret = cv
	}
	if err := cc.logs(srv, blocks); err != nil {
		return nil, nil, err
	}
	return srv, listens, nil
}

func (cc *compiler) zone(d *nginxconf.Directive) error {
	var name string
	var size int64
	for _, a := range d.Args[1:] {
		if v, ok := strings.CutPrefix(a, "zone="); ok {
			n, sz, _ := strings.Cut(v, ":")
			name = n
			size, _ = nginxconf.ParseSize(sz)
		}
	}
	key, err := cc.c.rc.Complex(d.Args[0])
	if err != nil {
		return rewrite.At(err, d)
	}
	z, err := cc.opts.Zones.Zone("stream_limit_conn_zone", name, d.Args[0], int(size))
	if err != nil {
		return &nginxconf.Error{Msg: err.Error()}
	}
	cc.rt.Zones = append(cc.rt.Zones, location.ZoneSpec{ID: limit.ZoneID("stream_limit_conn_zone", name, int(size)), Name: name, Size: int(size)})
	cc.zones[name] = &zoneDecl{key: key, zone: z}
	return nil
}

// limitConn reads limit_conn lines: the server's, else the stream
// level's (ngx_stream_limit_conn_merge_conf).
func (cc *compiler) limitConn(srv *server, blocks [][]*nginxconf.Directive) error {
	for i := len(blocks) - 1; i >= 0; i-- {
		ds := all(blocks[i], "limit_conn")
		if len(ds) == 0 {
			continue
		}
		for _, d := range ds {
			z := cc.zones[d.Args[0]]
			if z == nil {
				// nginx finds it once the configuration is read: "zero
				// size shared memory zone" (nginxconf.Check), after any
				// error of the rest of the configuration.
				continue
			}
			n, _ := strconv.Atoi(d.Args[1])
			srv.limits = append(srv.limits, connLimit{key: z.key, name: d.Args[0], conn: limit.Conn{Zone: z.zone, Max: int32(n)}})
		}
		break
	}
	srv.limitLevel = "error"
	if d := last(blocks, "limit_conn_log_level"); d != nil {
		srv.limitLevel = d.Args[0]
	}
	if d := last(blocks, "limit_conn_dry_run"); d != nil {
		srv.limitDryRun = d.Args[0] == "on"
	}
	return nil
}

// parseAccess reads an allow or deny line (checked by -t).
func parseAccess(d *nginxconf.Directive) (accessRule, error) {
	r := accessRule{deny: d.Name == "deny"}
	a := d.Args[0]
	switch {
	case a == "all":
		r.all = true
	case a == "unix:":
		r.unix = true
	default:
		if !strings.Contains(a, "/") {
			if strings.Contains(a, ":") {
				a += "/128"
			} else {
				a += "/32"
			}
		}
		_, n, err := net.ParseCIDR(a)
		if err != nil {
			return r, confErr(d, "invalid parameter \"%s\"", d.Args[0])
		}
		r.net = n
	}
	return r, nil
}
