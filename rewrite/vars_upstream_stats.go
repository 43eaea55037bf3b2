package rewrite

import (
	"strconv"
	"time"
)

// upstreamNamed are the $upstream_* variables with one value per server
// tried, joined with ", " as ngx_http_upstream_response_time_variable and
// ngx_http_upstream_response_length_variable print them; empty (not
// found) when no server was tried.
func upstreamNamed() map[string]Getter {
	times := func(f func(t *UpstreamTry) time.Duration) Getter {
		return func(s *State, dst []byte) []byte {
			for i := range s.UpstreamTries {
				if i > 0 {
					dst = appendTrySep(dst, &s.UpstreamTries[i])
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
	counts := func(f func(t *UpstreamTry) int64) Getter {
		return func(s *State, dst []byte) []byte {
			for i := range s.UpstreamTries {
				if i > 0 {
					dst = appendTrySep(dst, &s.UpstreamTries[i])
				}
				dst = strconv.AppendInt(dst, f(&s.UpstreamTries[i]), 10)
			}
			return dst
		}
	}
	return map[string]Getter{
		"upstream_connect_time":    times(func(t *UpstreamTry) time.Duration { return t.ConnectTime }),
		"upstream_header_time":     times(func(t *UpstreamTry) time.Duration { return t.HeaderTime }),
		"upstream_response_length": counts(func(t *UpstreamTry) int64 { return t.ResponseLength }),
		"upstream_bytes_received":  counts(func(t *UpstreamTry) int64 { return t.BytesReceived }),
		"upstream_bytes_sent":      counts(func(t *UpstreamTry) int64 { return t.BytesSent }),
	}
}
