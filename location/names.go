package location

import (
	"fmt"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// nameTable selects a server among those sharing one address by the
// request's host, in nginx's order: exact name, longest leading wildcard
// ("*.example.com", ".example.com"), longest trailing wildcard
// ("www.example.*"), then regexes in the order the servers were written.
// It is built once; lookups index maps with string(b), which does not
// allocate.
type nameTable struct {
	exact map[string]*VirtualServer
	head  map[string]headEntry      // key: suffix without "*." or "."
	tail  map[string]*VirtualServer // key: prefix with its trailing dot, without "*"
	regex []regexName
}

type headEntry struct {
	srv *VirtualServer
	dot bool // ".example.com": also matches "example.com" itself
}

type regexName struct {
	re  Regex
	srv *VirtualServer
}

// lookup returns the server for host (already lowercased, port removed);
// a regex match stores its captures in st.
func (t *nameTable) lookup(host []byte, st *rewrite.State) *VirtualServer {
	s, _ := t.find(host, st)
	return s
}

// find is lookup that also names the kind of name that matched, for
// gonginx explain.
func (t *nameTable) find(host []byte, st *rewrite.State) (*VirtualServer, string) {
	if t == nil {
		return nil, ""
	}
	// Only regexes may be in the table (a single server named by one):
	// they still run, for their captures.
	if s, ok := t.exact[string(host)]; ok {
		return s, "exact name"
	}
	if len(t.head) > 0 {
		if e, ok := t.head[string(host)]; ok && e.dot {
			return e.srv, "leading wildcard"
		}
		for i := 0; i < len(host); i++ {
			if host[i] == '.' {
				if e, ok := t.head[string(host[i+1:])]; ok {
					return e.srv, "leading wildcard"
				}
			}
		}
	}
	if len(t.tail) > 0 {
		for i := len(host) - 2; i >= 0; i-- {
			if host[i] == '.' {
				if s, ok := t.tail[string(host[:i+1])]; ok {
					return s, "trailing wildcard"
				}
			}
		}
	}
	for i := range t.regex {
		if t.regex[i].re.Match(st, host) {
			return t.regex[i].srv, "regex"
		}
	}
	return nil, ""
}

// add puts one server's name into the table, as ngx_http_server_names
// does: a name already taken on this address is warned about and
// ignored; a malformed wildcard is an error.
func (t *nameTable) add(name string, srv *VirtualServer, addr string, warn func(*nginxconf.Error)) error {
	if t.exact == nil {
		t.exact = map[string]*VirtualServer{}
		t.head = map[string]headEntry{}
		t.tail = map[string]*VirtualServer{}
	}
	conflict := func() {
		warn(&nginxconf.Error{Msg: fmt.Sprintf("conflicting server name \"%s\" on %s, ignored", name, addr), Warn: true})
	}
	stars := strings.Count(name, "*")
	if stars > 1 || strings.Contains(name, "..") {
		return fmt.Errorf("invalid server name or wildcard \"%s\" on %s", name, addr)
	}
	switch {
	case len(name) > 1 && name[0] == '.':
		if stars > 0 {
			return fmt.Errorf("invalid server name or wildcard \"%s\" on %s", name, addr)
		}
		key := name[1:]
		if _, ok := t.head[key]; ok {
			conflict()
			return nil
		}
		if _, ok := t.exact[key]; ok {
			conflict()
			return nil
		}
		t.head[key] = headEntry{srv: srv, dot: true}
	case len(name) > 2 && strings.HasPrefix(name, "*."):
		key := name[2:]
		if _, ok := t.head[key]; ok {
			conflict()
			return nil
		}
		t.head[key] = headEntry{srv: srv}
	case len(name) > 2 && strings.HasSuffix(name, ".*"):
		key := name[:len(name)-1]
		if _, ok := t.tail[key]; ok {
			conflict()
			return nil
		}
		t.tail[key] = srv
	default:
		if stars > 0 {
			return fmt.Errorf("invalid server name or wildcard \"%s\" on %s", name, addr)
		}
		if _, ok := t.exact[name]; ok {
			conflict()
			return nil
		}
		if e, ok := t.head[name]; ok && e.dot {
			conflict()
			return nil
		}
		t.exact[name] = srv
	}
	return nil
}
