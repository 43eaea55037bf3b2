package limit

import (
	"fmt"
	"strconv"
	"sync"
)

// Registry holds a process's zones across reloads, as nginx keeps a
// shared zone of the same module, name and size when it reloads.
type Registry struct {
	mu    sync.Mutex
	zones map[string]*held
}

type held struct {
	zone *Zone
	key  string // the key it was declared with ("" for one adopted)
}

func NewRegistry() *Registry { return &Registry{zones: map[string]*held{}} }

// ZoneID names a zone by its module ("limit_req_zone" or
// "limit_conn_zone"), size and name: nginx reuses a zone only when all
// three are the same.
func ZoneID(use, name string, size int) string {
	return use + " " + strconv.Itoa(size) + " " + name
}

// Adopt makes mem (mapped from the master's file) the zone id names.
func (r *Registry) Adopt(id, name string, mem []byte) error {
	z, err := NewZone(name, mem)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.zones[id] = &held{zone: z}
	r.mu.Unlock()
	return nil
}

// Zone returns the zone of use, name and size: the one held, else a new
// one of this process alone. A held zone declared with another key is
// nginx's reload error.
func (r *Registry) Zone(use, name, key string, size int) (*Zone, error) {
	if r == nil {
		return Private(name, size)
	}
	id := ZoneID(use, name, size)
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.zones[id]; h != nil {
		if h.key != "" && h.key != key {
			what := "limit_req"
			if use == "limit_conn_zone" {
				what = "limit_conn_zone"
			}
			return nil, fmt.Errorf("%s \"%s\" uses the \"%s\" key while previously it used the \"%s\" key", what, name, key, h.key)
		}
		h.key = key
		return h.zone, nil
	}
	z, err := Private(name, size)
	if err == nil {
		r.zones[id] = &held{zone: z, key: key}
	}
	return z, err
}
