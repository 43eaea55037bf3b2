package location

import (
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http2"
)

// http2Conf is ngx_http_v2_module's server settings that shape a
// connection (the default server's, as nginx reads them).
type http2Conf struct {
	streams int // http2_max_concurrent_streams
	preread int // http2_body_preread_size
	chunk   int // http2_chunk_size
}

var defaultHTTP2 = http2Conf{streams: 128, preread: 64 << 10, chunk: 8 << 10}

// applyHTTP2 sets an http2_* directive; false for other directives.
// http2_push and http2_push_preload are accepted and do nothing: gonginx
// does not push (a server need not).
func applyHTTP2(conf *locConf, d *nginxconf.Directive) bool {
	size := func() int {
		n, _ := nginxconf.ParseSize(d.Args[0])
		return int(n)
	}
	switch d.Name {
	case "http2_max_concurrent_streams":
		n, _ := nginxconf.ParseSize(d.Args[0])
		conf.h2.streams = int(n)
	case "http2_body_preread_size":
		conf.h2.preread = size()
	case "http2_chunk_size":
		conf.h2.chunk = size()
	case "http2_push", "http2_push_preload", "http2_recv_buffer_size", "http2_pool_size",
		"http2_streams_index_size", "http2_max_concurrent_pushes":
	default:
		return false
	}
	return true
}

// HTTP2Config is what an HTTP/2 connection to a runs under: its default
// server's http2_* settings, and the core ones nginx 1.22 reads in their
// place (client_header_timeout, keepalive_timeout, keepalive_requests,
// keepalive_time, large_client_header_buffers for the header list).
// It is made once per address and shared by its connections.
func (a *Addr) HTTP2Config() *http2.Config {
	if cfg := a.h2.Load(); cfg != nil {
		return cfg
	}
	a.h2.CompareAndSwap(nil, a.http2Config())
	return a.h2.Load()
}

func (a *Addr) http2Config() *http2.Config {
	conf := a.Default.root.conf
	lim := conf.limits
	n, size := lim.LargeHeaderBuffers, lim.LargeHeaderBufferSize
	if n <= 0 {
		n = 4
	}
	if size <= 0 {
		size = 8192
	}
	return http2.NewConfig(http2.Config{
		MaxConcurrentStreams: conf.h2.streams,
		PrereadSize:          conf.h2.preread,
		ChunkSize:            conf.h2.chunk,
		HeaderLimit:          n * size,
		FieldLimit:           size,
		HeaderTimeout:        conf.headerTimeout,
		IdleTimeout:          conf.keepalive,
		MaxRequests:          conf.keepaliveReqs,
		MaxTime:              conf.keepaliveTime,
		SendTimeout:          conf.sendTimeout,
		Linger:               conf.lingering != lingerOff,
		LingerTime:           conf.lingeringTime,
		LingerTimeout:        conf.lingeringWait,
		UnderscoresInHeaders: lim.UnderscoresInHeaders,
		IgnoreInvalidHeaders: !lim.KeepInvalidHeaders,
	})
}

// HTTP2 reports "listen ... http2" on the address.
func (a *Addr) HTTP2() bool { return a.Listen.HTTP2 }
