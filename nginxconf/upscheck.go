package nginxconf

import "strings"

// This file checks upstream{} blocks as nginx's upstream modules do while
// the block is read: the balancer directives narrow which "server"
// parameters are allowed (uscf->flags), a second balancer is warned
// about, and the block must end with at least one server. Addresses are
// resolved later, by package upstream.

// Upstream flags, as NGX_HTTP_UPSTREAM_*: the server parameters the
// block's balancing method supports.
const (
	upsWeight = 1 << iota
	upsMaxConns
	upsMaxFails
	upsFailTimeout
	upsDown
	upsBackup

	upsBalanced // peer.init_upstream is set

	upsAll      = upsWeight | upsMaxConns | upsMaxFails | upsFailTimeout | upsDown | upsBackup
	upsNoBackup = upsAll &^ upsBackup
)

// upsState follows one upstream{} block.
type upsState struct {
	flags int
}

func newUpsState() *upsState { return &upsState{flags: upsAll} }

// check runs the upstream handlers' checks of d, a directive of the
// block already known and allowed there; warnings come back with Warn.
// A warning comes back as warn, and may come with an error: nginx warns
// "load balancing method redefined" before it reads hash's parameters.
func (u *upsState) check(d *Directive) (warn, err *Error) {
	switch d.Name {
	case "server":
		return nil, u.server(d)
	case "hash", "ip_hash", "random":
		return u.balancer(d, upsNoBackup), balancerParams(d)
	case "least_conn":
		return u.balancer(d, upsAll), nil
	case "keepalive":
		// keepalive wraps the balancer set so far, so one set after it
		// "redefines" it.
		u.flags |= upsBalanced
	}
	return nil, nil
}

func (u *upsState) balancer(d *Directive, flags int) *Error {
	redefined := u.flags&upsBalanced != 0
	u.flags = flags | upsBalanced
	if redefined {
		w := d.errorf("load balancing method redefined")
		w.Warn = true
		return w
	}
	return nil
}

// balancerParams checks hash's "consistent" and random's "two [method]".
func balancerParams(d *Directive) *Error {
	a := d.Args
	switch d.Name {
	case "hash":
		if len(a) == 2 && a[1] != "consistent" {
			return d.errorf("invalid parameter %q", a[1])
		}
	case "random":
		if len(a) == 0 {
			return nil
		}
		if a[0] != "two" {
			return d.errorf("invalid parameter %q", a[0])
		}
		if len(a) == 2 && a[1] != "least_conn" {
			return d.errorf("invalid parameter %q", a[1])
		}
	}
	return nil
}

// server checks a "server" line's parameters as ngx_http_upstream_server
// does, before it parses the address.
func (u *upsState) server(d *Directive) *Error {
	for _, a := range d.Args[1:] {
		need, ok := 0, true
		switch {
		case strings.HasPrefix(a, "weight="):
			need = upsWeight
			n, okN := ParseNumber(a[7:])
			ok = okN && n != 0
		case strings.HasPrefix(a, "max_conns="):
			need = upsMaxConns
			_, ok = ParseNumber(a[10:])
		case strings.HasPrefix(a, "max_fails="):
			need = upsMaxFails
			_, ok = ParseNumber(a[10:])
		case strings.HasPrefix(a, "fail_timeout="):
			need = upsFailTimeout
			_, ok = ParseTime(a[13:], true)
		case a == "backup":
			need = upsBackup
		case a == "down":
			need = upsDown
		default:
			ok = false
		}
		if need != 0 && u.flags&need == 0 {
			return d.errorf("balancing method does not support parameter %q", a)
		}
		if !ok {
			return d.errorf("invalid parameter %q", a)
		}
	}
	return nil
}

// hasServer reports whether an upstream block's directives (includes
// spliced in) hold a server.
func hasServer(block []*Directive) bool {
	for _, d := range block {
		if d.Name == "server" {
			return true
		}
	}
	return false
}
