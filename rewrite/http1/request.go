// Package http1 is the HTTP/1.x wire layer shared by every package that
// touches a request: the request parser (request line and headers kept raw,
// byte for byte), nginx's URI normalizer, request body framing, and the
// response header writer that applies nginx's header filter. It allocates
// nothing per request in steady state: a Request is reused per connection
// and its slices alias the connection's read buffer.
//
// Stream (stream.go) is the response path without the wire protocol: the
// content handlers and the proxy take one, and *Conn, HTTP/1's, is the
// last filter of every response on it (HTTP/2 will be another Stream).
package http1

import (
	"encoding/binary"
	"net"
	"strconv"
)

// Header is one header line as received: name and value bytes exactly as
// the client sent them (value trimmed of surrounding spaces, as nginx does).
type Header struct {
	Name  []byte
	Value []byte
}

// ConnInfo describes the client connection; it is set once per connection.
type ConnInfo struct {
	RemoteAddr string // "127.0.0.1" or "::1" ($remote_addr)
	// Local is the local address the connection arrived on
	// ($server_addr: ServerAddress): its text (AddrText), or a
	// connection to a wildcard listener, whose address nginx reads
	// (getsockname) only when it is asked for. One field for both: a
	// string beside it cost every connection 16 bytes.
	Local LocalAddr
	// SSL is the server's record of the TLS handshake (nil on plain
	// connections), read by the $ssl_* variables it defines; it knows
	// the server name (SNI): a field of its own here cost every
	// connection, TLS or not, 16 bytes.
	SSL TLSRecord
	// Proxy, when Proxied (a PROXY protocol header named the client),
	// holds its addresses.
	Proxy   *ProxyAddrs
	TLS     bool // $scheme is "https"
	Proxied bool
	// HTTP2 is H2 (over TLS) or H2C on an HTTP/2 connection ($http2):
	// a byte, not its text, keeps ConnInfo a size class smaller.
	HTTP2 HTTP2Proto
	// RemotePort is the client's port, 0 for none ($remote_port empty,
	// as nginx's for a unix socket or a real address without a port):
	// a number, its text made when asked (AppendRemotePort), keeps
	// ConnInfo, which every idle connection holds, a size class smaller
	// with no string of its own.
	RemotePort uint16
	ServerPort uint16 // local port ($server_port), 0 for none, as RemotePort
}

// TLSRecord is ConnInfo.SSL's: the server's record of a TLS handshake.
type TLSRecord interface {
	// SNI is the server name the client sent, lowercased ("" for none).
	SNI() string
}

// SNI is the TLS server name, lowercased: "" on a plain connection or
// without one.
func (ci *ConnInfo) SNI() string {
	if ci.SSL == nil {
		return ""
	}
	return ci.SSL.SNI()
}

// AppendServerPort appends $server_port's text: nothing for port 0.
func (ci *ConnInfo) AppendServerPort(dst []byte) []byte {
	if ci.ServerPort == 0 {
		return dst
	}
	return strconv.AppendUint(dst, uint64(ci.ServerPort), 10)
}

// ServerPortText is $server_port's text, made anew (for log lines).
func (ci *ConnInfo) ServerPortText() string {
	if ci.ServerPort == 0 {
		return ""
	}
	return strconv.Itoa(int(ci.ServerPort))
}

// HTTP2Proto is an HTTP/2 connection's protocol ($http2), 0 for none.
type HTTP2Proto uint8

const (
	H2C HTTP2Proto = 1 + iota // HTTP/2 over plain TCP: "h2c"
	H2                        // HTTP/2 over TLS: "h2"
)

// String is $http2's text: "h2", "h2c" or "".
func (p HTTP2Proto) String() string {
	switch p {
	case H2C:
		return "h2c"
	case H2:
		return "h2"
	}
	return ""
}

