package location

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/location/imagefilter"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
)

// The directives of http, server, location and if blocks applied to a
// locConf (merged from the enclosing levels), and the values requests
// evaluate compiled once per level.

// applyBlock applies the simple directives of one block to conf. Nested
// blocks are handled by the caller after this, so a directive written
// after a location still applies to it, as nginx merges after parsing.
func (c *compiler) applyBlock(conf *locConf, block []*nginxconf.Directive, ctx string) error {
	// A level with access_log lines replaces what it inherited, as
	// ngx_http_log_merge_loc_conf does.
	for _, d := range block {
		if d.Name == "access_log" {
			conf.accessLogs, conf.accessOff = nil, false
			break
		}
	}
	// Likewise a level with add_header lines replaces what it inherited
	// (ngx_http_headers_merge_conf), an "if" block too.
	expiresSeen := false
	for _, d := range block {
		switch d.Name {
		case "add_header":
			conf.addHeaders = nil
		case "add_trailer":
			conf.addTrailers = nil
		case "sub_filter":
			conf.sub = nil
		case "image_filter":
			// ngx_http_image_filter_merge_conf: a level's image_filter
			// inherits neither the sizes nor the angle.
			img := &conf.img
			img.mode, img.width, img.height, img.angle = imagefilter.Off, 0, 0, 0
			img.wcv, img.hcv, img.acv = nil, nil, nil
		case "expires":
			if expiresSeen {
				return confErr(d, "\"expires\" directive is duplicate")
			}
			expiresSeen = true
		}
	}
	// So do error_log lines (ngx_http_core_merge_loc_conf keeps the
	// inherited log only when a level has none).
	for _, d := range block {
		if d.Name == "error_log" {
			conf.errorLogs, conf.errorLogsDebug = nil, false
			break
		}
	}
	for _, d := range block {
		if err := c.apply(conf, d, ctx); err != nil {
			return err
		}
	}
	finishSub(conf)
	finishBrowser(conf)
	if err := finishSecureLink(conf); err != nil {
		return err
	}
	return c.finishReferers(conf)
}

// setLimit applies one of the directives that shape request parsing
// (values -t accepted already).
func setLimit(l *http1.Limits, d *nginxconf.Directive) {
	size := func(a string) int {
		n, _ := nginxconf.ParseSize(a)
		return int(n)
	}
	switch d.Name {
	case "client_header_buffer_size":
		l.ClientHeaderBufferSize = size(d.Args[0])
	case "large_client_header_buffers":
		n, _ := strconv.Atoi(d.Args[0])
		l.LargeHeaderBuffers, l.LargeHeaderBufferSize = n, size(d.Args[1])
	case "max_headers":
		l.MaxHeaders, _ = strconv.Atoi(d.Args[0])
	case "underscores_in_headers":
		l.UnderscoresInHeaders = onOff(d)
	case "ignore_invalid_headers":
		l.KeepInvalidHeaders = !onOff(d)
	case "merge_slashes":
		l.NoMergeSlashes = !onOff(d)
	}
}

// aioThreadPool is the pool name of "aio threads=NAME".
func aioThreadPool(d *nginxconf.Directive) (string, bool) {
	if len(d.Args) != 1 {
		return "", false
	}
	return strings.CutPrefix(d.Args[0], "threads=")
}

func onOff(d *nginxconf.Directive) bool { return d != nil && len(d.Args) > 0 && d.Args[0] == "on" }

