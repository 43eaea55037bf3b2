package location

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/upstream"
)

// confErr is an error with nginx's "msg in file:line" text.
func confErr(d *nginxconf.Directive, format string, args ...any) *nginxconf.Error {
	return &nginxconf.Error{Msg: fmt.Sprintf(format, args...), File: d.File, Line: endLine(d)}
}

// endLine is the line nginx reports for a directive: where its ";" or "{"
// was read (cf->conf_file->line when the handler runs).
func endLine(d *nginxconf.Directive) int {
	if d.EndLine > 0 {
		return d.EndLine
	}
	return d.Line
}

// Compile builds a Router from cfg. Errors are *nginxconf.Error with
// nginx's wording; the first one stops compiling, and the Router then
// returned holds only the warnings made before it.
func Compile(cfg *nginxconf.Config, opts Options) (*Router, error) {
	c := &compiler{cfg: cfg, opts: opts, rt: &Router{cfg: cfg, ticketSeed: opts.TicketSeed, WorkerConnections: upstream.DefaultWorkerConnections}, rc: rewrite.NewCompiler()}
	if c.rt.ticketSeed == nil {
		c.rt.ticketSeed = make([]byte, 32)
		rand.Read(c.rt.ticketSeed)
	}
	addSSLVariables(c.rc)
	addGzipVariables(c.rc)
	addSliceVariables(c.rc)
	addRealipVariables(c.rc)
	addRefererVariables(c.rc)
	addBrowserVariables(c.rc)
	addSecureLinkVariables(c.rc)
	addUseridVariables(c.rc)
	addLimitVariables(c.rc)
	addLimitConnVariables(c.rc)
	c.rt.uidReset = c.rc.Variable("uid_reset")
	if opts.Serving {
		tuning, err := nginxconf.Servable(cfg.Tree)
		if err != nil {
			return nil, err
		}
		c.rt.Unserved = tuning
	}
	// nginx prints the warnings made before an error (a server's
	// "ssl_stapling" ignored, then an unknown variable).
	if err := c.compile(); err != nil {
		return &Router{Warnings: c.rt.Warnings}, err
	}
	if err := c.rc.Finish(); err != nil {
		return &Router{Warnings: c.rt.Warnings}, err
	}
	c.rt.Warnings = append(c.rt.Warnings, c.lateWarns...)
	c.rt.slots = c.rc.Slots()
	c.rt.readsSent = c.rc.ReadsSent() || c.ssiOn
	c.rt.readsUpstream = c.rc.ReadsUpstream() || c.ssiOn
	c.rt.rc = c.rc
	if opts.CompileStream != nil && hasStream(cfg.Tree) {
		st, err := opts.CompileStream(cfg, c.rt, opts)
		if err != nil {
			return nil, err
		}
		c.rt.Stream = st
	}
	if opts.CompileMail != nil {
		m, err := opts.CompileMail(cfg, c.rt, opts)
		if err != nil {
			return nil, err
		}
		if m != nil {
			c.rt.Mail = m
		}
	}
	return c.rt, nil
}

func hasStream(tree []*nginxconf.Directive) bool {
	for _, d := range tree {
		if d.Name == "stream" {
			return true
		}
	}
	return false
}

type compiler struct {
	cfg        *nginxconf.Config
	opts       Options
	rt         *Router
	addrs      []*Addr            // in order of first listen
	lateWarns  []*nginxconf.Error // made when server names are built (warnLate)
	rc         *rewrite.Compiler
	ssiOn      bool // an "ssi on" anywhere (Router.readsSent)
	httpBlock  *nginxconf.Directive
	server     *nginxconf.Directive  // the server block being compiled (valid_referers server_names)
	logFormats map[string]*logFormat // log_format name → format ("combined" built in)
	// logFormatNames: logFormats' names in the order defined.
	logFormatNames []string
	// combinedUsed: an access_log names "combined" as written (or no
	// format), nginx's lmcf->combined_used; the default log sets it too.
	combinedUsed bool
	defaultLog   *accessLogRule       // the access log of levels without any
	reqZones     map[string]*reqZone  // limit_req_zone name → zone
	connZones    map[string]*connZone // limit_conn_zone name → zone
	ocspZones    ocspCaches           // ssl_ocsp_cache zones by name
	sessionZones sessionZones         // ssl_session_cache shared zones by name
	// certsLoaded: ssl_certificate directives a server has loaded, whose
	// names nginx made full paths in place (ngx_ssl_load_certificate):
	// a later server inheriting them names the full path in errors.
	certsLoaded map[*nginxconf.Directive]bool
}