// AppendRemotePort appends $remote_port's text: nothing for port 0.
func (ci *ConnInfo) AppendRemotePort(dst []byte) []byte {
	if ci.RemotePort == 0 {
		return dst
	}
	return strconv.AppendUint(dst, uint64(ci.RemotePort), 10)
}

// RemotePortText is $remote_port's text, made anew (for log lines, not
// the request path: AppendRemotePort makes none).
func (ci *ConnInfo) RemotePortText() string {
	if ci.RemotePort == 0 {
		return ""
	}
	return strconv.Itoa(int(ci.RemotePort))
}

// PortNumber is a port's text as a number, 0 when empty or not one
// (a PROXY protocol header's port of 0 is kept empty).
func PortNumber(s string) uint16 {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0
	}
	return uint16(n)
}

// ProxyAddrs are a PROXY protocol header's addresses as nginx keeps them
// ($proxy_protocol_*), a port of 0 empty: apart from ConnInfo, which
// every connection holds while idle (64 bytes most would keep empty).
type ProxyAddrs struct {
	Addr, Port             string
	ServerAddr, ServerPort string
}

// LocalAddr gives a connection's local address (net.Conn's method).
type LocalAddr interface{ LocalAddr() net.Addr }

// AddrText is a local address known as its text, as ConnInfo.Local.
// Made into an interface value once (a listener's), it is shared by its
// connections with no copy.
type AddrText string

// LocalAddr is the address parsed (port 0), for a caller that asks as
// net.Conn's; ServerAddress reads the text itself.
func (a AddrText) LocalAddr() net.Addr {
	ip := net.ParseIP(string(a))
	if ip == nil {
		return nil
	}
	return &net.TCPAddr{IP: ip}
}

// ServerAddress is the local address the connection arrived on
// ($server_addr): Local's text, or its address read when asked.
func (ci *ConnInfo) ServerAddress() string {
	if ci.Local == nil {
		return ""
	}
	if t, ok := ci.Local.(AddrText); ok {
		return string(t)
	}
	if ta, ok := ci.Local.LocalAddr().(*net.TCPAddr); ok && ta.IP != nil {
		if v4 := ta.IP.To4(); v4 != nil {
			return v4.String()
		}
		return ta.IP.String()
	}
	return ""
}

// RequestTarget is the target as the request line has it.
func (r *Request) RequestTarget() []byte {
	if r.Target != nil {
		return r.Target
	}
	return r.RawURI
}

