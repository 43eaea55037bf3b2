package rewrite

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/geoip"
)

// This file holds the variables of nginx's geoip modules (http and
// stream: ngx_http_geoip_module, ngx_stream_geoip_module), read from
// MaxMind's legacy databases by rewrite/geoip.

// geoIPConf is the geoip_* directives of one http{} or stream{} block.
type geoIPConf struct {
	country, city, org *geoip.DB
	proxies            []netip.Prefix // geoip_proxy (http only)
	recursive          bool
}

// GeoIPModule reports whether a configuration loads the geoip module of
// http (stream false) or stream: its variables exist only then.
func GeoIPModule(tree []*nginxconf.Directive, stream bool) bool {
	want := "ngx_http_geoip_module.so"
	if stream {
		want = "ngx_stream_geoip_module.so"
	}
	for _, d := range tree {
		if d.Name == "load_module" && len(d.Args) == 1 {
			p := d.Args[0]
			if len(p) >= len(want) && p[len(p)-len(want):] == want &&
				(len(p) == len(want) || p[len(p)-len(want)-1] == '/') {
				return true
			}
		}
	}
	return false
}

// GeoIP compiles the geoip_* directives of block (the http{} or stream{}
// block) and defines the module's variables, as the module does when it
// is loaded: without a database, a variable is not found.
func (c *Compiler) GeoIP(block []*nginxconf.Directive) error {
	g := &geoIPConf{}
	for _, d := range block {
		var err error
		switch d.Name {
		case "geoip_country":
			g.country, err = openGeoIP(d, g.country, "GeoIP", geoip.CountryEdition, geoip.CountryEditionV6)
		case "geoip_city":
			g.city, err = openGeoIP(d, g.city, "GeoIP City", geoip.CityEditionRev0, geoip.CityEditionRev1,
				geoip.CityEditionRev0V6, geoip.CityEditionRev1V6)
		case "geoip_org":
			g.org, err = openGeoIP(d, g.org, "GeoIP", geoip.ISPEdition, geoip.OrgEdition, geoip.DomainEdition,
				geoip.ASNumEdition, geoip.ISPEditionV6, geoip.OrgEditionV6, geoip.DomainEditionV6, geoip.ASNumEditionV6)
		case "geoip_proxy":
			var p netip.Prefix
			p, err = geoIPProxy(d)
			if err == nil {
				g.proxies = append(g.proxies, p)
			}
		case "geoip_proxy_recursive":
			g.recursive = len(d.Args) == 1 && d.Args[0] == "on"
		}
		if err != nil {
			return err
		}
	}
	c.defineGeoIP(g)
	return nil
}

func openGeoIP(d *nginxconf.Directive, prev *geoip.DB, kind string, types ...int) (*geoip.DB, error) {
	if prev != nil {
		return nil, At(errf(`"`+d.Name+`" directive is duplicate`), d)
	}
	// libGeoIP opens the path as written (no prefix), as nginx passes it.
	db, err := geoip.Open(d.Args[0])
	if err != nil {
		// libGeoIP's own line goes to stderr first, as under nginx.
		var oe *geoip.OpenError
		if errors.As(err, &oe) {
			fmt.Fprintln(os.Stderr, oe.Message)
		}
		return nil, At(errf(`GeoIP_open("`+d.Args[0]+`") failed`), d)
	}
	if len(d.Args) == 2 {
		if d.Args[1] != "utf8" {
			return nil, At(errf(`invalid parameter "`+d.Args[1]+`"`), d)
		}
		db.UTF8 = true
	}
	for _, t := range types {
		if db.Type == t {
			return db, nil
		}
	}
	return nil, At(errf(`invalid `+kind+` database "`+d.Args[0]+`" type:`+strconv.Itoa(db.Type)), d)
}

// geoIPProxy reads a geoip_proxy network as ngx_http_geoip_cidr_value:
// "255.255.255.255" is the one address, low bits set past the mask are
// dropped (nginx -t warned about them already).
func geoIPProxy(d *nginxconf.Directive) (netip.Prefix, error) {
	s := d.Args[0]
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, At(errf(`invalid network "`+s+`"`), d)
	}
	return p.Masked(), nil
}

// geoIPAddr is the address nginx hands libGeoIP: the client's (realip'd),
// or with geoip_proxy the one X-Forwarded-For names, as a 32-bit number
// for an IPv4 database (an IPv4-mapped address unmapped, any other
// 255.255.255.255) or 16 bytes for an IPv6 one (IPv4 mapped, none ::).
func (g *geoIPConf) addr(s *State, v6 bool, dst []byte) geoip.Addr {
	var a netip.Addr
	if s.Req != nil && s.Req.Conn != nil {
		a, _ = parseNgxAddr(s.Req.Conn.RemoteAddr) // "unix:" is none
	}
	if len(g.proxies) > 0 && a.IsValid() && s.Req != nil {
		start := len(dst)
		dst = joinHeaders(s, "x_forwarded_for", ", ", dst)
		if xff := dst[start:]; len(xff) > 0 {
			a = forwardedAddr(a, xff, g.proxies, g.recursive)
		}
	}
	var out geoip.Addr
	if v6 {
		if a.IsValid() {
			out.V6 = a.As16() // an IPv4 address comes out IPv4-mapped
		}
		return out
	}
	switch {
	case a.Is4() || a.Is4In6():
		b := a.Unmap().As4()
		out.V4 = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	default:
		out.V4 = 0xffffffff // INADDR_NONE
	}
	return out
}

