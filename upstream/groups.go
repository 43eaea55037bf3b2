package upstream

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/upstream/filecache"
	"github.com/gonginx/gonginx/upstream/resolver"
)

// Server is one "server" line of an upstream group.
type Server struct {
	Network     string // "tcp" or "unix"
	Addr        string // "127.0.0.1:32000" or a socket path
	Name        string // as written, for $upstream_addr and logs
	Weight      int
	MaxFails    int
	FailTimeout time.Duration
	Backup      bool
	Down        bool
	MaxConns    int // 0: no limit

	// Balancer state, guarded by the group's mutex, as nginx's peer:
	// times in seconds (ngx_time), checked when it was last picked after
	// fail_timeout passed or failed, accessed when it last failed.
	currentWeight   int
	effectiveWeight int
	fails           int
	checked         int64
	accessed        int64
	conns           int // active connections (least_conn, max_conns)

	// addrPort is Addr parsed, when an IP address and port (tcp): a
	// connect takes it as it is (zero: Addr is parsed at the connect).
	addrPort netip.AddrPort
}

// tcpAddrPort is a tcp server's address parsed (zero when addr is not an
// IP address and port).
func tcpAddrPort(network, addr string) netip.AddrPort {
	if network != "tcp" {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(addr)
	return ap
}

// failTimeout is fail_timeout in nginx's whole seconds.
func (s *Server) failTimeout() int64 { return int64(s.FailTimeout / time.Second) }

// picked is what every nginx balancer does to the peer it chose: a
// peer picked fail_timeout after its check is checked again (so a success
// now clears its failures).
func (s *Server) picked(now time.Time) {
	if t := now.Unix(); t-s.checked > s.failTimeout() {
		s.checked = t
	}
}

// weigh adds a candidate's effective weight to its current weight and
// lets a weight lowered by failures recover by one, as
// ngx_http_upstream_get_peer does for every candidate.
func (s *Server) weigh() int {
	s.currentWeight += s.effectiveWeight
	w := s.effectiveWeight
	if s.effectiveWeight < s.Weight {
		s.effectiveWeight++
	}
	return w
}

// Picker chooses a server for a request: round robin, least_conn,
// ip_hash, hash, hash consistent and random are its implementations. ps
// is the request's state over its tries (the servers tried, by index in
// Group.Servers). It is called with the group locked and returns -1 when
// no server is available.
type Picker interface {
	Pick(g *Group, s *rewrite.State, ps *pickState, now time.Time) int
}

// keyedPicker is a Picker with per-request work done before the first
// pick, outside the group's lock (hash evaluates its key).
type keyedPicker interface {
	start(s *rewrite.State, ps *pickState)
}

// pickState is one request's balancer state over its tries, as nginx's
// peer data: rrp->tried, and the hash, rehash and tries of the hash,
// ip_hash and random modules.
type pickState struct {
	tried   uint64
	started bool   // a keyedPicker's start ran
	key     []byte // hash: the evaluated key
	hash    uint32 // ip_hash, hash: the running hash; consistent: the point
	rehash  uint32
	tries   int // picks given up; past 20 round robin takes over
}

// reset readies ps for a new request, keeping the key's buffer.
func (ps *pickState) reset() { *ps = pickState{key: ps.key[:0]} }

// Group is an upstream{} block, or the implicit one-server group of a
// "proxy_pass http://host:port".
type Group struct {
	Name      string
	Servers   []*Server // primary servers, then backup servers
	Keepalive int       // idle connections kept per worker ("keepalive N")
	// keepalive_timeout, keepalive_requests and keepalive_time of the
	// upstream block (nginx's defaults: 60s, 1000, 1h).
	KeepaliveTimeout  time.Duration
	KeepaliveRequests int
	KeepaliveTime     time.Duration
	Picker            Picker
	Implicit          bool // made from a proxy_pass address, not an upstream{} block

	mu    sync.Mutex
	idle  []idleConn  // oldest first
	sweep *time.Timer // closes idle connections past keepalive_timeout
	// sweepArmed: sweep is pending. A connection pooled meanwhile leaves
	// it as it is (it fires for an older one, or early, and re-arms for
	// the oldest left): no timer update per request.
	sweepArmed bool

	retired  bool // its configuration was replaced: nothing is kept idle
	sessOnce sync.Once
	sessions tls.ClientSessionCache // TLS sessions to its servers (proxy_ssl_session_reuse)

	proxyHost, proxyPort string // for groups made at run time

	zone *groupZone // "zone": the balancer state shared by the workers
}

// Groups holds the upstream{} blocks of a configuration by name.
type Groups struct {
	// Tunnels is where proxies of this config register upgraded
	// connections; replace it with a server-wide set to keep tunnels
	// across reloads.
	Tunnels *Tunnels
	// Slots are the process's worker_connections, which backend
	// connections take (nil: no limit).
	Slots *ConnSlots
	// ConfPrefix is the directory relative proxy_ssl_* file names are
	// read from (nginx's conf prefix).
	ConfPrefix string
	// prefixPath resolves a relative path against the prefix (-p), as
	// CompileCachePaths was given it (nil: paths taken as written).
	prefixPath func(string) string
	// tempDirs are the *_temp_path directories of the proxies compiled,
	// which the master makes and gives the workers (TempPaths).
	tempDirs map[string]bool

	byName   map[string]*Group
	implicit map[string]*Group
	// byHostPort finds implicit groups by "host:port" (host in lower
	// case, port always given), for proxy_pass URLs with variables.
	byHostPort map[string]*Group

	retired atomic.Bool // Retire was called

	dynMu   sync.Mutex
	dynamic map[string]*Group // hosts of proxy_pass URLs with variables

	resolvers map[*nginxconf.Directive]*resolver.Resolver // by resolver directive
	// caches are the *_cache_path zones, by keys_zone name.
	caches map[string]*filecache.Zone

	// ZoneSpecs are the upstream zones, for the master to make.
	ZoneSpecs []ZoneSpec
}

const defaultFailTimeout = 10 * time.Second

// NewGroups returns an empty set (a config without upstream blocks).
func NewGroups() *Groups {
	return &Groups{byName: map[string]*Group{}, implicit: map[string]*Group{}, Tunnels: NewTunnels()}
}

// Lookup returns the upstream{} group named name, or nil.
func (gs *Groups) Lookup(name string) *Group { return gs.byName[strings.ToLower(name)] }

// CompileGroups compiles the upstream{} blocks among the http{} level
// directives.
func CompileGroups(http []*nginxconf.Directive) (*Groups, error) {
	return CompileGroupsVars(http, rewrite.NewCompiler(), nil)
}

// CompileGroupsVars is CompileGroups with the configuration's variables,
// for the keys of "hash", and the zones the master shared (nil: each
// process its own).
func CompileGroupsVars(http []*nginxconf.Directive, rc *rewrite.Compiler, zones *ZoneRegistry) (*Groups, error) {
	gs := NewGroups()
	var order []*Group
	decl := map[*Group]*nginxconf.Directive{}
	for _, d := range http {
		if d.Name != "upstream" || len(d.Args) != 1 {
			continue
		}
		name := strings.ToLower(d.Args[0])
		if _, dup := gs.byName[name]; dup {
			return nil, confErr(d, `duplicate upstream "%s"`, d.Args[0])
		}
		g, err := compileGroup(d, rc)
		if err != nil {
			return nil, err
		}
		gs.byName[name] = g
		order = append(order, g)
		for _, zd := range d.Block {
			if zd.Name == "zone" && len(zd.Args) > 0 {
				decl[g] = zd
			}
		}
	}
	if err := gs.compileZones(order, decl, zones); err != nil {
		return nil, err
	}
	return gs, nil
}

func confErr(d *nginxconf.Directive, format string, args ...any) error {
	return &nginxconf.Error{Msg: fmt.Sprintf(format, args...), File: d.File, Line: d.ReportLine()}
}

func compileGroup(d *nginxconf.Directive, rc *rewrite.Compiler) (*Group, error) {
	g := &Group{Name: d.Args[0], Picker: roundRobin{}, KeepaliveTimeout: defaultKeepaliveTimeout,
		KeepaliveRequests: defaultKeepaliveRequests, KeepaliveTime: defaultKeepaliveTime}
	var backups []*Server
	for _, sd := range d.Block {
		switch sd.Name {
		case "server":
			ss, err := compileServer(sd, d.Args[0])
			if err != nil {
				return nil, err
			}
			if ss[0].Backup {
				backups = append(backups, ss...)
			} else {
				g.Servers = append(g.Servers, ss...)
			}
		case "keepalive":
			n, err := strconv.Atoi(sd.Args[0])
			if err != nil || n <= 0 {
				return nil, confErr(sd, `invalid value "%s" in "keepalive" directive`, sd.Args[0])
			}
			g.Keepalive = n
		case "keepalive_timeout", "keepalive_time":
			v, err := parseTime(sd.Args[0])
			if err != nil {
				return nil, confErr(sd, `"%s" directive invalid value`, sd.Name)
			}
			if sd.Name == "keepalive_time" {
				g.KeepaliveTime = v
			} else {
				g.KeepaliveTimeout = v
			}
		case "keepalive_requests":
			n, err := strconv.Atoi(sd.Args[0])
			if err != nil || n < 0 {
				return nil, confErr(sd, `"%s" directive invalid number`, sd.Name)
			}
			g.KeepaliveRequests = n
		case "least_conn", "ip_hash", "hash", "random":
			p, err := compilePicker(sd, rc)
			if err != nil {
				return nil, err
			}
			g.Picker = p
		}
	}
	if len(g.Servers)+len(backups) == 0 {
		return nil, confErr(d, `no servers are inside upstream`)
	}
	if len(g.Servers) == 0 {
		// ngx_http_upstream_init_round_robin: backups alone serve nothing.
		return nil, confErr(d, `no servers in upstream "%s"`, d.Args[0])
	}
	g.Servers = append(g.Servers, backups...)
	if len(g.Servers) > 64 {
		return nil, confErr(d, "too many servers in upstream \"%s\" (gonginx supports 64)", d.Args[0])
	}
	if f, ok := g.Picker.(interface{ init(g *Group) }); ok {
		f.init(g)
	}
	return g, nil
}

// compileServer parses "server address [weight=N] [max_fails=N]
// [fail_timeout=T] [backup] [down]" as ngx_http_upstream_server: a name
// that resolves to several addresses is a server for each.
func compileServer(d *nginxconf.Directive, upstream string) ([]*Server, error) {
	s := &Server{Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second, Name: d.Args[0]}
	for _, a := range d.Args[1:] {
		var err error
		switch {
		case strings.HasPrefix(a, "weight="):
			s.Weight, err = strconv.Atoi(a[7:])
			if err != nil || s.Weight <= 0 {
				return nil, confErr(d, `invalid parameter "%s"`, a)
			}
		case strings.HasPrefix(a, "max_fails="):
			s.MaxFails, err = strconv.Atoi(a[10:])
			if err != nil || s.MaxFails < 0 {
				return nil, confErr(d, `invalid parameter "%s"`, a)
			}
		case strings.HasPrefix(a, "fail_timeout="):
			s.FailTimeout, err = parseTime(a[13:])
			if err != nil {
				return nil, confErr(d, `invalid parameter "%s"`, a)
			}
		case strings.HasPrefix(a, "max_conns="):
			s.MaxConns, err = strconv.Atoi(a[10:])
			if err != nil || s.MaxConns < 0 || strings.HasPrefix(a[10:], "+") {
				return nil, confErr(d, `invalid parameter "%s"`, a)
			}
		case a == "backup":
			s.Backup = true
		case a == "down":
			s.Down = true
		default:
			return nil, confErr(d, `invalid parameter "%s"`, a)
		}
	}
	// ngx_parse_url: a URI part ("/...", or a scheme's "//") is not
	// allowed in an upstream server address.
	if !strings.HasPrefix(d.Args[0], "unix:") && strings.Contains(d.Args[0], "/") {
		return nil, confErr(d, `invalid host in upstream "%s"`, d.Args[0])
	}
	network, addrs, err := resolveAddr(d.Args[0], "80")
	if err != nil {
		return nil, confErr(d, "%s in upstream \"%s\"", err.Error(), d.Args[0])
	}
	s.Network = network
	s.effectiveWeight = s.Weight
	out := make([]*Server, len(addrs))
	for i, addr := range addrs {
		c := *s
		c.Addr, c.addrPort = addr, tcpAddrPort(network, addr)
		out[i] = &c
	}
	return out, nil
}

// resolveAddr turns "host[:port]" or "unix:/path" into dial addresses,
// resolving names once, at load, as nginx does: every address of a name
// (ngx_inet_resolve_host). Errors read as nginx's ngx_parse_url ones
// ("host not found", "invalid port").
func resolveAddr(a, defPort string) (network string, addrs []string, err error) {
	if strings.HasPrefix(a, "unix:") {
		if a == "unix:" {
			return "", nil, fmt.Errorf("no path in the unix domain socket")
		}
		return "unix", []string{a[5:]}, nil
	}
	host, port, err := splitHostPort(a, defPort)
	if err != nil {
		return "", nil, err
	}
	if net.ParseIP(host) != nil {
		return "tcp", []string{net.JoinHostPort(host, port)}, nil
	}
	ips, lerr := nginxconf.LookupHost(host)
	if lerr != nil || len(ips) == 0 {
		return "", nil, fmt.Errorf("host not found")
	}
	for _, ip := range ips {
		addrs = append(addrs, net.JoinHostPort(ip, port))
	}
	return "tcp", addrs, nil
}

// splitHostPort splits "host[:port]" ("[v6][:port]") as ngx_parse_inet_url,
// with defPort when no port is given.
func splitHostPort(a, defPort string) (host, port string, err error) {
	host, port = a, defPort
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", "", fmt.Errorf("invalid host")
		}
		host = a[1:end]
		if rest := a[end+1:]; rest != "" {
			if rest[0] != ':' {
				return "", "", fmt.Errorf("invalid host")
			}
			port = rest[1:]
		}
	} else if i := strings.LastIndexByte(a, ':'); i >= 0 {
		host, port = a[:i], a[i+1:]
	}
	if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("invalid port")
	}
	if host == "" {
		return "", "", fmt.Errorf("no host")
	}
	return host, port, nil
}

