package upstream

import (
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream/filecache"
)

// This file reads the cache directives of each protocol (proxy_cache*,
// fastcgi_cache*, scgi_cache*, uwsgi_cache*, *_no_cache), as
// ngx_http_upstream_conf_t holds them.

// cacheConf is a location's cache settings.
type cacheConf struct {
	zone      *filecache.Zone            // a named zone; nil with zoneValue
	zoneValue *rewrite.Complex           // proxy_cache $variable: the zone's name per request
	zones     map[string]*filecache.Zone // by name, for zoneValue
	key       *rewrite.Complex           // proxy_cache_key
	valid     []cacheValid               // proxy_cache_valid, in order
	methods   uint32                     // bits of http1 method codes
	minUses   int                        // proxy_cache_min_uses
	bypass    []*rewrite.Complex         // proxy_cache_bypass
	noCache   []*rewrite.Complex         // proxy_no_cache
	useStale  ftMask                     // proxy_cache_use_stale
	staleUpd  bool                       // ... updating
	bgUpdate  bool                       // proxy_cache_background_update
	lock      bool                       // proxy_cache_lock
	lockAge   time.Duration              // proxy_cache_lock_age
	lockWait  time.Duration              // proxy_cache_lock_timeout
	revalid   bool                       // proxy_cache_revalidate
	convHead  bool                       // proxy_cache_convert_head
	maxOffset int64                      // proxy_cache_max_range_offset; -1: none
	emptyKey  bool                       // no *_cache_key for a CGI protocol
}

// cacheValid is one status (0: any) of proxy_cache_valid and its time.
type cacheValid struct {
	status int
	valid  time.Duration
}

// validFor is ngx_http_file_cache_valid: the time of the first entry that
// names status or "any"; 0 when none does.
func (cc *cacheConf) validFor(status int) time.Duration {
	for _, v := range cc.valid {
		if v.status == 0 || v.status == status {
			return v.valid
		}
	}
	return 0
}

// CompileCachePaths reads the *_cache_path directives of the http{}
// level into gs's cache zones; prefixPath resolves a relative path
// against the prefix (-p). -t has checked their parameters.
func (gs *Groups) CompileCachePaths(http []*nginxconf.Directive, prefixPath func(string) string) {
	gs.prefixPath = prefixPath // for *_temp_path
	for _, d := range http {
		switch d.Name {
		case "proxy_cache_path", "fastcgi_cache_path", "scgi_cache_path", "uwsgi_cache_path":
		default:
			continue
		}
		if len(d.Args) < 2 {
			continue
		}
		path := strings.TrimSuffix(prefixPath(d.Args[0]), "/")
		var name string
		var levels []int
		inactive := 10 * time.Minute
		var maxSize, minFree int64
		useTemp := true
		for _, a := range d.Args[1:] {
			k, v, _ := strings.Cut(a, "=")
			switch k {
			case "use_temp_path":
				useTemp = v != "off"
			case "levels":
				for _, l := range strings.Split(v, ":") {
					n, _ := strconv.Atoi(l)
					levels = append(levels, n)
				}
			case "keys_zone":
				name, _, _ = strings.Cut(v, ":")
			case "inactive":
				if t, ok := nginxconf.ParseTime(v, true); ok {
					inactive = time.Duration(t) * time.Second
				}
			case "max_size":
				maxSize, _ = nginxconf.ParseOffset(v)
			case "min_free":
				minFree, _ = nginxconf.ParseOffset(v)
			}
		}
		if gs.caches == nil {
			gs.caches = map[string]*filecache.Zone{}
		}
		z := filecache.NewZone(name, path, levels, inactive, maxSize, minFree)
		z.UseTempPath = useTemp
		gs.caches[name] = z
	}
}

// Caches lists the cache zones of the configuration, for the process
// that runs their managers.
func (gs *Groups) Caches() []*filecache.Zone {
	var zs []*filecache.Zone
	for _, z := range gs.caches {
		zs = append(zs, z)
	}
	return zs
}

