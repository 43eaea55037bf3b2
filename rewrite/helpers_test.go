package rewrite

import (
	"strings"
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// testReq builds a parsed request the way the http1 parser leaves it:
// uri is the normalized $uri; the raw target gives args and flags.
func testReq(method, target, uri string, headers ...string) *http1.Request {
	r := &http1.Request{
		Method: []byte(method), RawURI: []byte(target), Proto: []byte("HTTP/1.1"),
		ProtoMajor: 1, ProtoMinor: 1, ContentLength: -1,
		Conn: &http1.ConnInfo{RemoteAddr: "127.0.0.1", RemotePort: 40000, Local: http1.AddrText("127.0.0.1"), ServerPort: 18431},
	}
	path := target
	if i := strings.IndexByte(target, '?'); i >= 0 {
		path = target[:i]
		r.Args = []byte(target[i+1:])
		r.HasArgs = true
	}
	r.Path = []byte(path)
	r.URI = []byte(uri)
	r.QuotedURI = strings.Contains(path, "%")
	r.PlusInURI = strings.Contains(path, "+")
	for i := 0; i+1 < len(headers); i += 2 {
		r.Headers = append(r.Headers, http1.Header{Name: []byte(headers[i]), Value: []byte(headers[i+1])})
		if strings.EqualFold(headers[i], "host") && r.Host == nil {
			h := strings.ToLower(headers[i+1])
			if j := strings.LastIndexByte(h, ':'); j >= 0 {
				h = h[:j]
			}
			r.Host = []byte(h)
		}
	}
	return r
}

func testState(r *http1.Request) *State {
	s := &State{}
	s.Reset(r)
	s.ServerName = "www.example.com"
	s.DocumentRoot = "/tmp/hc/rt/html"
	return s
}

const testFile = "/etc/nginx/conf.d/t.conf"

// dir builds a directive at line n of testFile.
func dir(line int, name string, args ...string) *nginxconf.Directive {
	return &nginxconf.Directive{Name: name, Args: args, File: testFile, Line: line}
}

func block(d *nginxconf.Directive, inner ...*nginxconf.Directive) *nginxconf.Directive {
	d.Block = append([]*nginxconf.Directive{}, inner...)
	return d
}

func mustComplex(t testing.TB, c *Compiler, v string) *Complex {
	t.Helper()
	cv, err := c.Complex(v)
	if err != nil {
		t.Fatalf("Complex(%q): %v", v, err)
	}
	return cv
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