// Request is one parsed request. All byte slices alias either the
// connection's buffer or Request-owned scratch space; they are valid until
// Reset.
type Request struct {
	Method []byte // "GET"
	RawURI []byte // request target as sent ($request_uri)
	// ProtoStarted: a request line rejected once its protocol began (an
	// invalid version): nginx's $server_protocol is then found, empty.
	ProtoStarted bool
	// Parsed counts the head's bytes parsed whole so far, the request line
	// and header lines: a rejected request's $request_length, as nginx
	// counts each line once it is parsed.
	Parsed int
	// LongLineRoom: for a header line too long for the buffers, how many
	// of its bytes the buffer nginx gave up in held (its log shows them).
	LongLineRoom int
	// Dropped lists the header lines ignore_invalid_headers left out,
	// which nginx logs as it reads them.
	Dropped []DroppedHeader
	// lineRejected: the request line parsed whole (Parsed counts it) and
	// was then refused, for its URI, host or HTTP/0.9 method: nginx was
	// still reading the request line.
	lineRejected bool
	// Target is an absolute request target as sent, scheme and host
	// included ($request, the error log's request: "..."); nil when the
	// target is RawURI.
	Target     []byte
	Proto      []byte // "HTTP/1.1"; empty for HTTP/0.9
	ProtoMajor int
	ProtoMinor int
	Headers    []Header // every header line, in order
	// nameLens has a bit per length of the names in Headers (lenBit),
	// for the first nameLensOf of them: HeaderValue answers a name of no
	// such length at once, as nginx's parse sets headers_in's fields.
	nameLens   uint64
	nameLensOf int

	// Derived while parsing, as ngx_http_parse_request_line and
	// ngx_http_parse_complex_uri do.
	Path    []byte // raw path of RawURI, without "?args"
	Args    []byte // $args ($query_string); nil when there was no '?'
	HasArgs bool   // the request target had a '?', even with empty args
	// ArgsFound: an internal redirect set Args, empty ones too ($args is
	// then found empty, not missing).
	ArgsFound  bool
	URI        []byte // $uri: percent-decoded, dot segments resolved, slashes merged; rewrite may change it
	QuotedURI  bool   // the path had %XX escapes (nginx's r->quoted_uri)
	PlusInURI  bool   // the path had '+' (nginx's r->plus_in_uri)
	ComplexURI bool   // the path needed normalizing (nginx's r->complex_uri)
	// URIInvalid: the path failed ngx_http_parse_complex_uri (a 400), so
	// $uri is found empty and $request_uri is not found, as nginx leaves
	// them.
	URIInvalid bool
	Host       []byte // lowercased host from an absolute URI or the Host header, port removed; nil if none

	ContentLength int64 // -1 when absent
	Chunked       bool  // Transfer-Encoding: chunked
	KeepAlive     bool  // connection may be reused after this request
	Upgrade       bool  // the client sent an Upgrade header (nginx's r->headers_in.upgrade): a 101 from the backend then becomes a tunnel
	// MainMethod: a subrequest's main request's method name, which
	// $request_method gives (r->main->method_name); nil in a main request.
	MainMethod []byte
	// NoBody: an auth_request subrequest's. Its headers keep its main
	// request's Content-Length (ngx_http_subrequest copies headers_in)
	// but it has no body to read or send (its request_body is empty).
	NoBody bool

	// Internal is set once the URI was changed by rewrite, try_files,
	// error_page or index: nginx then treats the request as internal.
	Internal bool
	// RawStale: RawURI no longer names the URI and arguments (nginx's
	// r->valid_unparsed_uri cleared): an internal redirect, a rewrite
	// that changed the URI, "set $args", a subrequest. A named location
	// leaves it (Internal but not RawStale), so proxy_pass without a URI
	// part there still sends the target as the client sent it.
	RawStale bool

	Conn *ConnInfo

	MethodCode int // MethodGET, MethodHEAD, ... or MethodOther
	// AsGET: an error_page or X-Accel-Redirect made the method GET
	// (nginx's r->method_name); Method stays as the request line had it.
	AsGET      bool
	HostHeader bool // a Host header was sent (HTTP/1.1 requires one)
	// Close is set when the client sent "Connection: close" (nginx's
	// connection_type close); KeepAlive already accounts for it.
	Close bool

	// Head is the request line and header bytes as received (through the
	// empty line); the proxy forwards header names from here verbatim.
	Head []byte

	scratch    []byte // normalized URI and lower-cased host live here
	hostLimits Limits // the limits of the server the host selected (Limits.ForHost)
}

// HTTP09 reports an HTTP/0.9 request ("GET /path" with no version): nginx
// answers it with a bare body and no header.
func (r *Request) HTTP09() bool { return r.ProtoMajor == 0 }

// MethodName is the method as the request now has it (the method
// proxied; $request_method in a main request): GET after AsGET, else
// Method.
func (r *Request) MethodName() []byte {
	if r.AsGET {
		return methodGET
	}
	return r.Method
}

// DroppedHeader is a header line ignore_invalid_headers left out: At is
// its offset in the head (Conn.HeadLineAt), Headers how many headers came
// before it.
type DroppedHeader struct{ At, Headers int }

// InRequestLine reports whether a rejected head was refused while nginx
// read its request line (not its headers).
func (r *Request) InRequestLine() bool { return r.Parsed == 0 || r.lineRejected }

