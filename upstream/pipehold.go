package upstream

// heldBody is when nginx's event pipe passes a buffered body on
// (ngx_event_pipe_read_upstream): bytes are read into buffers, and a
// buffer goes to the client only once it is full, or when the response
// ends (its length reached, the backend's close or error). The first
// buffer is the rest of the one the head was read into
// (proxy_buffer_size less the head), then each is one of proxy_buffers.
// So a backend that sends part of a body and stalls has the client wait
// for it, and the head with it (postpone_output): nothing of a short
// body is sent until it is whole.
type heldBody struct {
	on     bool
	first  int64 // where the first buffer ends, in body bytes
	unit   int64 // one of proxy_buffers
	passed int64 // body bytes passed on so far
}

// holdFor sets h for a body whose head took headLen bytes of a buffer of
// bufSize, then buffers of unit bytes.
func (h *heldBody) holdFor(bufSize, headLen, unit int) {
	*h = heldBody{on: unit > 0, first: int64(max(bufSize-headLen, 0)), unit: int64(unit)}
}

// passable is how many of the held bytes (those after passed) fill whole
// buffers, to be passed on now.
func (h *heldBody) passable(held int) int {
	total := h.passed + int64(held)
	if total < h.first {
		return 0
	}
	end := h.first + (total-h.first)/h.unit*h.unit
	if end <= h.passed {
		return 0
	}
	return int(end - h.passed)
}

// headPostponed reports whether the client's connection still holds a
// short head with nothing sent (http1.Conn.HeadPostponed).
func headPostponed(c any) bool {
	hp, ok := c.(interface{ HeadPostponed() bool })
	return ok && hp.HeadPostponed()
}
