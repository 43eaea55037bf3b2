package difftest

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The PROXY protocol as nginx 1.22 reads it on "listen ... proxy_protocol":
// version 1 and 2 headers, good and malformed (what is refused, skipped,
// logged), $proxy_protocol_*, realip from the header and the access log,
// on a plain and a TLS listener.

// ppV2 is a version 2 header: ver_cmd, fam (family<<4|transport) and the
// address block (with TLVs) after it.
func ppV2(verCmd, fam byte, body []byte) string {
	h := []byte("\r\n\r\n\x00\r\nQUIT\n")
	h = append(h, verCmd, fam, 0, 0)
	binary.BigEndian.PutUint16(h[14:], uint16(len(body)))
	return string(append(h, body...))
}

func ppV2Inet(src, dst [4]byte, sport, dport uint16, tlv []byte) []byte {
	b := append(append([]byte{}, src[:]...), dst[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	return append(b, tlv...)
}

func ppV2Inet6(src, dst [16]byte, sport, dport uint16) []byte {
	b := append(append([]byte{}, src[:]...), dst[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	return binary.BigEndian.AppendUint16(b, dport)
}

const ppConfig = `map $remote_port $rport { "~^[0-9]{5}$" peer; default "$remote_port"; }
log_format pp "$uri $remote_addr:$rport pp=$proxy_protocol_addr:$proxy_protocol_port srv=$proxy_protocol_server_addr:$proxy_protocol_server_port $status";
server {
    listen 127.0.0.1:{{PORT}} proxy_protocol%s;
    server_name localhost;
    client_header_timeout 1s;
    client_header_buffer_size 4k;
    access_log logs/pp.log pp;
    %s
    set_real_ip_from 127.0.0.1/32;
    location / {
        return 200 "ip=$remote_addr!$rport pp=$proxy_protocol_addr!$proxy_protocol_port pps=$proxy_protocol_server_addr!$proxy_protocol_server_port\n";
    }
    location /pp {
        real_ip_header proxy_protocol;
        location /pp/deny4 {
            deny 192.0.2.1/32;
            return 200 "allowed $remote_addr\n";
        }
        location /pp/deny6 {
            deny 2001:DB8::1/128;
            return 200 "allowed $remote_addr\n";
        }
        return 200 "realip=$remote_addr!$rport realip_remote=$realip_remote_addr pp=$proxy_protocol_addr\n";
    }
    location /untrusted {
        set_real_ip_from 192.0.2.0/24;
        real_ip_header proxy_protocol;
        return 200 "ip=$remote_addr\n";
    }
}
`

func ppCases(tls bool) []harness.Request {
	get := func(target string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
	}
	// One write on a plain listener: what nginx's one read of the header
	// sees (and logs) must not depend on timing.
	req := func(name, prefix, target string) harness.Request {
		if tls {
			return harness.Request{Name: name, Prefix: prefix, Send: []string{get(target)}}
		}
		return harness.Request{Name: name, Prefix: prefix + get(target), Send: []string{""}}
	}
	v4 := [4]byte{192, 0, 2, 1}
	v4d := [4]byte{192, 0, 2, 2}
	v6 := [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	v6d := [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
	mapped := [16]byte{10: 0xff, 11: 0xff, 12: 192, 13: 0, 14: 2, 15: 7}
	tcp4 := ppV2(0x21, 0x11, ppV2Inet(v4, v4d, 123, 5678, nil))
	return []harness.Request{
		req("v1 tcp4", "PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\n", "/"),
		req("v1 tcp6 as sent", "PROXY TCP6 2001:Db8::1 2001:Db8::2 123 5678\r\n", "/"),
		req("v1 tcp4 given tcp6 text", "PROXY TCP4 2001:db8::1 ::2 1 2\r\n", "/"),
		req("v1 unknown", "PROXY UNKNOWN\r\n", "/"),
		req("v1 unknown with junk", "PROXY UNKNOWN 1 2 3 4 5 6\r\n", "/"),
		req("v1 empty source", "PROXY TCP4  192.0.2.2 1 2\r\n", "/"),
		req("v1 port 0", "PROXY TCP4 192.0.2.1 192.0.2.2 0 0\r\n", "/"),
		req("v1 port leading zeros", "PROXY TCP4 192.0.2.1 192.0.2.2 00080 65535\r\n", "/"),
		req("v1 realip", "PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\n", "/pp"),
		req("v1 realip v6", "PROXY TCP6 2001:Db8::1 2001:Db8::2 123 5678\r\n", "/pp"),
		req("v1 realip bad address", "PROXY TCP4 1.2.3 192.0.2.2 123 5678\r\n", "/pp"),
		req("v1 realip port 0", "PROXY TCP4 192.0.2.1 192.0.2.2 0 5678\r\n", "/pp"),
		req("v1 realip unknown", "PROXY UNKNOWN\r\n", "/pp"),
		req("v1 deny4", "PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\n", "/pp/deny4"),
		req("v1 deny6", "PROXY TCP6 2001:Db8::1 2001:Db8::2 123 5678\r\n", "/pp/deny6"),
		req("v1 untrusted peer", "PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\n", "/untrusted"),
		req("v1 no header", "", "/"),
		req("v1 missing port", "PROXY TCP4 192.0.2.1 192.0.2.2 123\r\n", "/"),
		req("v1 port too big", "PROXY TCP4 192.0.2.1 192.0.2.2 123 65536\r\n", "/"),
		req("v1 signed port", "PROXY TCP4 192.0.2.1 192.0.2.2 +1 2\r\n", "/"),
		req("v1 bad protocol", "PROXY TCP5 192.0.2.1 192.0.2.2 1 2\r\n", "/"),
		req("v1 bad address char", "PROXY TCP4 192.0.2.x 192.0.2.2 1 2\r\n", "/"),
		req("v1 no LF", "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\rX", "/"),
		req("v1 LF only", "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n", "/"),
		req("v1 lower case", "proxy TCP4 192.0.2.1 192.0.2.2 1 2\r\n", "/"),
		// The error line holds the whole read, cut at nginx's 2048 bytes.
		req("long broken header", "PROXY "+strings.Repeat("x", 3000), "/"),
		req("v2 tcp4", tcp4, "/"),
		req("v2 tcp6", ppV2(0x21, 0x21, ppV2Inet6(v6, v6d, 123, 5678)), "/"),
		req("v2 v4-mapped", ppV2(0x21, 0x21, ppV2Inet6(mapped, v6d, 1, 2)), "/"),
		req("v2 tlvs skipped", ppV2(0x21, 0x11, ppV2Inet(v4, v4d, 123, 5678, []byte{0x01, 0, 2, 'h', '2', 0x05, 0, 3, 1, 2, 3})), "/"),
		req("v2 local", ppV2(0x20, 0x00, nil), "/"),
		req("v2 local with addresses", ppV2(0x20, 0x11, ppV2Inet(v4, v4d, 1, 2, nil)), "/"),
		req("v2 unspec", ppV2(0x21, 0x01, []byte{1, 2, 3, 4}), "/"),
		req("v2 udp", ppV2(0x21, 0x12, ppV2Inet(v4, v4d, 1, 2, nil)), "/"),
		req("v2 unix family", ppV2(0x21, 0x31, make([]byte, 216)), "/"),
		req("v2 realip", tcp4, "/pp"),
		req("v2 version 3", ppV2(0x31, 0x11, ppV2Inet(v4, v4d, 1, 2, nil)), "/"),
		req("v2 short inet", ppV2(0x21, 0x11, []byte{1, 2, 3, 4}), "/"),
		req("v2 short inet6", ppV2(0x21, 0x21, make([]byte, 12)), "/"),
		req("v2 length past the read", tcp4[:14]+"\x01\x00"+tcp4[16:], "/"),
		{Name: "header alone, request later", Prefix: "PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\n",
			Send: []string{"GET", get("/")[3:]}, Pause: 200 * time.Millisecond},
		{Name: "v2 header alone, request later", Prefix: tcp4, Send: []string{"GET", get("/pp")[3:]}, Pause: 200 * time.Millisecond},
		// client_header_timeout runs from accept: nothing, or only the
		// header, and the connection is closed without a word.
		{Name: "nothing sent", Send: []string{""}},
		{Name: "header only", Prefix: "PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\n", Send: []string{""}},
	}
}

func TestServeProxyProtocol(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name:           "proxy_protocol",
		Config:         fmt.Sprintf(ppConfig, "", ""),
		ErrorLog:       true,
		Content:        map[string]string{"logs/.keep": ""},
		AccessLogFiles: []string{"logs/pp.log"},
		Requests:       ppCases(false),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// On a TLS listener nginx peeks at 108 bytes for the header, then
// handshakes on what follows. (The error log is not compared: a broken
// header's line shows whatever of the handshake had arrived.)
func TestServeProxyProtocolTLS(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	var reqs []harness.Request
	for _, r := range ppCases(true) {
		switch r.Name {
		case "v1 tcp4", "v1 tcp6 as sent", "v1 unknown", "v1 realip", "v1 realip v6", "v1 deny6", "v1 missing port",
			"v1 no header", "v2 tcp4", "v2 local", "v2 realip", "v2 version 3", "v2 length past the read",
			"header alone, request later", "v2 header alone, request later", "nothing sent", "header only":
			reqs = append(reqs, r)
		}
	}
	long := "PROXY UNKNOWN " + strings.Repeat("x", 110)
	reqs = append(reqs,
		harness.Request{Name: "v1 past 107 bytes", Prefix: long + "\r\n", Send: []string{"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"}},
		harness.Request{Name: "v2 past 108 bytes", Prefix: ppV2(0x21, 0x11, make([]byte, 100)), Send: []string{"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"}},
	)
	c := harness.Case{
		Name:           "proxy_protocol_tls",
		Config:         fmt.Sprintf(ppConfig, " ssl", "ssl_certificate {{CERT}};\n    ssl_certificate_key {{KEY}};"),
		Files:          serveArticleFiles,
		TLS:            true,
		SNI:            "localhost",
		Content:        map[string]string{"logs/.keep": ""},
		AccessLogFiles: []string{"logs/pp.log"},
		Requests:       reqs,
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
