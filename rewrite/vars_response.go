package rewrite

// This file holds the variables of the response and of the request's
// life: $sent_http_*, $request_id, $request_body, $limit_rate.

import (
	"bytes"
	"crypto/rand"
	"strconv"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// sentNamed are the $sent_http_ names nginx reads from fields of
// r->headers_out rather than from its list of other headers.
func sentNamed() map[string]Getter {
	sent := func(f func(h *http1.SentHead, dst []byte) []byte) Getter {
		return func(s *State, dst []byte) []byte {
			if s.Conn == nil || !s.Conn.Sent().Written {
				return dst
			}
			return f(s.Conn.Sent(), dst)
		}
	}
	return map[string]Getter{
		"sent_http_content_type": sent(func(h *http1.SentHead, dst []byte) []byte { return append(dst, h.ContentType...) }),
		"sent_http_content_length": sent(func(h *http1.SentHead, dst []byte) []byte {
			return h.AppendContentLength(dst)
		}),
		// An absolute Location is in the list of other headers.
		"sent_http_location": sent(func(h *http1.SentHead, dst []byte) []byte {
			if len(h.Location) == 0 {
				return appendSentHeader(h, "location", dst)
			}
			return append(dst, h.Location...)
		}),
		"sent_http_last_modified": sent(func(h *http1.SentHead, dst []byte) []byte {
			return append(dst, h.LastModified...)
		}),
		"sent_http_connection": sent(func(h *http1.SentHead, dst []byte) []byte {
			switch {
			case h.Status == 101:
				return append(dst, "upgrade"...)
			case h.KeepAlive:
				return append(dst, "keep-alive"...)
			}
			return append(dst, "close"...)
		}),
		"sent_http_keep_alive": sent(func(h *http1.SentHead, dst []byte) []byte {
			if !h.KeepAlive || h.KeepAliveTimeout <= 0 {
				return dst
			}
			return strconv.AppendInt(append(dst, "timeout="...), int64(h.KeepAliveTimeout), 10)
		}),
		"sent_http_transfer_encoding": sent(func(h *http1.SentHead, dst []byte) []byte {
			if h.Chunked {
				return append(dst, "chunked"...)
			}
			return dst
		}),
		// nginx 1.22 joins these (and only these) when sent several times.
		"sent_http_cache_control": sent(func(h *http1.SentHead, dst []byte) []byte {
			return joinSent(h, "cache_control", dst)
		}),
		"sent_http_link": sent(func(h *http1.SentHead, dst []byte) []byte { return joinSent(h, "link", dst) }),
	}
}

// sentHeaderVar is $sent_http_<name> for the other headers: the first
// one of that name in the response as sent.
func sentHeaderVar(s *State, name string, dst []byte) []byte {
	if s.Conn == nil || !s.Conn.Sent().Written {
		return dst
	}
	return appendSentHeader(s.Conn.Sent(), name, dst)
}

func appendSentHeader(h *http1.SentHead, name string, dst []byte) []byte {
	for _, hd := range h.Headers {
		if headerNameIs(hd.Name, name) {
			return append(dst, hd.Value...)
		}
	}
	return dst
}

func joinSent(h *http1.SentHead, name string, dst []byte) []byte {
	first := true
	for _, hd := range h.Headers {
		if headerNameIs(hd.Name, name) {
			if !first {
				dst = append(dst, ", "...)
			}
			dst = append(dst, hd.Value...)
			first = false
		}
	}
	return dst
}

// appendRequestID is $request_id: 16 random bytes in hex, drawn once per
// request.
func appendRequestID(s *State, dst []byte) []byte {
	if s.RequestID == ([16]byte{}) {
		rand.Read(s.RequestID[:])
	}
	const hex = "0123456789abcdef"
	for _, b := range s.RequestID {
		dst = append(dst, hex[b>>4], hex[b&15])
	}
	return dst
}

// appendRequestBody is $request_body: the body when it was read into
// memory (not when any of it went to a temporary file), as nginx.
func appendRequestBody(s *State, dst []byte) []byte {
	if !s.hasBody || s.RequestBodyFile != "" {
		return dst
	}
	return append(dst, s.RequestBody...)
}

// appendLimitRate is $limit_rate: the request's rate in bytes per second,
// 0 until "set $limit_rate" or the first write decided it.
func appendLimitRate(s *State, dst []byte) []byte {
	if s.Conn == nil {
		return append(dst, '0')
	}
	return strconv.AppendInt(dst, s.Conn.LimitRate(), 10)
}

// setLimitRate is nginx's set handler for $limit_rate: a size ("40k");
// an invalid one leaves the rate alone (nginx logs it at "error").
func setLimitRate(s *State, v []byte) {
	n, ok := nginxconf.ParseSize(string(v))
	if !ok || s.Conn == nil {
		return
	}
	s.Conn.SetLimitRate(n, true)
}

// appendMSIE is $msie: "1" when the first User-Agent names "MSIE " with
// at least three more bytes after it, and not "Opera" (nginx decides it
// while it reads the header).
func appendMSIE(s *State, dst []byte) []byte {
	if s.Req == nil {
		return dst
	}
	for i := range s.Req.Headers {
		if !headerNameIs(s.Req.Headers[i].Name, "user_agent") {
			continue
		}
		ua := s.Req.Headers[i].Value
		at := bytes.Index(ua, []byte("MSIE "))
		if at >= 0 && at+7 < len(ua) && !bytes.Contains(ua, []byte("Opera")) {
			return append(dst, '1')
		}
		return dst
	}
	return dst
}