func (c *compiler) apply(conf *locConf, d *nginxconf.Directive, ctx string) error {
	if ok, err := c.applyGzip(conf, d); ok {
		return err
	}
	if ok, err := c.applyAuth(conf, d); ok {
		return err
	}
	if applyHTTP2(conf, d) {
		return nil
	}
	switch d.Name {
	case "server", "location", "listen", "server_name", "upstream", "map",
		"include", "#", "ssl_certificate", "ssl_certificate_key", "ssl_protocols":
		return nil
	case "error_log":
		return c.errorLog(conf, d)
	case "log_format":
		return c.logFormat(d)
	case "limit_req_zone", "limit_conn_zone":
		return nil
	case "limit_conn", "limit_conn_log_level", "limit_conn_status", "limit_conn_dry_run":
		return c.limitConnDirective(conf, d)
	case "limit_req", "limit_req_log_level", "limit_req_status", "limit_req_dry_run":
		return c.limitReqDirective(conf, d)
	case "set_real_ip_from", "real_ip_header", "real_ip_recursive":
		return c.realipDirective(conf, d)
	case "valid_referers":
		return c.validReferers(conf, d)
	case "modern_browser", "ancient_browser", "modern_browser_value", "ancient_browser_value":
		return c.browserDirective(conf, d, ctx)
	case "secure_link", "secure_link_md5", "secure_link_secret":
		return c.secureLinkDirective(conf, d)
	case "userid", "userid_service", "userid_name", "userid_domain", "userid_path", "userid_p3p",
		"userid_expires", "userid_mark", "userid_flags":
		return c.useridDirective(conf, d)
	case "log_subrequest":
		conf.logSubrequest = d.Args[0] == "on"
	case "root":
		if len(d.Args) == 1 {
			conf.root, conf.alias, conf.aliasSet = d.Args[0], "", false
		}
	case "alias":
		if len(d.Args) == 1 {
			conf.alias, conf.aliasSet = d.Args[0], true
		}
	case "disable_symlinks":
		return disableSymlinks(conf, d)
	case "index":
		conf.indexRaw = append([]string(nil), d.Args...)
	case "try_files":
		conf.tryFilesRaw = append([]string(nil), d.Args...)
		conf.tryFilesFile, conf.tryFilesLine = d.File, d.Line
	case "autoindex":
		conf.autoindex = onOff(d)
	case "autoindex_format":
		if len(d.Args) == 1 {
			conf.autoindexFormat = map[string]uint8{"html": formatHTML, "json": formatJSON, "jsonp": formatJSONP, "xml": formatXML}[d.Args[0]]
		}
	case "autoindex_localtime":
		conf.autoindexLocal = onOff(d)
	case "autoindex_exact_size":
		conf.autoindexRound = !onOff(d)
	case "random_index":
		conf.randomIndex = onOff(d)
	case "slice":
		if n, ok := nginxconf.ParseSize(d.Args[0]); ok {
			conf.sliceSize = n
		}
	case "empty_gif":
		// Like stub_status and proxy_pass, it sets the location's
		// handler: the last one written wins.
		conf.emptyGif, conf.stubStatus, conf.mp4 = true, false, false
	case "default_type":
		if len(d.Args) == 1 {
			conf.defaultType = d.Args[0]
		}
	case "types":
		// The types blocks of one level fill one list (an extension
		// given again takes the later type); a level with none inherits
		// its parent's whole.
		m := conf.types
		if conf.typesLevel != conf {
			m = map[string]string{}
			conf.typesLevel = conf
		}
		for _, e := range d.Block {
			if e.Name == "#" {
				continue
			}
			for _, ext := range e.Args {
				m[strings.ToLower(ext)] = e.Name
			}
		}
		conf.types = m
	case "charset":
		if len(d.Args) == 1 {
			conf.charset = d.Args[0]
			if conf.charset == "off" {
				conf.charset = ""
			}
		}
	case "source_charset":
		if len(d.Args) == 1 {
			conf.sourceCharset = d.Args[0]
			if conf.sourceCharset == "off" {
				conf.sourceCharset = ""
			}
		}
	case "override_charset":
		conf.overrideCharset = onOff(d)
	case "charset_map":
		// Read once for the http block by compile.
	case "charset_types":
		// ngx_http_types_slot: "*" is any type, and text/html is always
		// in the list.
		m := map[string]bool{"text/html": true}
		conf.charsetAny = false
		for _, a := range d.Args {
			if a == "*" {
				conf.charsetAny = true
			}
			m[a] = true
		}
		conf.charsetTypes = m
	case "error_page":
		if err := c.errorPage(conf, d); err != nil {
			return err
		}
	case "recursive_error_pages":
		conf.recursiveEP = onOff(d)
	case "server_tokens":
		conf.serverTokens = len(d.Args) > 0 && d.Args[0] != "off"
	case "absolute_redirect":
		conf.absRedirect = onOff(d)
	case "server_name_in_redirect":
		conf.nameInRedir = onOff(d)
	case "port_in_redirect":
		conf.portInRedir = onOff(d)
	case "internal":
		if ctx != "location" {
			return nil
		}
		conf.internal = true
	case "allow", "deny":
		r, err := parseAccess(d)
		if err != nil {
			return err
		}
		conf.access = append(conf.access, r)
	case "log_not_found":
		conf.logNotFound = onOff(d)
	case "add_before_body", "add_after_body":
		var uri []byte
		if len(d.Args) == 1 && d.Args[0] != "" {
			uri = []byte(d.Args[0])
		}
		if d.Name == "add_before_body" {
			conf.addBefore = uri
		} else {
			conf.addAfter = uri
		}
	case "ssi", "ssi_silent_errors", "ssi_last_modified", "ssi_value_length", "ssi_min_file_chunk",
		"ssi_types", "subrequest_output_buffer_size":
		ssiDirective(conf, d)
		c.ssiOn = c.ssiOn || conf.ssi.on
	case "addition_types":
		conf.additionTypes.addTypes(conf, "text/html", d.Args)
	case "etag":
		conf.etag = onOff(d)
	case "if_modified_since":
		if len(d.Args) == 1 {
			conf.ims = map[string]int{"exact": 0, "before": 1, "off": 2}[d.Args[0]]
		}
	case "max_ranges":
		if len(d.Args) == 1 {
			if n, err := strconv.Atoi(d.Args[0]); err == nil && n >= 0 {
				conf.maxRanges = n
			}
		}
	case "dav_methods", "dav_access", "create_full_put_path", "min_delete_depth":
		return davDirective(conf, d)
	case "client_max_body_size":
		if len(d.Args) == 1 {
			if n, ok := nginxconf.ParseOffset(d.Args[0]); ok {
				conf.maxBody = n
			}
		}
	case "stub_status":
		conf.stubStatus, conf.emptyGif, conf.mp4 = true, false, false
	case "aio":
		// Not served, but a thread pool named by variables is compiled
		// (ngx_http_core_set_aio): an unknown one fails the load.
		if name, ok := aioThreadPool(d); ok && strings.Contains(name, "$") {
			if _, err := c.rc.Complex(name); err != nil {
				return rewrite.At(err, d)
			}
		}
	case "limit_rate", "limit_rate_after":
		// A size, maybe with variables, evaluated when the response
		// starts (ngx_http_complex_value_size in the write filter).
		if len(d.Args) != 1 {
			return nil
		}
		v, err := c.rc.Complex(d.Args[0])
		if err != nil {
			return rewrite.At(err, d)
		}
		if d.Name == "limit_rate" {
			conf.limitRate = v
		} else {
			conf.limitRateAfter = v
		}
	case "keepalive_timeout":
		if len(d.Args) >= 1 {
			if ms, ok := parseSeconds(d.Args[0]); ok {
				conf.keepalive = time.Duration(ms) * time.Millisecond
			}
			conf.keepaliveHeader = 0
			if len(d.Args) == 2 {
				if ms, ok := parseSeconds(d.Args[1]); ok {
					conf.keepaliveHeader = int(ms / 1000)
				}
			}
		}
	case "reset_timedout_connection":
		conf.resetTimedout = onOff(d)
	case "post_action":
		// A plain string: "off" is a named location like any other
		// (and a 500 when there is none), as in nginx.
		conf.postAction = []byte(d.Args[0])
	case "flv":
		conf.flv, conf.mp4 = true, false
	case "mp4":
		// The location's handler, as proxy_pass, stub_status, empty_gif
		// and flv are: the last written wins.
		conf.mp4, conf.flv, conf.proxyPass, conf.stubStatus, conf.emptyGif = true, false, nil, false, false
	case "mp4_buffer_size":
		if n, ok := nginxconf.ParseSize(d.Args[0]); ok {
			conf.mp4Conf.BufferSize = n
		}
	case "mp4_max_buffer_size":
		if n, ok := nginxconf.ParseSize(d.Args[0]); ok {
			conf.mp4Conf.MaxBufferSize = n
		}
	case "mp4_start_key_frame":
		conf.mp4Conf.StartKeyFrame = onOff(d)
	case "msie_refresh":
		conf.msieRefresh = onOff(d)
	case "msie_padding":
		conf.msiePadding = onOff(d)
	case "keepalive_requests":
		conf.keepaliveReqs, _ = strconv.Atoi(d.Args[0])
	case "keepalive_time":
		if ms, ok := parseSeconds(d.Args[0]); ok {
			conf.keepaliveTime = time.Duration(ms) * time.Millisecond
		}
	case "keepalive_disable":
		conf.keepaliveOff = 0
		for _, a := range d.Args {
			switch a {
			case "msie6":
				conf.keepaliveOff |= kaMSIE6
			case "safari":
				conf.keepaliveOff |= kaSafari
			}
		}
	case "lingering_close":
		if len(d.Args) == 1 {
			switch d.Args[0] {
			case "off":
				conf.lingering = lingerOff
			case "on":
				conf.lingering = lingerOn
			case "always":
				conf.lingering = lingerAlways
			}
		}
	case "lingering_time", "lingering_timeout":
		if len(d.Args) == 1 {
			if ms, ok := parseSeconds(d.Args[0]); ok {
				if d.Name == "lingering_time" {
					conf.lingeringTime = time.Duration(ms) * time.Millisecond
				} else {
					conf.lingeringWait = time.Duration(ms) * time.Millisecond
				}
			}
		}
	case "postpone_output":
		if len(d.Args) == 1 {
			if n, ok := nginxconf.ParseSize(d.Args[0]); ok {
				conf.postponeOutput = int32(min(n, 1<<31-1))
			}
		}
	case "send_timeout":
		if len(d.Args) == 1 {
			if ms, ok := parseSeconds(d.Args[0]); ok {
				conf.sendTimeout = time.Duration(ms) * time.Millisecond
			}
		}
	case "client_header_timeout", "client_body_timeout":
		if len(d.Args) == 1 {
			if ms, ok := parseSeconds(d.Args[0]); ok {
				if d.Name == "client_header_timeout" {
					conf.headerTimeout = time.Duration(ms) * time.Millisecond
				} else {
					conf.bodyTimeout = time.Duration(ms) * time.Millisecond
				}
			}
		}
	case "client_header_buffer_size", "large_client_header_buffers", "max_headers",
		"underscores_in_headers", "ignore_invalid_headers", "merge_slashes":
		setLimit(&conf.limits, d)
	case "access_log":
		return c.accessLog(conf, d)
	case "open_log_file_cache":
		lc, err := compileLogCache(d)
		if lc != nil {
			c.rt.logCaches = append(c.rt.logCaches, lc)
		}
		conf.logCache = lc
		return err
	case "add_header":
		h, err := c.compileAddHeader(d)
		conf.addHeaders = append(conf.addHeaders, h)
		return err
	case "chunked_transfer_encoding":
		conf.noChunked = !onOff(d)
	case "add_trailer":
		h, err := c.compileAddHeader(d)
		h.kind = addAppend
		conf.addTrailers = append(conf.addTrailers, h)
		return err
	case "expires":
		return c.compileExpires(conf, d)
	case "sub_filter":
		return c.subFilterLine(conf, d)
	case "image_filter", "image_filter_buffer", "image_filter_interlace", "image_filter_transparency",
		"image_filter_jpeg_quality", "image_filter_webp_quality", "image_filter_sharpen":
		return c.imageFilterLine(conf, d)
	case "sub_filter_once":
		conf.subOnce = onOff(d)
	case "sub_filter_last_modified":
		conf.subLastModified = onOff(d)
	case "sub_filter_types":
		conf.subTypes.addTypes(conf, "text/html", d.Args)
	case "return", "rewrite", "set", "if", "break":
		// Compiled by the rewrite package from the block itself.
	case "proxy_pass", "fastcgi_pass", "scgi_pass", "uwsgi_pass", "memcached_pass", "grpc_pass":
		conf.proxyPass = d
		conf.stubStatus, conf.emptyGif, conf.mp4 = false, false, false
	}
	return nil
}

