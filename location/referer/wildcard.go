package referer

import "sort"

// wcKey is a wildcard in nginx's hashed form: "*.example.com" is
// "com.example.", ".example.com" is "com.example", "www.example.*" is
// "www.example".
type wcKey struct {
	key   string
	value *string
}

// wcHash is one level of ngx_hash_wildcard_t: labels to entries, and the
// value the level itself carries.
type wcHash struct {
	entries map[string]wcEntry
	value   *string
}

// wcEntry is a looked-up label: a value, or a deeper level (sub), with
// nginx's two low bits: dotOnly is "*.example.com only" (bit 0).
type wcEntry struct {
	value   *string
	sub     *wcHash
	dotOnly bool
}

// sortDNS sorts as ngx_dns_strcmp does: caseless, '.' before any other
// character.
func sortDNS(keys []wcKey) []wcKey {
	rank := func(c byte) int {
		if c == '.' {
			return ' '
		}
		return int(c)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := keys[i].key, keys[j].key
		for k := 0; ; k++ {
			if k == len(a) || k == len(b) {
				return len(a) < len(b)
			}
			if a[k] != b[k] {
				return rank(a[k]) < rank(b[k])
			}
		}
	})
	return keys
}

// buildWildcard is ngx_hash_wildcard_init over sorted keys: the first
// label of each group of keys becomes an entry, the rest of the group a
// deeper level.
func buildWildcard(names []wcKey) *wcHash {
	h := &wcHash{entries: map[string]wcEntry{}}
	for n := 0; n < len(names); {
		name := names[n].key
		l, dot := len(name), false
		for i := 0; i < len(name); i++ {
			if name[i] == '.' {
				l, dot = i, true
				break
			}
		}
		label := name[:l]
		entry := wcEntry{value: names[n].value}
		dotLen := l + 1
		if dot {
			l++
		}
		var next []wcKey
		if len(name) != l {
			next = append(next, wcKey{name[l:], names[n].value})
		}
		i := n + 1
		for ; i < len(names); i++ {
			other := names[i].key
			if len(other) < l || other[:l] != name[:l] {
				break
			}
			if !dot && len(other) > l && other[l] != '.' {
				break
			}
			next = append(next, wcKey{other[min(dotLen, len(other)):], names[i].value})
		}
		if len(next) > 0 {
			sub := buildWildcard(next)
			if len(name) == l {
				sub.value = names[n].value
			}
			entry = wcEntry{sub: sub, dotOnly: dot}
		} else if dot {
			entry.dotOnly = true
		}
		h.entries[label] = entry
		n = i
	}
	return h
}

// findHead is ngx_hash_find_wc_head: labels from the right.
func (h *wcHash) findHead(name []byte) *string {
	n := len(name)
	for n > 0 && name[n-1] != '.' {
		n--
	}
	e, ok := h.entries[string(name[n:])]
	if !ok {
		return h.value
	}
	if e.sub != nil {
		if n == 0 {
			if e.dotOnly {
				return nil
			}
			return e.sub.value
		}
		if v := e.sub.findHead(name[:n-1]); v != nil {
			return v
		}
		return e.sub.value
	}
	if e.dotOnly && n == 0 {
		return nil
	}
	return e.value
}

// findTail is ngx_hash_find_wc_tail: labels from the left, and a name
// must go on past the wildcard's labels.
func (h *wcHash) findTail(name []byte) *string {
	i := 0
	for i < len(name) && name[i] != '.' {
		i++
	}
	if i == len(name) {
		return nil
	}
	e, ok := h.entries[string(name[:i])]
	if !ok {
		return h.value
	}
	if e.sub != nil {
		if v := e.sub.findTail(name[i+1:]); v != nil {
			return v
		}
		return e.sub.value
	}
	return e.value
}
