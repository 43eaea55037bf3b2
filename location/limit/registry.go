package limit

import "sync"

// Registry holds a process's zones across reloads, as nginx keeps a
// shared zone of the same name and size when it reloads.
type Registry struct {
	mu    sync.Mutex
	zones map[string]*Zone
}

func NewRegistry() *Registry { return &Registry{zones: map[string]*Zone{}} }

// Adopt makes mem (mapped from the master's file) the zone name.
func (r *Registry) Adopt(name string, mem []byte) error {
	z, err := NewZone(name, mem)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.zones[name] = z
	r.mu.Unlock()
	return nil
}

// Zone returns the zone name of size bytes: the one held if its size is
// the same, else a new one of this process alone.
func (r *Registry) Zone(name string, size int) (*Zone, error) {
	if r == nil {
		return Private(name, size)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if z := r.zones[name]; z != nil && len(z.mem) == size {
		return z, nil
	}
	z, err := Private(name, size)
	if err == nil {
		r.zones[name] = z
	}
	return z, err
}