// disableSymlinks reads disable_symlinks as ngx_http_disable_symlinks.
func disableSymlinks(conf *locConf, d *nginxconf.Directive) error {
	mode, set := symlinksOff, false
	from := ""
	for _, a := range d.Args {
		switch {
		case a == "off":
			mode, set = symlinksOff, true
		case a == "on":
			mode, set = symlinksOn, true
		case a == "if_not_owner":
			mode, set = symlinksNotOwner, true
		case strings.HasPrefix(a, "from="):
			from = a[len("from="):]
		default:
			return confErr(d, "invalid parameter \"%s\"", a)
		}
	}
	if !set {
		return confErr(d, "\"%s\" must have \"off\", \"on\" or \"if_not_owner\" parameter", d.Name)
	}
	if len(d.Args) == 2 {
		if from == "" && !strings.HasPrefix(d.Args[0], "from=") && !strings.HasPrefix(d.Args[1], "from=") {
			return confErr(d, "duplicate parameters \"%s %s\"", d.Args[0], d.Args[1])
		}
		if mode == symlinksOff {
			return confErr(d, "\"from=\" cannot be used with \"off\" parameter")
		}
	}
	conf.symlinks, conf.symlinksFromRaw = mode, from
	return nil
}

func parseAccess(d *nginxconf.Directive) (accessRule, error) {
	r := accessRule{deny: d.Name == "deny"}
	if len(d.Args) != 1 {
		return r, confErr(d, "invalid number of arguments in \"%s\" directive", d.Name)
	}
	a := d.Args[0]
	switch {
	case a == "all":
		return r, nil
	case a == "unix:":
		r.unix = true
		return r, nil
	}
	if strings.Contains(a, "/") {
		ip, n, err := net.ParseCIDR(a)
		if err != nil {
			return r, confErr(d, "invalid parameter \"%s\"", a)
		}
		if !ip.Equal(n.IP) {
			// nginx accepts it with a warning about the low address bits.
			r.net = n
			return r, nil
		}
		r.net = n
		return r, nil
	}
	ip := net.ParseIP(a)
	if ip == nil {
		return r, confErr(d, "invalid parameter \"%s\"", a)
	}
	bits := 128
	if ip.To4() != nil {
		ip, bits = ip.To4(), 32
	}
	r.net = &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}
	return r, nil
}