func (c *compiler) warn(e *nginxconf.Error) { c.rt.Warnings = append(c.rt.Warnings, e) }

// warnLate keeps a warning nginx makes when it builds the server names
// (ngx_http_optimize_servers), after the variables are checked: an
// unknown variable stops -t before them.
func (c *compiler) warnLate(e *nginxconf.Error) { c.lateWarns = append(c.lateWarns, e) }

func (c *compiler) compile() error {
	var httpBlock *nginxconf.Directive
	for _, d := range c.cfg.Tree {
		switch d.Name {
		case "http":
			if httpBlock == nil {
				httpBlock = d
			}
		case "pid":
			if len(d.Args) == 1 {
				c.rt.PidFile = c.resolve(d.Args[0], c.cfg.Prefix)
			}
		case "events":
			c.rt.Debug = debugConnections(d)
			for _, e := range d.Block {
				if e.Name == "worker_connections" && len(e.Args) == 1 {
					if n, ok := nginxconf.ParseNumber(e.Args[0]); ok {
						c.rt.WorkerConnections = int(n)
					}
				}
			}
		}
	}
	if httpBlock == nil {
		return nil
	}
	conf := defaultLocConf()
	// The geoip module's variables exist when its object is loaded; its
	// databases are opened where nginx reads the directives.
	if rewrite.GeoIPModule(c.cfg.Tree, false) {
		if err := c.rc.GeoIP(httpBlock.Block); err != nil {
			return err
		}
	}
	// Variables of map, geo and split_clients blocks, in the order nginx
	// reads them.
	for _, d := range httpBlock.Block {
		var err error
		switch d.Name {
		case "map":
			err = c.rc.Map(d)
		case "geo":
			err = c.rc.Geo(d)
		case "split_clients":
			err = c.rc.SplitClients(d)
		}
		if err != nil {
			return rewrite.At(err, d)
		}
	}
	groups, err := upstream.CompileGroupsVars(httpBlock.Block, c.rc, c.opts.UpstreamZones)
	if groups != nil {
		groups.Slots = c.opts.Slots
		groups.ConfPrefix = c.cfg.ConfPrefix
		groups.CompileCachePaths(httpBlock.Block, c.cfg.PrefixPath)
	}
	if err != nil {
		return err
	}
	c.rt.groups = groups
	for _, z := range groups.ZoneSpecs {
		c.rt.Zones = append(c.rt.Zones, ZoneSpec{ID: z.ID, Name: z.Name, Size: z.Size})
	}
	c.httpBlock = httpBlock
	if err := c.limitZones(httpBlock.Block); err != nil {
		return err
	}
	c.rt.charsets.register(httpBlock.Block)
	for _, d := range httpBlock.Block {
		if d.Name == "charset_map" {
			if err := c.charsetMap(d); err != nil {
				return err
			}
		}
	}
	if err := c.applyBlock(conf, httpBlock.Block, "http"); err != nil {
		return err
	}
	if len(conf.accessLogs) == 0 && !conf.accessOff {
		// ngx_http_log_merge_loc_conf: a level that has and inherits no
		// access_log logs "combined" to NGX_HTTP_LOG_PATH.
		formats, err := c.formats()
		if err != nil {
			return err
		}
		c.defaultLog = &accessLogRule{path: c.cfg.PrefixPath(DefaultAccessLog), format: formats["combined"]}
		conf.accessLogs = []*accessLogRule{c.defaultLog}
	}
	for _, d := range httpBlock.Block {
		if d.Name != "server" {
			continue
		}
		if err := c.compileServer(d, conf); err != nil {
			return err
		}
	}
	if f := c.logFormats["combined"]; f != nil && !c.combinedUsed && c.rt.DefaultAccessLog == "" {
		// nginx compiles its predefined format only once a log names it
		// as written or takes it by default: one that took it by
		// another spelling ("COMBINED") writes empty lines.
		f.parts = nil
	}
	return c.buildSockets()
}

