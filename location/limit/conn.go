package limit

// Conn is one limit_conn line: its zone and how many requests a key may
// have in progress at once.
type Conn struct {
	Zone *Zone
	Max  int32
}

// Held is a request counted in a limit_conn zone until it ends.
type Held struct {
	z *Zone
	s *slot
}

// Acquire counts a request for key as ngx_http_limit_conn_handler: it is
// Rejected when the key has Max in progress already, Failed when the
// zone has no room for a new key.
func (c *Conn) Acquire(key []byte) (Held, Result) {
	z := c.Zone
	z.lock()
	defer z.unlock()
	// Entries of limit_conn go when their count does: any left is in use.
	s, _ := z.find(key, clock(), func(*slot) bool { return false })
	switch {
	case s == nil:
		return Held{}, Failed
	case s.count >= c.Max:
		return Held{}, Rejected
	}
	s.count++
	return Held{z: z, s: s}, Passed
}

// Release ends the request's count (the request's pool cleanup); the
// key's entry goes with its last request.
func (h Held) Release() {
	if h.z == nil {
		return
	}
	h.z.lock()
	if h.s.count--; h.s.count <= 0 {
		*h.s = slot{}
	}
	h.z.unlock()
}