// compileCache reads the location's cache directives of p's protocol;
// p.cache stays nil when the cache is off.
func (p *Proxy) compileCache(blocks [][]*nginxconf.Directive, c *rewrite.Compiler) error {
	d := last(blocks, p.name("_cache"))
	if d == nil || len(d.Args) != 1 || d.Args[0] == "off" {
		return nil
	}
	cc := &cacheConf{minUses: 1, lockAge: 5 * time.Second, lockWait: 5 * time.Second, convHead: true, maxOffset: -1,
		methods: 1<<http1.MethodGET | 1<<http1.MethodHEAD, zones: p.groups.caches}
	if strings.Contains(d.Args[0], "$") {
		cv, err := c.Complex(d.Args[0])
		if err != nil {
			return rewrite.At(err, d)
		}
		cc.zoneValue = cv
	} else if cc.zone = p.groups.caches[d.Args[0]]; cc.zone == nil {
		return confErr(d, `"%s" zone "%s" is unknown`, d.Name, d.Args[0])
	}
	var err error
	if kd := last(blocks, p.name("_cache_key")); kd != nil {
		if cc.key, err = c.Complex(kd.Args[0]); err != nil {
			return rewrite.At(err, kd)
		}
	}
	// Without *_cache_key, FastCGI, SCGI and uwsgi have an empty key (nginx
	// -t warns): every response of the location shares one entry.
	cc.emptyKey = cc.key == nil && p.name("") != "proxy"
	for _, vd := range innermost(blocks, p.name("_cache_valid")) {
		t, err := parseTime(vd.Args[len(vd.Args)-1])
		if err != nil {
			return confErr(vd, `invalid time value "%s"`, vd.Args[len(vd.Args)-1])
		}
		codes := vd.Args[:len(vd.Args)-1]
		if len(codes) == 0 {
			codes = []string{"200", "301", "302"}
		}
		for _, s := range codes {
			st := 0
			if s != "any" {
				if st, err = strconv.Atoi(s); err != nil || st < 100 || st > 599 {
					return confErr(vd, `invalid status "%s"`, s)
				}
			}
			cc.valid = append(cc.valid, cacheValid{st, t})
		}
	}
	if md := last(blocks, p.name("_cache_methods")); md != nil {
		for _, m := range md.Args {
			for code, name := range methodNamesList {
				if strings.EqualFold(m, name) && name != "" {
					cc.methods |= 1 << code
				}
			}
		}
	}
	if md := last(blocks, p.name("_cache_min_uses")); md != nil {
		n, err := strconv.Atoi(md.Args[0])
		if err != nil || n < 0 {
			return confErr(md, `invalid number "%s"`, md.Args[0])
		}
		cc.minUses = n
	}
	for _, set := range []struct {
		name string
		dst  *[]*rewrite.Complex
	}{{p.name("_cache_bypass"), &cc.bypass}, {p.name("_no_cache"), &cc.noCache}} {
		for _, bd := range innermost(blocks, set.name) {
			for _, a := range bd.Args {
				cv, err := c.Complex(a)
				if err != nil {
					return rewrite.At(err, bd)
				}
				*set.dst = append(*set.dst, cv)
			}
		}
	}
	if sd := last(blocks, p.name("_cache_use_stale")); sd != nil {
		for _, a := range sd.Args {
			switch a {
			case "off":
				cc.useStale, cc.staleUpd = 0, false
			case "updating":
				cc.staleUpd = true
			default:
				m, ok := nextUpstreamNames[a]
				if !ok || m == ftNonIdempotent {
					return confErr(sd, `invalid value "%s"`, a)
				}
				cc.useStale |= m
			}
		}
	}
	cc.bgUpdate = flag(blocks, p.name("_cache_background_update"), false)
	cc.lock = flag(blocks, p.name("_cache_lock"), false)
	cc.revalid = flag(blocks, p.name("_cache_revalidate"), false)
	cc.convHead = flag(blocks, p.name("_cache_convert_head"), true)
	for _, t := range []struct {
		suffix string
		dst    *time.Duration
	}{{"_cache_lock_age", &cc.lockAge}, {"_cache_lock_timeout", &cc.lockWait}} {
		if td := last(blocks, p.name(t.suffix)); td != nil {
			v, err := parseTime(td.Args[0])
			if err != nil {
				return confErr(td, `"%s" directive invalid value`, td.Name)
			}
			*t.dst = v
		}
	}
	if od := last(blocks, p.name("_cache_max_range_offset")); od != nil {
		n, ok := nginxconf.ParseOffset(od.Args[0])
		if !ok {
			return confErr(od, `"%s" directive invalid value`, od.Name)
		}
		cc.maxOffset = n
	}
	p.cache = cc
	return nil
}

var methodNamesList = [...]string{"", "GET", "HEAD", "POST", "PUT", "DELETE", "MKCOL", "COPY", "MOVE",
	"OPTIONS", "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "PATCH", "TRACE", "CONNECT"}

// cacheRequestHeaders are ngx_http_proxy_cache_headers: for a request
// whose response may be cached, the client's conditional and range
// headers do not reach the backend; an expired entry being revalidated
// sends its own.
func (p *Proxy) cacheRequestHeaders(c *rewrite.Compiler) error {
	p.headersCache = append([]setHeader(nil), p.headers...)
	for _, h := range []struct{ name, value string }{
		{"If-Modified-Since", "$upstream_cache_last_modified"}, {"If-Unmodified-Since", ""},
		{"If-None-Match", "$upstream_cache_etag"}, {"If-Match", ""}, {"Range", ""}, {"If-Range", ""},
	} {
		overridden := false
		for _, have := range p.headersCache {
			if strings.EqualFold(have.name, h.name) {
				overridden = true
			}
		}
		if overridden {
			continue
		}
		sh := setHeader{name: h.name, lower: strings.ToLower(h.name)}
		if h.value != "" {
			cv, err := c.Complex(h.value)
			if err != nil {
				return err
			}
			sh.kind, sh.value = hdrComplex, cv
		}
		p.headersCache = append(p.headersCache, sh)
	}
	return nil
}

// cacheParams are ngx_http_fastcgi_cache_headers (and scgi's, uwsgi's):
// the CGI protocols' version of cacheRequestHeaders.
func cacheParams(params []fcgiParam, hide []string, c *rewrite.Compiler) ([]fcgiParam, []string, error) {
	params = append([]fcgiParam(nil), params...)
	hide = append([]string(nil), hide...)
	for _, h := range []struct{ name, value string }{
		{"HTTP_IF_MODIFIED_SINCE", "$upstream_cache_last_modified"}, {"HTTP_IF_UNMODIFIED_SINCE", ""},
		{"HTTP_IF_NONE_MATCH", "$upstream_cache_etag"}, {"HTTP_IF_MATCH", ""}, {"HTTP_RANGE", ""}, {"HTTP_IF_RANGE", ""},
	} {
		lower := strings.ToLower(h.name[5:])
		set := false
		for _, have := range hide {
			set = set || have == lower
		}
		if set {
			continue
		}
		hide = append(hide, lower)
		if h.value == "" {
			continue
		}
		cv, err := c.Complex(h.value)
		if err != nil {
			return nil, nil, err
		}
		params = append(params, fcgiParam{key: h.name, value: cv, skipEmpty: true})
	}
	return params, hide, nil
}