func (c *compiler) errorPage(conf *locConf, d *nginxconf.Directive) error {
	if len(d.Args) < 2 {
		return confErr(d, "invalid number of arguments in \"error_page\" directive")
	}
	uri := d.Args[len(d.Args)-1]
	codes := d.Args[:len(d.Args)-1]
	over := 0
	if last := codes[len(codes)-1]; strings.HasPrefix(last, "=") {
		codes = codes[:len(codes)-1]
		if last == "=" {
			over = -1
		} else {
			n, err := strconv.Atoi(last[1:])
			if err != nil || n <= 0 {
				return confErr(d, "invalid code \"%s\"", last)
			}
			over = n
		}
		if len(codes) == 0 {
			return confErr(d, "invalid number of arguments in \"error_page\" directive")
		}
	}
	// A level's first error_page replaces what it inherited.
	if !conf.errorPagesOwn() {
		conf.errorPages = map[int]*errorPage{}
	}
	for _, cs := range codes {
		n, err := strconv.Atoi(cs)
		if err != nil {
			return confErr(d, "invalid value \"%s\"", cs)
		}
		if n < 300 || n > 599 {
			return confErr(d, "value \"%s\" must be between 300 and 599", cs)
		}
		if n == 499 {
			return confErr(d, "value \"%s\" must be between 300 and 599", cs)
		}
		ep := &errorPage{code: over, uri: []byte(uri)}
		// nginx's own codes for 400s answer as 400 unless "=" says
		// otherwise (ngx_http_core_error_page).
		if over == 0 && n >= 494 && n <= 497 {
			ep.code = 400
		}
		if strings.Contains(uri, "$") {
			v, err := c.rc.Complex(uri)
			if err != nil {
				return rewrite.At(err, d)
			}
			ep.value = v
		}
		conf.errorPages[n] = ep
	}
	conf.markErrorPagesOwn()
	return nil
}

