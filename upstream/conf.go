package upstream

import (
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// This file reads the settings every upstream protocol has under its own
// prefix (proxy_*, fastcgi_*), as ngx_http_upstream_conf_t holds them for
// each module: p.name gives the directive of p's protocol.

// compileUpstreamConf reads the request and body passing, buffering,
// timeouts, client body limits, retries and ignored headers.
func (p *Proxy) compileUpstreamConf(blocks [][]*nginxconf.Directive, c *rewrite.Compiler) error {
	p.passHeaders = flag(blocks, p.name("_pass_request_headers"), true)
	p.passBody = flag(blocks, p.name("_pass_request_body"), true)
	p.requestBuffering = flag(blocks, p.name("_request_buffering"), true)
	p.buffering = flag(blocks, p.name("_buffering"), true)
	p.ignoreClientAbort = flag(blocks, p.name("_ignore_client_abort"), false)
	p.forceRanges = flag(blocks, p.name("_force_ranges"), false)
	p.serverTokensOff = !flag(blocks, "server_tokens", true)
	p.relativeRedir = !flag(blocks, "absolute_redirect", true)
	p.noPortInRedir = !flag(blocks, "port_in_redirect", true)
	for _, t := range []struct {
		suffix string
		dst    *time.Duration
	}{{"_connect_timeout", &p.ConnectTimeout}, {"_read_timeout", &p.ReadTimeout}, {"_send_timeout", &p.SendTimeout}} {
		if d := last(blocks, p.name(t.suffix)); d != nil {
			v, err := parseTime(d.Args[0])
			if err != nil {
				return confErr(d, `"%s" directive invalid value`, d.Name)
			}
			*t.dst = v
		}
	}
	p.compileClientBody(blocks)
	if d := last(blocks, p.name("_limit_rate")); d != nil {
		p.limitRate, _ = nginxconf.ParseSize(d.Args[0])
	}
	var prefixPath func(string) string
	if p.groups != nil {
		prefixPath = p.groups.prefixPath
	}
	p.compileTemp(blocks, prefixPath)
	if err := p.compileBind(blocks, c); err != nil {
		return err
	}
	if err := p.compileStore(blocks, c); err != nil {
		return err
	}
	p.compileIgnoreHeaders(blocks)
	return p.compileNext(blocks)
}

// compileClientBody reads how the client body is kept when read whole:
// client_body_buffer_size, client_body_in_file_only,
// client_max_body_size, client_body_temp_path (Debian's compiled-in
// /var/lib/nginx/body, no levels unless given: nginx's default).
func (p *Proxy) compileClientBody(blocks [][]*nginxconf.Directive) {
	p.bodyBufferSize = 16 << 10 // nginx's default on 64-bit systems
	p.bodyTemp = tempConf{dir: defaultTempDirs["client_body"]}
	if d := last(blocks, "client_body_temp_path"); d != nil {
		p.bodyTemp.dir = d.Args[0]
		for _, a := range d.Args[1:] {
			n, _ := strconv.Atoi(a)
			p.bodyTemp.levels = append(p.bodyTemp.levels, n)
		}
	}
	if p.groups != nil {
		if p.groups.prefixPath != nil {
			p.bodyTemp.dir = p.groups.prefixPath(p.bodyTemp.dir)
		}
		p.groups.addTempDir(p.bodyTemp.dir)
	}
	if d := last(blocks, "client_body_buffer_size"); d != nil {
		if n, ok := nginxconf.ParseSize(d.Args[0]); ok {
			p.bodyBufferSize = n
		}
	}
	if d := last(blocks, "client_body_in_file_only"); d != nil {
		p.bodyInFileOnly = map[string]int{"on": 1, "clean": 2}[d.Args[0]]
	}
	if d := last(blocks, "client_max_body_size"); d != nil {
		if n, ok := nginxconf.ParseOffset(d.Args[0]); ok {
			p.maxBody = n
		}
	}
}

// compileHeaders sets the backend headers hidden from the client: the
// protocol's defaults and *_hide_header, minus *_pass_header.
func (p *Proxy) compileHeaders(blocks [][]*nginxconf.Directive, defaults []string) {
	p.hide = append(p.hide, defaults...)
	for _, d := range innermost(blocks, p.name("_pass_header")) {
		p.passUpstream = append(p.passUpstream, strings.ToLower(d.Args[0]))
	}
	for _, d := range innermost(blocks, p.name("_hide_header")) {
		p.hide = append(p.hide, strings.ToLower(d.Args[0]))
	}
	p.hideLens = 0
	for _, h := range p.hide {
		p.hideLens |= lenBit(len(h))
	}
	p.hideDate = p.hidden([]byte("date"))
}

// lenBit is a name length's bit in a set of lengths (hideLens): names
// of 63 bytes or more share the last.
func lenBit(n int) uint64 { return 1 << min(n, 63) }
