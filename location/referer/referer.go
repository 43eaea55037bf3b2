// Package referer is nginx's referer module without the server around
// it: the valid_referers list compiled into nginx's combined hash (exact
// names, "*.example.com" / ".example.com" head wildcards and
// "www.example.*" tail wildcards, matched as ngx_hash_find_combined
// matches them, trie quirks included), the regexes, and the test that
// gives $invalid_referer its value.
package referer

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Regex matches a subject; the location package supplies nginx's
// caseless regexes.
type Regex interface {
	Test(b []byte) bool
}

// List is one level's valid_referers lines as written, before merging.
type List struct {
	None, Blocked, ServerNames bool
	hosts                      []hostKey // in order written
	Regexes                    []Regex
	exactSeen, wcSeen          map[string]bool
}

type hostKey struct {
	key string // as written (host part)
	uri string // the "/..." part; "" none
}

// ErrConflict and ErrInvalid are ngx_hash_add_key's NGX_BUSY and
// NGX_DECLINED.
var (
	ErrConflict = errors.New("conflicting parameter")
	ErrInvalid  = errors.New("invalid hostname or wildcard")
)

// AddHost adds a "host[/uri]" argument (or a server name, uri "").
// It reports ErrInvalid or ErrConflict as nginx would for the host part.
func (l *List) AddHost(host, uri string) error {
	if l.exactSeen == nil {
		l.exactSeen, l.wcSeen = map[string]bool{}, map[string]bool{}
	}
	stars := strings.Count(host, "*")
	if stars > 1 || strings.Contains(host, "..") || strings.IndexByte(host, 0) >= 0 {
		return ErrInvalid
	}
	low := strings.ToLower(host)
	switch {
	case len(low) > 1 && low[0] == '.':
		// Also "example.com" itself: it conflicts with an exact key.
		if l.exactSeen[low[1:]] || l.wcSeen["h"+low[1:]] {
			return ErrConflict
		}
		l.exactSeen[low[1:]], l.wcSeen["h"+low[1:]] = true, true
	case len(low) > 2 && low[0] == '*' && low[1] == '.':
		if l.wcSeen["h"+low[2:]] {
			return ErrConflict
		}
		l.wcSeen["h"+low[2:]] = true
	case len(low) > 2 && strings.HasSuffix(low, ".*"):
		if l.wcSeen["t"+low[:len(low)-1]] {
			return ErrConflict
		}
		l.wcSeen["t"+low[:len(low)-1]] = true
	default:
		if stars > 0 {
			return ErrInvalid
		}
		if l.exactSeen[low] {
			return ErrConflict
		}
		l.exactSeen[low] = true
	}
	l.hosts = append(l.hosts, hostKey{key: low, uri: uri})
	return nil
}

// HasHosts reports whether any exact or wildcard name was added (the
// check behind "none" or "blocked" without any valid referer).
func (l *List) HasHosts() bool { return len(l.hosts) > 0 }

// Matcher is a compiled level: what $invalid_referer tests.
type Matcher struct {
	None, Blocked bool
	exact         map[string]*string
	head, tail    *wcHash
	regexes       []Regex // against the referer after its scheme
	nameRegexes   []Regex // server_name regexes, against the host
}

// noURI is nginx's NGX_HTTP_REFERER_NO_URI_PART: any path is valid.
var noURI = new(string)

// Compile builds a level's matcher. parent is the level's merged parent
// (nil at the top); regexes and server-name regexes of a level that has
// none are inherited from it, as ngx_http_referer_merge_conf does.
func Compile(l *List, nameRegexes []Regex, parent *Matcher) *Matcher {
	m := &Matcher{None: l.None, Blocked: l.Blocked, exact: map[string]*string{}}
	var heads, tails []wcKey
	for _, h := range l.hosts {
		v := noURI
		if h.uri != "" {
			u := h.uri
			v = &u
		}
		switch {
		case len(h.key) > 1 && h.key[0] == '.': // as AddHost: "" is an exact key
			heads = append(heads, wcKey{reverseLabels(h.key[1:]), v})
		case strings.HasPrefix(h.key, "*."):
			heads = append(heads, wcKey{reverseLabels(h.key[2:]) + ".", v})
		case strings.HasSuffix(h.key, ".*"):
			tails = append(tails, wcKey{h.key[:len(h.key)-2], v})
		default:
			m.exact[h.key] = v
		}
	}
	if len(heads) > 0 {
		m.head = buildWildcard(sortDNS(heads))
	}
	if len(tails) > 0 {
		m.tail = buildWildcard(sortDNS(tails))
	}
	m.regexes, m.nameRegexes = l.Regexes, nameRegexes
	if parent != nil {
		if m.regexes == nil {
			m.regexes = parent.regexes
		}
		if m.nameRegexes == nil {
			m.nameRegexes = parent.nameRegexes
		}
	}
	return m
}

// reverseLabels turns "example.com" into "com.example".
func reverseLabels(s string) string {
	labels := strings.Split(s, ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}

// Invalid is ngx_http_referer_variable: whether the Referer value ref
// (present or not) is invalid; scratch holds up to 256 bytes.
func (m *Matcher) Invalid(ref []byte, present bool, scratch *[256]byte) bool {
	if m == nil || len(m.exact) == 0 && m.head == nil && m.tail == nil && m.regexes == nil && m.nameRegexes == nil {
		return false
	}
	if !present {
		return !m.None
	}
	var rest []byte
	switch {
	case len(ref) >= len("http://i.ru") && hasPrefixFold(ref, "http://"):
		rest = ref[7:]
	case len(ref) >= len("http://i.ru") && hasPrefixFold(ref, "https://"):
		rest = ref[8:]
	default:
		return !m.Blocked
	}
	n := 0
	for n < len(rest) && rest[n] != '/' && rest[n] != ':' {
		if n == 256 {
			return true
		}
		c := rest[n]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		scratch[n] = c
		n++
	}
	host := scratch[:n]
	if uri := m.find(host); uri != nil {
		path := rest[n:]
		if i := bytes.IndexByte(path, '/'); i >= 0 {
			path = path[i:]
		} else {
			path = path[len(path):]
		}
		if uri == noURI {
			return false
		}
		return len(path) < len(*uri) || string(path[:len(*uri)]) != *uri
	}
	for _, re := range m.nameRegexes {
		if re.Test(host) {
			return false
		}
	}
	for _, re := range m.regexes {
		if re.Test(rest) {
			return false
		}
	}
	return true
}

// find is ngx_hash_find_combined.
func (m *Matcher) find(host []byte) *string {
	if v, ok := m.exact[string(host)]; ok {
		return v
	}
	if len(host) == 0 {
		return nil
	}
	if m.head != nil {
		if v := m.head.findHead(host); v != nil {
			return v
		}
	}
	if m.tail != nil {
		if v := m.tail.findTail(host); v != nil {
			return v
		}
	}
	return nil
}

func hasPrefixFold(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

// String describes m for tests.
func (m *Matcher) String() string {
	return fmt.Sprintf("none=%v blocked=%v exact=%d regexes=%d", m.None, m.Blocked, len(m.exact), len(m.regexes))
}