// errorPagesOwn tracks whether errorPages belongs to this level (nginx
// inherits the whole list only when a level defines none).
func (c *locConf) errorPagesOwn() bool { return c.epOwner == c }

func (c *locConf) markErrorPagesOwn() { c.epOwner = c }

// applyScoped applies a block's simple directives with list-valued
// settings (error_page, allow/deny) starting fresh at this level.
func (c *compiler) applyScoped(conf *locConf, block []*nginxconf.Directive, ctx string) error {
	inheritedAccess := conf.access
	hasAccess := false
	for _, d := range block {
		if d.Name == "allow" || d.Name == "deny" {
			if !hasAccess {
				conf.access = nil
				hasAccess = true
			}
		}
	}
	if err := c.applyBlock(conf, block, ctx); err != nil {
		return err
	}
	if !hasAccess {
		conf.access = inheritedAccess
	}
	return nil
}

// finishConf compiles the values of conf that requests evaluate: root or
// alias, index, try_files, types, and the proxy handler.
func (c *compiler) finishConf(conf *locConf, loc *Location, d *nginxconf.Directive) error {
	return c.finishConfIn(conf, loc, d, loc.blocks, false)
}

func (c *compiler) finishConfIn(conf *locConf, loc *Location, d *nginxconf.Directive, blocks [][]*nginxconf.Directive, inIf bool) error {
	conf.rootValue, conf.aliasValue, conf.rootStatic = nil, nil, ""
	if conf.aliasSet {
		v, err := c.rc.Complex(c.cfg.PrefixPath(conf.alias))
		if err != nil {
			return rewrite.At(err, d)
		}
		conf.aliasValue = v
	} else {
		root := conf.root
		if len(root) > 1 && strings.HasSuffix(root, "/") {
			root = root[:len(root)-1]
		}
		root = c.cfg.PrefixPath(root)
		v, err := c.rc.Complex(root)
		if err != nil {
			return rewrite.At(err, d)
		}
		if s, ok := v.Static(); ok {
			conf.rootStatic = s
		} else {
			conf.rootValue = v
		}
	}
	conf.symlinksFrom = nil
	if conf.symlinksFromRaw != "" {
		v, err := c.rc.Complex(conf.symlinksFromRaw)
		if err != nil {
			return rewrite.At(err, d)
		}
		conf.symlinksFrom = v
	}
	conf.index = conf.index[:0:0]
	for _, ix := range conf.indexRaw {
		v, err := c.rc.Complex(ix)
		if err != nil {
			return rewrite.At(err, d)
		}
		conf.index = append(conf.index, v)
	}
	conf.tryFiles, conf.tryFilesDir = nil, nil
	for i, tf := range conf.tryFilesRaw {
		// ngx_http_try_files: an argument but the last written with a
		// trailing "/" tests for a directory, the slash dropped.
		dir := strings.HasSuffix(tf, "/") && i+1 < len(conf.tryFilesRaw)
		if dir {
			tf = tf[:len(tf)-1]
		}
		conf.tryFilesDir = append(conf.tryFilesDir, dir)
		v, err := c.rc.Complex(tf)
		if err != nil {
			return &nginxconf.Error{Msg: err.Error(), File: conf.tryFilesFile, Line: conf.tryFilesLine}
		}
		conf.tryFiles = append(conf.tryFiles, v)
	}
	conf.charsetVar = nil
	if strings.HasPrefix(conf.charset, "$") {
		// ngx_http_set_charset_slot: the rest is one variable's name.
		conf.charsetVar = c.rc.Variable(conf.charset[1:])
	}
	if err := c.compileCharsets(conf); err != nil {
		return err
	}
	conf.typesBytes = make(map[string][]byte, len(conf.types))
	for ext, t := range conf.types {
		conf.typesBytes[ext] = []byte(t)
	}
	conf.defaultTypeBytes = []byte(conf.defaultType)
	conf.proxy, conf.proxyTyped = nil, false
	c.compileMirror(conf, blocks)
	conf.dav.body = nil
	if conf.dav.handles(http1.MethodPUT) {
		// A PUT's body goes to a file under client_body_temp_path, then
		// is renamed into place (ngx_http_dav_put_handler).
		conf.dav.body = upstream.CompileClientBody(blocks, c.rt.groups)
	}
	upstream.ReferenceVars(blocks, c.rc)
	if err := c.compileFastCGISplit(conf, blocks); err != nil {
		return err
	}
	if conf.proxyPass != nil && conf.proxyPass.Name == "fastcgi_pass" {
		p, err := upstream.CompileFastCGIPass(conf.proxyPass, blocks, c.rt.groups, c.rc)
		if err != nil {
			return rewrite.At(err, conf.proxyPass)
		}
		if p != nil {
			conf.proxy = p
		}
	} else if conf.proxyPass != nil && conf.proxyPass.Name == "grpc_pass" {
		p, err := upstream.CompileGRPCPass(conf.proxyPass, blocks, c.rt.groups, c.rc)
		if err != nil {
			return rewrite.At(err, conf.proxyPass)
		}
		if p != nil {
			conf.proxy = p
		}
	} else if conf.proxyPass != nil && conf.proxyPass.Name == "memcached_pass" {
		p, err := upstream.CompileMemcachedPass(conf.proxyPass, blocks, c.rt.groups, c.rc)
		if err != nil {
			return rewrite.At(err, conf.proxyPass)
		}
		if p != nil {
			conf.proxy, conf.proxyTyped = p, p.Typed()
		}
	} else if conf.proxyPass != nil && (conf.proxyPass.Name == "scgi_pass" || conf.proxyPass.Name == "uwsgi_pass") {
		compile := upstream.CompileSCGIPass
		if conf.proxyPass.Name == "uwsgi_pass" {
			compile = upstream.CompileUWSGIPass
		}
		p, err := compile(conf.proxyPass, blocks, c.rt.groups, c.rc)
		if err != nil {
			return rewrite.At(err, conf.proxyPass)
		}
		if p != nil {
			conf.proxy = p
		}
	} else if conf.proxyPass != nil {
		p, err := upstream.CompileProxyPass(conf.proxyPass, blocks, c.rt.groups, c.rc)
		if err != nil {
			return rewrite.At(err, conf.proxyPass)
		}
		// An "if" that inherits the location's proxy_pass keeps its URI
		// part; one with its own may have none.
		ownPass := !inIf || slices.Contains(d.Block, conf.proxyPass)
		if p != nil && p.HasURIPart() && ownPass && (inIf || loc.mod == modRegex || loc.mod == modRegexCI || loc.mod == modNamed) {
			return confErr(conf.proxyPass, "\"proxy_pass\" cannot have URI part in location given by regular expression, or inside named location, or inside \"if\" statement, or inside \"limit_except\" block")
		}
		if p != nil {
			conf.proxy = p
		}
	}
	conf.cacheLock = false
	if lp, ok := conf.proxy.(interface{ CacheLock() bool }); ok && lp.CacheLock() {
		conf.cacheLock = true
		c.rt.ordersFirst = true
	}
	return nil
}

// compileFastCGISplit reads fastcgi_split_path_info and fastcgi_index for
// $fastcgi_script_name and $fastcgi_path_info (any location may use
// them, with fastcgi_pass or without).
func (c *compiler) compileFastCGISplit(conf *locConf, blocks [][]*nginxconf.Directive) error {
	conf.fcgiSplit = nil
	var split, index *nginxconf.Directive
	for _, b := range blocks {
		for _, d := range b {
			switch d.Name {
			case "fastcgi_split_path_info":
				split = d
			case "fastcgi_index":
				index = d
			}
		}
	}
	if split == nil && index == nil {
		return nil
	}
	f := &rewrite.FastCGISplit{}
	if index != nil && len(index.Args) == 1 {
		f.Index = index.Args[0]
	}
	if split != nil && len(split.Args) == 1 {
		rx, err := c.rc.Regex(split.Args[0], false)
		if err != nil {
			return rewrite.At(err, split)
		}
		if rx.NumCaptures() != 2 {
			return confErr(split, "pattern \"%s\" must have 2 captures", split.Args[0])
		}
		f.Regex = rx
	}
	conf.fcgiSplit = f
	return nil
}