func (c *Compiler) defineGeoIP(g *geoIPConf) {
	country := func(pick func(id int, utf8 bool) ([]byte, bool)) Getter {
		return func(s *State, dst []byte) []byte {
			if g.country == nil {
				return dst
			}
			a := g.addr(s, g.country.IPv6(), dst)
			val, ok := pick(g.country.CountryID(&a), g.country.UTF8)
			s.FoundEmpty = ok
			return append(dst, val...)
		}
	}
	c.define("geoip_country_code", country(func(id int, _ bool) ([]byte, bool) { return geoip.CountryCode(id) }))
	c.define("geoip_country_code3", country(func(id int, _ bool) ([]byte, bool) { return geoip.CountryCode3(id) }))
	c.define("geoip_country_name", country(geoip.CountryName))
	c.define("geoip_org", func(s *State, dst []byte) []byte {
		if g.org == nil {
			return dst
		}
		addr := g.addr(s, g.org.IPv6(), dst)
		start := len(dst)
		dst, ok := g.org.AppendName(dst, &addr)
		s.FoundEmpty = ok && len(dst) == start
		return dst
	})
	city := func(field func(r *geoip.Record, dst []byte) ([]byte, bool)) Getter {
		return func(s *State, dst []byte) []byte {
			if g.city == nil {
				return dst
			}
			a := g.addr(s, g.city.IPv6(), dst)
			r, ok := g.city.City(&a)
			if !ok {
				return dst
			}
			start := len(dst)
			dst, ok = field(&r, dst)
			s.FoundEmpty = ok && len(dst) == start
			return dst
		}
	}
	str := func(f func(r *geoip.Record) []byte) Getter {
		return city(func(r *geoip.Record, dst []byte) ([]byte, bool) {
			v := f(r)
			return append(dst, v...), v != nil
		})
	}
	c.define("geoip_city_continent_code", city(func(r *geoip.Record, dst []byte) ([]byte, bool) {
		return append(dst, r.Continent...), true
	}))
	c.define("geoip_city_country_code", city(func(r *geoip.Record, dst []byte) ([]byte, bool) {
		return append(dst, r.Code...), true
	}))
	c.define("geoip_city_country_code3", city(func(r *geoip.Record, dst []byte) ([]byte, bool) {
		return append(dst, r.Code3...), true
	}))
	c.define("geoip_city_country_name", city(func(r *geoip.Record, dst []byte) ([]byte, bool) {
		name, ok := geoip.CountryName(r.Country, g.city.UTF8)
		return append(dst, name...), ok
	}))
	c.define("geoip_region", str(func(r *geoip.Record) []byte { return r.Region }))
	c.define("geoip_region_name", str(func(r *geoip.Record) []byte { return geoip.RegionName(r.Code, r.Region) }))
	c.define("geoip_city", city(func(r *geoip.Record, dst []byte) ([]byte, bool) {
		return g.city.AppendCity(dst, r), r.City != nil
	}))
	c.define("geoip_postal_code", str(func(r *geoip.Record) []byte { return r.Postal }))
	c.define("geoip_latitude", city(func(r *geoip.Record, dst []byte) ([]byte, bool) {
		return appendNgxFloat(dst, float64(r.Latitude), 4), true
	}))
	c.define("geoip_longitude", city(func(r *geoip.Record, dst []byte) ([]byte, bool) {
		return appendNgxFloat(dst, float64(r.Longitude), 4), true
	}))
	c.define("geoip_dma_code", city(func(r *geoip.Record, dst []byte) ([]byte, bool) {
		return strconv.AppendInt(dst, int64(r.Metro), 10), true
	}))
	c.define("geoip_area_code", city(func(r *geoip.Record, dst []byte) ([]byte, bool) {
		return strconv.AppendInt(dst, int64(r.Area), 10), true
	}))
}

// appendNgxFloat is ngx_sprintf's "%.Nf": the integer part, then the
// fraction rounded half up in N digits (carrying into the integer).
func appendNgxFloat(dst []byte, f float64, width int) []byte {
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	ui := uint64(int64(f))
	scale := uint64(1)
	for i := 0; i < width; i++ {
		scale *= 10
	}
	frac := uint64((f-float64(ui))*float64(scale) + 0.5)
	if frac == scale {
		ui++
		frac = 0
	}
	dst = strconv.AppendUint(dst, ui, 10)
	dst = append(dst, '.')
	start := len(dst)
	dst = strconv.AppendUint(dst, frac, 10)
	for len(dst)-start < width {
		dst = append(dst[:start+1], dst[start:]...)
		dst[start] = '0'
	}
	return dst
}
