package rewrite

import (
	"slices"
	"time"
)

// streamBuiltins are the names the HTTP table and the stream core share
// (ngx_stream_variables.c and the stream modules built in), read from the
// same State fields: the stream package fills State.Req.Conn with the
// session's addresses, Status, BytesSent, Connection and UpstreamTries.
var streamBuiltins = []string{
	"binary_remote_addr", "remote_addr", "remote_port", "server_addr", "server_port",
	"proxy_protocol_addr", "proxy_protocol_port", "proxy_protocol_server_addr", "proxy_protocol_server_port",
	"bytes_sent", "status", "connection", "nginx_version", "hostname", "pid", "msec",
	"time_iso8601", "time_local",
	"upstream_bytes_sent", "upstream_bytes_received",
}

// NewStreamCompiler returns a Compiler with the variables of nginx's
// stream core and of its upstream and realip modules; the stream package
// adds the others ($bytes_received, $session_time, $protocol, $ssl_*...).
// A name of the HTTP modules is unknown here, as in nginx's stream{}.
func NewStreamCompiler() *Compiler {
	c := NewCompiler()
	for name := range c.vars {
		if !slices.Contains(streamBuiltins, name) {
			delete(c.vars, name)
		}
	}
	c.order = slices.DeleteFunc(c.order, func(v *variable) bool { return c.vars[v.name] != v })
	c.prefixes = nil
	times := func(f func(t *UpstreamTry) time.Duration) Getter {
		return func(s *State, dst []byte) []byte {
			for i := range s.UpstreamTries {
				if i > 0 {
					dst = append(dst, ", "...)
				}
				if d := f(&s.UpstreamTries[i]); d >= 0 {
					dst = appendMillis(dst, d)
				} else {
					dst = append(dst, '-')
				}
			}
			return dst
		}
	}
	// In a session, HeaderTime is the first byte's and Time the whole
	// session's with that server.
	c.define("upstream_first_byte_time", times(func(t *UpstreamTry) time.Duration { return t.HeaderTime }))
	// ngx_stream_upstream_response_time_variable: "-" for a try that
	// did not connect.
	c.define("upstream_connect_time", times(func(t *UpstreamTry) time.Duration { return t.ConnectTime }))
	// ngx_stream_upstream_addr_variable: every try, one that never got
	// its connection (no worker_connections slot) as an empty entry; the
	// value is found even when empty.
	c.define("upstream_addr", func(s *State, dst []byte) []byte {
		start := len(dst)
		for i := range s.UpstreamTries {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, s.UpstreamTries[i].Addr...)
		}
		if len(dst) == start && len(s.UpstreamTries) > 0 {
			s.FoundEmpty = true
		}
		return dst
	})
	c.define("upstream_session_time", times(func(t *UpstreamTry) time.Duration { return t.Time }))
	return c
}

// AppendMillis appends d as nginx prints times: seconds with three
// decimals.
func AppendMillis(dst []byte, d time.Duration) []byte { return appendMillis(dst, d) }

// PlainSlots are the value slots of variables only "set" defines (not a
// map, geo or split_clients, nor a built-in): in a stream session such a
// variable not set reads as found and empty, as nginx's stream module
// gives it.
func (c *Compiler) PlainSlots() []int {
	var out []int
	for _, v := range c.order {
		if v.slot >= 0 && v.mapping == nil && !v.builtin && v.get == nil {
			out = append(out, v.slot)
		}
	}
	return out
}