// parseTime parses nginx time values ("10s", "1m30s", "500ms", "30").
func parseTime(v string) (time.Duration, error) {
	if v == "" {
		return 0, fmt.Errorf("empty time")
	}
	var total time.Duration
	for v != "" {
		i := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid time")
		}
		n, _ := strconv.Atoi(v[:i])
		v = v[i:]
		unit := time.Second
		switch {
		case strings.HasPrefix(v, "ms"):
			unit, v = time.Millisecond, v[2:]
		case v == "":
		default:
			switch v[0] {
			case 's':
				unit = time.Second
			case 'm':
				unit = time.Minute
			case 'h':
				unit = time.Hour
			case 'd':
				unit = 24 * time.Hour
			case 'w':
				unit = 7 * 24 * time.Hour
			case 'M':
				unit = 30 * 24 * time.Hour
			case 'y':
				unit = 365 * 24 * time.Hour
			default:
				return 0, fmt.Errorf("invalid time")
			}
			v = v[1:]
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}

// implicitGroup returns the group for a proxy_pass address (a server
// for each address of its name), shared between locations that name the
// same address. It is also found by host and port for proxy_pass URLs
// with variables, as nginx finds its implicit upstreams.
func (gs *Groups) implicitGroup(hostport, defPort string) (*Group, error) {
	key := hostport
	if g := gs.implicit[key]; g != nil {
		return g, nil
	}
	network, addrs, err := resolveAddr(hostport, defPort)
	if err != nil {
		return nil, err
	}
	g := &Group{Name: hostport, Implicit: true, Picker: roundRobin{}}
	for _, addr := range addrs {
		name := addr
		if network == "unix" {
			name = "unix:" + addr
		}
		g.Servers = append(g.Servers, &Server{Network: network, Addr: addr, addrPort: tcpAddrPort(network, addr), Name: name,
			Weight: 1, effectiveWeight: 1, MaxFails: 1, FailTimeout: 10 * time.Second})
	}
	gs.implicit[key] = g
	if network == "tcp" {
		host, port, _ := splitHostPort(hostport, defPort)
		if gs.byHostPort == nil {
			gs.byHostPort = map[string]*Group{}
		}
		k := strings.ToLower(host) + ":" + port
		if gs.byHostPort[k] == nil {
			gs.byHostPort[k] = g
		}
	}
	return g, nil
}

// available reports whether server i may be picked now (not down, not in
// a failure window, not tried for this request).
func (g *Group) available(i int, tried uint64, now time.Time) bool {
	s := g.Servers[i]
	if s.Down || tried&(1<<uint(i)) != 0 {
		return false
	}
	if !g.single() && s.MaxFails > 0 && s.fails >= s.MaxFails && now.Unix()-s.checked <= s.failTimeout() {
		return false
	}
	return s.MaxConns == 0 || s.conns < s.MaxConns
}

// single reports a group of one server (nginx's peers->single): its
// failures are not counted, so it is never taken out of service.
func (g *Group) single() bool { return len(g.Servers) == 1 }

// pick chooses a server for a request's first try.
func (g *Group) pick(s *rewrite.State, tried uint64, now time.Time) int {
	ps := pickState{tried: tried}
	i, _ := g.pickNext(s, &ps, now, nil)
	return i
}

// pickNext chooses a server with the group's picker, falling back to
// backup servers when no primary one is available; with life, a kept
// connection to it too (getIdle's), in the same lock section: one lock
// and unlock a request where two were (each a locked instruction). The
// lookup comes last: default.pgo names the calls above by their line
// in the function (the picker's devirtualized Pick).
func (g *Group) pickNext(s *rewrite.State, ps *pickState, now time.Time, life *connLife) (int, net.Conn) {
	// roundRobin, the default, is no keyedPicker: asked by its type (one
	// compare), not by the interface (an itab lookup, ~95 instructions).
	if _, rr := g.Picker.(roundRobin); !rr && !ps.started {
		if kp, ok := g.Picker.(keyedPicker); ok {
			kp.start(s, ps)
			ps.started = true
		}
	}
	g.mu.Lock()
	if g.zone != nil {
		g.zone.acquire(g)
	}
	i := g.Picker.Pick(g, s, ps, now)
	if i >= 0 {
		g.Servers[i].conns++
		if !g.single() {
			g.Servers[i].picked(now)
		}
	}
	if g.zone != nil {
		g.zone.release(g)
	}
	var nc net.Conn
	if i >= 0 && life != nil {
		nc = g.getIdle(i, now, life)
	}
	g.mu.Unlock()
	return i, nc
}

// done records the outcome of using server i; disabled: this failure
// took it out of service for fail_timeout (nginx's "upstream server
// temporarily disabled" warning).
func (g *Group) done(i int, failed bool, now time.Time) (disabled bool) {
	g.mu.Lock()
	disabled = g.doneLocked(i, failed, now)
	g.mu.Unlock()
	return disabled
}

// doneLocked is done's bookkeeping, with g.mu held.
func (g *Group) doneLocked(i int, failed bool, now time.Time) (disabled bool) {
	if g.zone != nil {
		g.zone.acquire(g)
	}
	g.account(i, failed, now)
	if s := g.Servers[i]; failed && !g.single() && s.MaxFails > 0 && s.fails >= s.MaxFails {
		disabled = true
	}
	if g.zone != nil {
		g.zone.release(g)
	}
	return disabled
}

// connected marks server i live once a stream session's TCP connection
// to it is made (and its TLS handshake done), before the session ends: as
// ngx_stream_upstream_notify_round_robin_peer, so a server whose
// fail_timeout has passed takes every new session again at once, not only
// after its first session closes.
func (g *Group) connected(i int) {
	g.mu.Lock()
	if g.zone != nil {
		g.zone.acquire(g)
	}
	if s := g.Servers[i]; s.accessed < s.checked {
		s.fails = 0
	}
	if g.zone != nil {
		g.zone.release(g)
	}
	g.mu.Unlock()
}

// account is done's bookkeeping, with the group locked.
func (g *Group) account(i int, failed bool, now time.Time) {
	s := g.Servers[i]
	s.conns--
	if g.single() {
		// ngx_http_upstream_free_round_robin_peer returns early for a
		// single peer: no max_fails accounting.
		return
	}
	// ngx_http_upstream_free_round_robin_peer.
	if failed {
		s.fails++
		s.accessed, s.checked = now.Unix(), now.Unix()
		if s.MaxFails > 0 {
			s.effectiveWeight -= s.Weight / s.MaxFails
		}
		if s.effectiveWeight < 0 {
			s.effectiveWeight = 0
		}
	} else if s.accessed < s.checked {
		// Checked since it last failed: it is live again.
		s.fails = 0
	}
}

// roundRobin is nginx's smooth weighted round robin
// (ngx_http_upstream_get_peer): every available server gains its
// effective weight, the largest wins and pays the total back.
type roundRobin struct{}

func (roundRobin) Pick(g *Group, _ *rewrite.State, ps *pickState, now time.Time) int {
	tried := ps.tried
	if g.single() {
		// nginx's peers->single: the one server unless it is out (the
		// loop's weights would come back to where they were).
		if g.available(0, tried, now) {
			return 0
		}
		return -1
	}
	for _, backup := range [2]bool{false, true} {
		best, total := -1, 0
		for i, s := range g.Servers {
			if s.Backup != backup || !g.available(i, tried, now) {
				continue
			}
			total += s.weigh()
			if best < 0 || s.currentWeight > g.Servers[best].currentWeight {
				best = i
			}
		}
		if best >= 0 {
			g.Servers[best].currentWeight -= total
			return best
		}
	}
	return -1
}

// leastConn picks the server with the fewest active connections relative
// to its weight; several such servers are chosen between by smooth
// weighted round robin, as ngx_http_upstream_get_least_conn_peer.
type leastConn struct{}

func (leastConn) Pick(g *Group, st *rewrite.State, ps *pickState, now time.Time) int {
	tried := ps.tried
	for _, backup := range [2]bool{false, true} {
		best, many := -1, false
		for i, s := range g.Servers {
			if s.Backup != backup || !g.available(i, tried, now) {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			b := g.Servers[best]
			switch {
			case s.conns*b.Weight < b.conns*s.Weight:
				best, many = i, false
			case s.conns*b.Weight == b.conns*s.Weight:
				many = true
			}
		}
		if best < 0 {
			continue
		}
		if many {
			total := 0
			first := best
			for i := first; i < len(g.Servers); i++ {
				s, b := g.Servers[i], g.Servers[best]
				if s.Backup != backup || !g.available(i, tried, now) || s.conns*b.Weight != b.conns*s.Weight {
					continue
				}
				total += s.weigh()
				if s.currentWeight > b.currentWeight {
					best = i
				}
			}
			g.Servers[best].currentWeight -= total
		}
		return best
	}
	return -1
}

// sessionCache is the group's TLS session cache, made on first use.
func (g *Group) sessionCache() tls.ClientSessionCache {
	g.sessOnce.Do(func() { g.sessions = tls.NewLRUClientSessionCache(len(g.Servers) * 4) })
	return g.sessions
}