// resolve makes p absolute against base (nginx's prefix or conf prefix).
func (c *compiler) resolve(p, base string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

func (c *compiler) compileServer(d *nginxconf.Directive, httpConf *locConf) error {
	conf := httpConf.clone()
	conf.epOwner = nil
	c.server = d
	srv := &VirtualServer{File: d.File, Line: endLine(d), named: map[string]*Location{}}
	root := &Location{mod: modServer, File: d.File, Line: endLine(d), conf: conf,
		blocks: [][]*nginxconf.Directive{c.httpBlock.Block, d.Block}}
	srv.root = root
	if err := c.applyScoped(conf, d.Block, "server"); err != nil {
		return err
	}
	if c.defaultLog != nil && c.rt.DefaultAccessLog == "" && slices.Contains(conf.accessLogs, c.defaultLog) {
		// Opened only when a server logs there, as nginx creates it
		// only where a level inherits no access_log.
		c.rt.DefaultAccessLog = c.defaultLog.path
		c.rt.AccessLogs = append(c.rt.AccessLogs, c.defaultLog.path)
	}
	var listenSSL *nginxconf.Directive
	var listens []*Listen
	for _, x := range d.Block {
		switch x.Name {
		case "listen":
			ls, err := parseListen(x)
			if err != nil {
				return &nginxconf.Error{Msg: err.Error(), File: x.File, Line: endLine(x)}
			}
			for _, l := range ls {
				for _, prev := range listens {
					if prev.Addr == l.Addr {
						return confErr(x, "a duplicate listen %s", l.Addr)
					}
				}
				if l.SSL && listenSSL == nil {
					listenSSL = x
				}
				listens = append(listens, l)
			}
		case "server_name":
			for _, n := range x.Args {
				// nginxconf warned of a '/' in a name as it read it.
				switch {
				case strings.EqualFold(n, "$hostname"):
					h, _ := os.Hostname()
					n = strings.ToLower(h)
				case !strings.HasPrefix(n, "~"):
					n = strings.ToLower(n)
				default:
					if _, err := c.regex(n[1:], serverNameCaseless(n)); err != nil {
						return rewrite.At(err, x)
					}
				}
				srv.Names = append(srv.Names, n)
			}
		}
	}
	if len(srv.Names) == 0 {
		srv.Names = []string{""}
	}
	// $server_name is the first name, without the leading dot of
	// ".example.com" (ngx_http_core_merge_srv_conf).
	srv.Name = strings.TrimPrefix(srv.Names[0], ".")
	srv.nameBytes = []byte(srv.Name)
	if len(listens) == 0 {
		listens = []*Listen{defaultListen(c.opts.Root, d.File, endLine(d))}
	}
	srv.listens = listens
	// As ngx_http_ssl_merge_srv_conf: every server with certificates has
	// their keys and loads them; whether an ssl address's default server
	// has one is checked with the sockets.
	ssl, err := c.compileSSL(d, listenSSL)
	if err != nil {
		return err
	}
	srv.SSL = ssl
	srv.sslVerify = c.sslVerifyMode(d)
	if ssl != nil && c.opts.LoadCerts && !ssl.dynamic() {
		if err := loadCertCheck(ssl); err != nil {
			return err
		}
		if err := c.sslMergeCheck(d, ssl); err != nil {
			return err
		}
	}
	prog, err := c.rc.Program(d.Block)
	if err != nil {
		return err
	}
	if !prog.Empty() {
		srv.prog = prog
	}
	if err := c.finishConf(conf, root, d); err != nil {
		return err
	}
	c.rt.Servers = append(c.rt.Servers, srv)
	if err := c.compileLevel(srv, root, d.Block); err != nil {
		return err
	}
	for _, l := range listens {
		if err := c.addListen(srv, l); err != nil {
			return err
		}
	}
	return nil
}

// locationModifier reads a location's modifier and name, as
// ngx_http_core_location.
func locationModifier(d *nginxconf.Directive) (modifier, string, *nginxconf.Error) {
	switch len(d.Args) {
	case 2:
		switch d.Args[0] {
		case "=":
			return modExact, d.Args[1], nil
		case "^~":
			return modNoRegex, d.Args[1], nil
		case "~":
			return modRegex, d.Args[1], nil
		case "~*":
			return modRegexCI, d.Args[1], nil
		}
		return 0, "", confErr(d, "invalid location modifier \"%s\"", d.Args[0])
	case 1:
		n := d.Args[0]
		switch {
		case strings.HasPrefix(n, "="):
			return modExact, n[1:], nil
		case strings.HasPrefix(n, "^~"):
			return modNoRegex, n[2:], nil
		case strings.HasPrefix(n, "~*"):
			return modRegexCI, n[2:], nil
		case strings.HasPrefix(n, "~"):
			return modRegex, n[1:], nil
		case strings.HasPrefix(n, "@"):
			return modNamed, n, nil
		}
		return modPrefix, n, nil
	}
	return 0, "", confErr(d, "invalid number of arguments in \"location\" directive")
}

// serverNameCaseless: nginx compiles a server_name regex caselessly when
// it has an uppercase letter (hosts are matched lowercased).
func serverNameCaseless(n string) bool { return strings.ContainsAny(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") }

// httpSSL returns ssl_certificate/_key set at http level.
func (c *compiler) httpSSL() (certs, keys []string) {
	for _, d := range c.cfg.Tree {
		if d.Name != "http" {
			continue
		}
		for _, x := range d.Block {
			switch x.Name {
			case "ssl_certificate":
				certs = append(certs, c.resolve(x.Args[0], c.cfg.ConfPrefix))
			case "ssl_certificate_key":
				keys = append(keys, c.resolve(x.Args[0], c.cfg.ConfPrefix))
			}
		}
	}
	return certs, keys
}

// compileLevel compiles the location blocks directly inside block into
// parent's level, in document order.
func (c *compiler) compileLevel(srv *VirtualServer, parent *Location, block []*nginxconf.Directive) error {
	var locs []*Location
	for _, d := range block {
		if d.Name != "location" {
			continue
		}
		loc, err := c.compileLocation(srv, parent, d)
		if err != nil {
			return err
		}
		if loc.mod == modNamed {
			// nginx accepts a repeated named location; the first is used.
			if _, dup := srv.named[loc.Name]; !dup {
				srv.named[loc.Name] = loc
			}
			continue
		}
		locs = append(locs, loc)
	}
	return buildLevel(&parent.children, locs)
}

func (c *compiler) compileLocation(srv *VirtualServer, parent *Location, d *nginxconf.Directive) (*Location, error) {
	loc := &Location{File: d.File, Line: endLine(d), parent: parent}
	loc.blocks = append(append([][]*nginxconf.Directive(nil), parent.blocks...), d.Block)
	mod, name, merr := locationModifier(d)
	if merr != nil {
		return nil, merr
	}
	loc.mod, loc.Name = mod, name
	if parent.mod != modServer {
		switch {
		case parent.mod == modExact:
			return nil, confErr(d, "location \"%s\" cannot be inside the exact location \"%s\"", loc.Name, parent.Name)
		case parent.mod == modNamed:
			return nil, confErr(d, "location \"%s\" cannot be inside the named location \"%s\"", loc.Name, parent.Name)
		case loc.mod == modNamed:
			return nil, confErr(d, "named location \"%s\" can be on the server level only", loc.Name)
		case loc.mod != modRegex && loc.mod != modRegexCI && !strings.HasPrefix(loc.Name, parent.Name):
			return nil, confErr(d, "location \"%s\" is outside location \"%s\"", loc.Name, parent.Name)
		}
	}
	if loc.mod == modRegex || loc.mod == modRegexCI {
		re, err := c.regex(loc.Name, loc.mod == modRegexCI)
		if err != nil {
			return nil, rewrite.At(err, d)
		}
		loc.re = re
	}
	conf := parent.conf.clone()
	loc.conf = conf
	if err := c.applyScoped(conf, d.Block, "location"); err != nil {
		return nil, err
	}
	if conf.aliasSet && loc.mod == modNamed {
		return nil, confErr(d, "the \"alias\" directive cannot be used inside the named location")
	}
	for _, x := range d.Block {
		if x.Name == "alias" {
			// As clcf->alias: the length of this location's name, or the
			// whole path when the location is a regex.
			conf.aliasLoc, conf.aliasRegex = loc.Name, loc.mod == modRegex || loc.mod == modRegexCI
		}
	}
	if conf.proxyPass != nil && strings.HasSuffix(loc.Name, "/") && (loc.mod == modPrefix || loc.mod == modNoRegex || loc.mod == modExact) {
		loc.autoRedirect = true
		loc.escapedName = appendEscapeURI(nil, []byte(loc.Name))
	}
	prog, err := c.rc.Program(d.Block)
	if err != nil {
		return nil, err
	}
	if !prog.Empty() {
		loc.prog = prog
		for _, ifd := range prog.IfBlocks() {
			ic := conf.clone()
			ic.proxyPass, ic.stubStatus, ic.emptyGif, ic.flv, ic.mp4 = conf.proxyPass, conf.stubStatus, conf.emptyGif, conf.flv, conf.mp4
			if err := c.applyBlock(ic, ifd.Block, "if"); err != nil {
				return nil, err
			}
			if err := c.finishConfIn(ic, loc, ifd, append(append([][]*nginxconf.Directive(nil), loc.blocks...), ifd.Block), true); err != nil {
				return nil, err
			}
			loc.ifConfs = append(loc.ifConfs, ic)
		}
	}
	if err := c.finishConf(conf, loc, d); err != nil {
		return nil, err
	}
	if err := c.compileLimitExcept(loc, d.Block); err != nil {
		return nil, err
	}
	if err := c.compileLevel(srv, loc, d.Block); err != nil {
		return nil, err
	}
	return loc, nil
}

// buildLevel arranges locs for matching and reports duplicates as
// nginx's ngx_http_init_locations does.
func buildLevel(lv *level, locs []*Location) error {
	lv.exact = map[string]*Location{}
	lv.redirect = map[string]*Location{}
	seenPrefix := map[string]*Location{}
	// nginx finds duplicates in its sorted list, so the first reported is
	// the smallest name; the place is the later of the pair.
	var dup *Location
	noteDup := func(l *Location) {
		if dup == nil || l.Name < dup.Name {
			dup = l
		}
	}
	for _, l := range locs {
		switch l.mod {
		case modExact:
			if _, ok := lv.exact[l.Name]; ok {
				noteDup(l)
				continue
			}
			lv.exact[l.Name] = l
			lv.exactLens |= lenBit(len(l.Name))
		case modPrefix, modNoRegex:
			if _, ok := seenPrefix[l.Name]; ok {
				noteDup(l)
				continue
			}
			seenPrefix[l.Name] = l
			lv.prefixes = append(lv.prefixes, l)
		case modRegex, modRegexCI:
			lv.regexes = append(lv.regexes, l)
		}
		if l.autoRedirect && len(l.Name) > 1 {
			key := l.Name[:len(l.Name)-1]
			if _, ok := lv.redirect[key]; !ok || l.mod == modExact {
				lv.redirect[key] = l
				lv.redirectLens |= lenBit(len(key))
			}
		}
	}
	if dup != nil {
		return &nginxconf.Error{Msg: fmt.Sprintf("duplicate location \"%s\"", dup.Name), File: dup.File, Line: dup.Line}
	}
	sort.SliceStable(lv.prefixes, func(i, j int) bool { return lv.prefixes[i].Name < lv.prefixes[j].Name })
	lv.parentIdx = make([]int, len(lv.prefixes))
	for i := range lv.prefixes {
		lv.parentIdx[i] = -1
		for j := i - 1; j >= 0; j-- {
			if strings.HasPrefix(lv.prefixes[i].Name, lv.prefixes[j].Name) {
				lv.parentIdx[i] = j
				break
			}
		}
	}
	return nil
}

// regex compiles a location or server_name regex with the rewrite
// package's engine (PCRE syntax, named captures as variables).
func (c *compiler) regex(expr string, caseless bool) (Regex, error) {
	if CompileRegex != nil && c.rc == nil {
		return CompileRegex(expr, caseless)
	}
	return c.rc.Regex(expr, caseless)
}

// certAsWritten is the last ssl_certificate of a server, or of http when
// the server inherits them, as written: nginx names it so.
func (c *compiler) certAsWritten(server *nginxconf.Directive) string {
	for _, block := range [][]*nginxconf.Directive{server.Block, c.httpBlock.Block} {
		name := ""
		for _, d := range block {
			if d.Name == "ssl_certificate" && len(d.Args) == 1 {
				name = d.Args[0]
			}
		}
		if name != "" {
			return name
		}
	}
	return ""
}
