package rewrite

import (
	"bytes"
	"sort"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

// mapVar is a "map" variable: evaluated on first use in a request and
// cached for it (unless "volatile"), as ngx_http_map_variable does.
type mapVar struct {
	source    *Complex
	exact     map[string]*Complex // lowercased keys
	heads     []wildcard          // "*.example.com", ".example.com": longest first
	tails     []wildcard          // "www.example.*": longest first
	regexes   []mapRegex
	def       *Complex
	hostnames bool
	volatile  bool
}

type wildcard struct {
	key   string // ".example.com" (head) or "www.example." (tail)
	whole bool   // ".example.com" also matches "example.com"
	value *Complex
}

type mapRegex struct {
	rx    *Regex
	value *Complex
}

// Map compiles "map $source $variable { ... }" (http context). The block
// entries are directives named by their key; include was already spliced.
func (c *Compiler) Map(d *nginxconf.Directive) error {
	if len(d.Args) != 2 {
		return At(errf(`invalid number of arguments in "map" directive`), d)
	}
	src, err := c.Complex(d.Args[0])
	if err != nil {
		return At(err, d)
	}
	name := d.Args[1]
	if !strings.HasPrefix(name, "$") {
		return At(errf(`invalid variable name "`+name+`"`), d)
	}
	v, err := c.newSlot(name[1:])
	if err != nil {
		return At(err, d)
	}
	m := &mapVar{source: src, exact: make(map[string]*Complex)}
	type entry struct {
		d   *nginxconf.Directive
		key string
		val string
	}
	var entries []entry
	for _, e := range d.Block {
		if e.Name == "#" {
			continue
		}
		if len(e.Args) == 0 && e.Name == "hostnames" {
			m.hostnames = true
			continue
		}
		if len(e.Args) == 0 && e.Name == "volatile" {
			m.volatile = true
			continue
		}
		if len(e.Args) != 1 {
			return At(errf("invalid number of the map parameters"), e)
		}
		entries = append(entries, entry{e, e.Name, e.Args[0]})
	}
	for _, e := range entries {
		val, err := c.value(e.val)
		if err != nil {
			return At(err, e.d)
		}
		key := e.key
		switch {
		case key == "default":
			if m.def != nil {
				return At(errf("duplicate default map parameter"), e.d)
			}
			m.def = val
			continue
		case strings.HasPrefix(key, "~"):
			pattern, caseless := key[1:], false
			if strings.HasPrefix(pattern, "*") {
				pattern, caseless = pattern[1:], true
			}
			rx, err := c.Regex(pattern, caseless)
			if err != nil {
				return At(err, e.d)
			}
			m.regexes = append(m.regexes, mapRegex{rx, val})
			continue
		case strings.HasPrefix(key, `\`):
			key = key[1:]
		}
		if err := m.addKey(key, val); err != nil {
			return At(err, e.d)
		}
	}
	sort.SliceStable(m.heads, func(i, j int) bool { return len(m.heads[i].key) > len(m.heads[j].key) })
	sort.SliceStable(m.tails, func(i, j int) bool { return len(m.tails[i].key) > len(m.tails[j].key) })
	v.mapping = m
	return nil
}

func (m *mapVar) addKey(key string, val *Complex) error {
	low := strings.ToLower(key)
	if m.hostnames {
		if strings.Count(low, "*") > 1 || strings.HasPrefix(low, "*") && !strings.HasPrefix(low, "*.") {
			return errf(`invalid hostname or wildcard "` + key + `"`)
		}
		switch {
		case strings.HasPrefix(low, "*."):
			return m.addWild(&m.heads, low[1:], false, val, low)
		case strings.HasPrefix(low, ".") && len(low) > 1:
			return m.addWild(&m.heads, low, true, val, low)
		case strings.HasSuffix(low, ".*"):
			return m.addWild(&m.tails, low[:len(low)-1], false, val, low)
		case strings.Contains(low, "*"):
			return errf(`invalid hostname or wildcard "` + key + `"`)
		}
	}
	if _, dup := m.exact[low]; dup {
		// nginx lowercases the key in place before it reports it.
		return errf(`conflicting parameter "` + low + `"`)
	}
	// ".example.com" holds "example.com" among the exact keys too.
	for _, w := range m.heads {
		if w.whole && w.key[1:] == low {
			return errf(`conflicting parameter "` + low + `"`)
		}
	}
	m.exact[low] = val
	return nil
}

func (m *mapVar) addWild(list *[]wildcard, key string, whole bool, val *Complex, orig string) error {
	for _, w := range *list {
		if w.key == key {
			return errf(`conflicting parameter "` + orig + `"`)
		}
	}
	*list = append(*list, wildcard{key: key, whole: whole, value: val})
	if whole {
		bare := key[1:]
		if _, dup := m.exact[bare]; dup {
			return errf(`conflicting parameter "` + orig + `"`)
		}
	}
	return nil
}

// eval computes the map for s, caches it in the variable's slot (unless
// volatile) and appends it to dst. The key and the value are computed in
// dst's tail (see "Scratch memory" in the package doc).
func (m *mapVar) eval(s *State, v *variable, dst []byte) []byte {
	start := len(dst)
	dst = m.source.Eval(s, dst)
	var val *Complex
	val, dst = m.find(s, dst, start)
	mid := len(dst)
	if val != nil {
		dst = val.Eval(s, dst)
	}
	out := dst[mid:]
	if !m.volatile {
		growSlots(s, v.slot+1)
		s.Values[v.slot] = append(s.Values[v.slot][:0], out...)
		s.Valid[v.slot] = true
	}
	n := copy(dst[start:], out)
	return dst[:start+n]
}

// find follows ngx_http_map_find: exact and wildcard keys
// case-insensitively (a trailing dot dropped for hostnames), then regexes
// in order on the value as is, then the default. The key is dst[start:];
// its lowercased copy is made past it and dropped again.
func (m *mapVar) find(s *State, dst []byte, start int) (*Complex, []byte) {
	end := len(dst)
	k := dst[start:end]
	if m.hostnames && len(k) > 0 && k[len(k)-1] == '.' {
		k = k[:len(k)-1]
	}
	for _, c := range k {
		dst = append(dst, lower(c))
	}
	key, low := dst[start:end], dst[end:]
	val := m.findLower(low)
	dst = dst[:end]
	if val != nil {
		return val, dst
	}
	for _, r := range m.regexes {
		if r.rx.Match(s, key) {
			return r.value, dst
		}
		if s.RegexFailed != "" {
			// ngx_http_map_find: the match limit ends the search with the
			// default value, not the request; the alert is logged.
			if a, ok := s.TryLog.(RegexAlerter); ok {
				a.LogRegexFailed(s.RegexFailed)
			}
			s.RegexFailed = ""
			break
		}
	}
	return m.def, dst
}

func (m *mapVar) findLower(low []byte) *Complex {
	if val, ok := m.exact[string(low)]; ok {
		return val
	}
	for _, w := range m.heads {
		if bytes.HasSuffix(low, []byte(w.key)) && len(low) > len(w.key) {
			return w.value
		}
		if w.whole && string(low) == w.key[1:] {
			return w.value
		}
	}
	for _, w := range m.tails {
		if bytes.HasPrefix(low, []byte(w.key)) && len(low) > len(w.key) {
			return w.value
		}
	}
	return nil
}