// MainMethodName is $request_method: the main request's method name,
// in a subrequest too (an auth_request's portal sees the client's POST).
func (r *Request) MainMethodName() []byte {
	if r.MainMethod != nil {
		return r.MainMethod
	}
	return r.MethodName()
}

// reset prepares r for the next request, keeping its slices' capacity.
func (r *Request) reset(info *ConnInfo) {
	headers, scratch := r.Headers[:0], r.scratch[:0]
	// Until a request line is complete the version is nginx's default,
	// 1.0: a request rejected before it is parsed whole gets a head, and
	// only one parsed as HTTP/0.9 (then rejected, say for its method or
	// URI) gets a bare body.
	// Zeroed in place, then set: a composite literal assigned whole was
	// built on the stack from a template and copied in (the struct twice
	// over, ~190 instructions per request).
	*r = Request{}
	r.Headers, r.scratch, r.Conn, r.ContentLength, r.ProtoMajor = headers, scratch, info, -1, 1
}

// HeaderValue returns the value of the first header whose name matches
// name case-insensitively, or nil.
func (r *Request) HeaderValue(name string) []byte {
	if r.nameLensOf == len(r.Headers) && r.nameLens&lenBit(len(name)) == 0 {
		return nil
	}
	for i := range r.Headers {
		if equalFoldBytes(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}

// lenBit is a name length's bit in a set of lengths: lengths of 63 and
// more share the last.
func lenBit(n int) uint64 { return 1 << min(n, 63) }

func equalFoldBytes(b []byte, s string) bool {
	// Inlined up to here: most names compared differ in length.
	return len(b) == len(s) && equalFoldSameLen(b, s)
}

func equalFoldSameLen(b []byte, s string) bool {
	if len(b) >= 8 {
		// Eight bytes at a time, the last eight overlapping: a header
		// name's letters cost ~12 instructions a byte one by one.
		for i := 0; i+8 < len(b); i += 8 {
			if lower8(binary.LittleEndian.Uint64(b[i:])) != lower8(load8(s, i)) {
				return false
			}
		}
		return lower8(binary.LittleEndian.Uint64(b[len(b)-8:])) == lower8(load8(s, len(s)-8))
	}
	if len(b) >= 4 {
		// The first four and the last four, overlapping, in one word.
		n := len(b) - 4
		x := uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n:]))<<32
		y := uint64(load4(s, 0)) | uint64(load4(s, n))<<32
		return lower8(x) == lower8(y)
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 || (c|0x20) < 'a' || (c|0x20) > 'z' {
			if c != d {
				return false
			}
		}
	}
	return true
}

// AppendLower appends src with its ASCII capitals lowered, eight bytes
// at a time (a byte at a time cost ~10 instructions a byte).
func AppendLower(dst, src []byte) []byte {
	at := len(dst)
	dst = append(dst, src...)
	b := dst[at:]
	if len(b) >= 8 {
		// The last eight overlap the words before: lowering is the
		// same done twice.
		for len(b) > 8 {
			binary.LittleEndian.PutUint64(b, lower8(binary.LittleEndian.Uint64(b)))
			b = b[8:]
		}
		b = dst[len(dst)-8:]
		binary.LittleEndian.PutUint64(b, lower8(binary.LittleEndian.Uint64(b)))
		return dst
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return dst
}

// lower8 lowers the ASCII capitals among eight bytes, no other byte: each
// byte's low seven bits plus a bias set its high bit at 'A' and past 'Z'
// (no carry reaches the next byte), and a byte with its own high bit set
// is no letter.
func lower8(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	h := x &^ highs
	atLeastA := h + ones*(0x80-'A')
	pastZ := h + ones*(0x80-'Z'-1)
	return x | (atLeastA&^pastZ&^x&highs)>>2
}

// load4 is s[i:i+4] as a little-endian word.
func load4(s string, i int) uint32 {
	s = s[i : i+4]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// load8 is s[i:i+8] as a little-endian word (one load: the compiler
// merges the bytes' loads).
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
