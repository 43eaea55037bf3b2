package http1

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// framedHead builds a FramedHead as HTTP/2 does: the request line, then
// each field (name, value) in HTTP/1 form, a name's Invalid judged
// under underscores.
func framedHead(method, path string, underscores bool, fields ...[2]string) *FramedHead {
	h := &FramedHead{Underscores: underscores}
	h.Text = append(h.Text, method+" "+path+" HTTP/1.1\r\n"...)
	h.LineEnd = len(h.Text)
	var fl FieldLines
	for _, f := range fields {
		fl.Add([]byte(f[0]), []byte(f[1]), invalidName([]byte(f[0]), underscores))
	}
	h.Fields = fl.Fields
	h.Text = append(append(h.Text, fl.Lines...), '\r', '\n')
	return h
}

// parseBoth parses h's text with parseHead and h with parseFramedHead
// under the limits startFramed sets, and reports where they differ.
func parseBoth(t *testing.T, h *FramedHead, lim Limits) (*Request, *Error) {
	t.Helper()
	lim = lim.withDefaults()
	n := len(h.Text)
	lim.ClientHeaderBufferSize, lim.LargeHeaderBufferSize = n+1, n+1
	var want, got Request
	want.reset(nil)
	got.reset(nil)
	wl, gl := lim, lim
	wn, werr := parseHead(bytes.Clone(h.Text), &want, &wl)
	gn, gerr := parseFramedHead(bytes.Clone(h.Text), h, &got, &gl)
	if wn != gn || werr != gerr {
		t.Errorf("%q: parseFramedHead %d %v, parseHead %d %v", h.Text, gn, gerr, wn, werr)
	}
	// Dropped is the HTTP/1 head's lines for its log; a stream's fields
	// are no lines.
	if diff := cmp.Diff(&want, &got, cmp.AllowUnexported(Request{}), cmpopts.IgnoreFields(Request{}, "Dropped"), cmp.Comparer(func(a, b Limits) bool {
		return a.ForHost == nil && b.ForHost == nil && a.MaxHeaders == b.MaxHeaders
	})); diff != "" {
		t.Errorf("%q: request -parseHead +parseFramedHead:\n%s", h.Text, diff)
	}
	return &got, gerr
}

func TestParseFramedHead(t *testing.T) {
	grpc := [][2]string{{"host", "bench.test:8080"}, {"content-type", "application/grpc"}, {"te", "trailers"},
		{"user-agent", "grpc-go/1.0"}, {"content-length", "29"}}
	tests := []struct {
		name         string
		method, path string
		underscores  bool
		lim          Limits
		fields       [][2]string
		want         *Error
	}{
		{name: "grpc", method: "POST", path: "/bench.Echo/Say", fields: grpc},
		{name: "complex uri", method: "GET", path: "/a/./b/../c%41?x=1+2", fields: grpc[:1]},
		{name: "bad uri", method: "GET", path: "/../x", fields: grpc[:1], want: errInvalidRequest},
		{name: "args", method: "GET", path: "/a?b=c", fields: grpc[:1]},
		{name: "no host", method: "GET", path: "/", fields: grpc[1:2], want: errNoHost},
		{name: "duplicate host", method: "GET", path: "/", fields: [][2]string{{"host", "a"}, {"host", "b"}}, want: errDuplicateHost},
		{name: "bad host", method: "GET", path: "/", fields: [][2]string{{"host", "a/b"}}, want: errInvalidHost},
		{name: "inner spaces", method: "GET", path: "/", fields: [][2]string{{"host", "A.example"}, {"x-a", "a b \t b"}, {"x-c", ""}}},
		{name: "connection", method: "GET", path: "/", fields: [][2]string{{"host", "a"}, {"connection", "Keep-Alive"}, {"upgrade", "websocket"}}},
		{name: "connection close", method: "GET", path: "/", fields: [][2]string{{"host", "a"}, {"connection", "x, CLOSE"}}},
		{name: "length", method: "POST", path: "/", fields: [][2]string{{"host", "a"}, {"content-length", "12"}}},
		{name: "bad length", method: "POST", path: "/", fields: [][2]string{{"host", "a"}, {"content-length", "1x"}}, want: errBadLength},
		{name: "duplicate length", method: "POST", path: "/", fields: [][2]string{{"host", "a"}, {"content-length", "1"}, {"content-length", "1"}}, want: errDuplicateHeader},
		{name: "duplicate expect", method: "POST", path: "/", fields: [][2]string{{"host", "a"}, {"expect", "x"}, {"expect", "y"}}, want: errDuplicateHeader},
		{name: "chunked", method: "POST", path: "/", fields: [][2]string{{"host", "a"}, {"transfer-encoding", "Chunked"}}},
		{name: "unknown te", method: "POST", path: "/", fields: [][2]string{{"host", "a"}, {"transfer-encoding", "gzip"}}, want: errUnknownTE},
		{name: "te and length", method: "POST", path: "/", fields: [][2]string{{"host", "a"}, {"transfer-encoding", "chunked"}, {"content-length", "1"}}, want: errTEAndLength},
		{name: "trace", method: "TRACE", path: "/", fields: grpc[:1], want: errTrace},
		{name: "connect", method: "CONNECT", path: "/", fields: grpc[:1], want: errConnect},
		{name: "other method", method: "FOO_BAR", path: "/", fields: grpc[:1]},
		{name: "too many", method: "GET", path: "/", lim: Limits{MaxHeaders: 2}, fields: grpc, want: errTooManyHeaders},
		{name: "invalid dropped", method: "GET", path: "/", fields: [][2]string{{"host", "a"}, {"x_y", "1"}, {"x.y", "2"}, {"\xff", "3"}}},
		{name: "invalid kept", method: "GET", path: "/", lim: Limits{KeepInvalidHeaders: true}, fields: [][2]string{{"host", "a"}, {"x_y", "1"}, {"x.y", "2"}}},
		{name: "underscores", method: "GET", path: "/", underscores: true, lim: Limits{UnderscoresInHeaders: true}, fields: [][2]string{{"host", "a"}, {"x_y", "1"}}},
		{name: "underscores judged otherwise", method: "GET", path: "/", underscores: true, fields: [][2]string{{"host", "a"}, {"x_y", "1"}, {"_", "2"}}},
		{name: "underscores judged otherwise 2", method: "GET", path: "/", lim: Limits{UnderscoresInHeaders: true}, fields: [][2]string{{"host", "a"}, {"x_y", "1"}}},
		{name: "cookie", method: "GET", path: "/", fields: [][2]string{{"host", "a"}, {"cookie", "a=1; b=2"}}},
		{name: "no fields", method: "GET", path: "/", want: errNoHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseBoth(t, framedHead(tt.method, tt.path, tt.underscores, tt.fields...), tt.lim)
			if err != tt.want {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzFramedHead: parseFramedHead takes any head HTTP/2 can build as
// parseHead takes its text, where no value has a space at either end. The input's lines are "name value" fields,
// kept where HTTP/2 would (a lower-case name with no control, space or
// ':'; a value with no NUL, CR or LF).
func FuzzFramedHead(f *testing.F) {
	f.Add("/bench.Echo/Say?x", "host a\ncontent-length 1\nx_y  z \ncookie a", false, false, 0)
	f.Add("/a/../b", "host b\nhost c", true, true, 2)
	f.Fuzz(func(t *testing.T, path, fields string, underscores, keep bool, maxHeaders int) {
		if len(path) == 0 || path[0] != '/' {
			return
		}
		for i := 0; i < len(path); i++ {
			if ch := path[i]; ch <= ' ' || ch == 0x7f || ch == '#' {
				return
			}
		}
		var kv [][2]string
		for _, line := range bytes.Split([]byte(fields), []byte("\n")) {
			name, value, _ := bytes.Cut(line, []byte(" "))
			if len(name) == 0 || bytes.ContainsAny(value, "\x00\r") {
				return
			}
			if len(value) > 0 && (value[0] == ' ' || value[len(value)-1] == ' ') {
				return // HTTP/2 keeps them, the HTTP/1 parser does not (TestFramedHeadValuesAsSent)
			}
			for _, ch := range name {
				if ch <= ' ' || ch == 0x7f || ch == ':' || ch >= 'A' && ch <= 'Z' {
					return
				}
			}
			kv = append(kv, [2]string{string(name), string(value)})
		}
		lim := Limits{UnderscoresInHeaders: underscores, KeepInvalidHeaders: keep, MaxHeaders: maxHeaders % 8}
		parseBoth(t, framedHead("POST", path, !underscores == keep, kv...), lim)
	})
}

// TestFramedHeadValuesAsSent: a field's value is as HTTP/2 sent it,
// spaces and tabs at its ends included (nginx's HTTP/2 trims nothing),
// where the HTTP/1 parser takes the spaces off: " 5" is no
// Content-Length, " a" no host, and an ordinary value keeps them.
func TestFramedHeadValuesAsSent(t *testing.T) {
	for _, tt := range []struct {
		fields [][2]string
		want   *Error
	}{
		{[][2]string{{"host", " a"}}, errInvalidHost},
		{[][2]string{{"host", "a "}}, errInvalidHost},
		{[][2]string{{"host", "a"}, {"content-length", " 5"}}, errBadLength},
		{[][2]string{{"host", "a"}, {"content-length", "5 "}}, errBadLength},
		{[][2]string{{"host", "a"}, {"content-length", "5\t"}}, errBadLength},
		{[][2]string{{"host", "a"}, {"transfer-encoding", " chunked"}}, errUnknownTE},
		{[][2]string{{"host", "a"}, {"x-a", "  a b \t"}, {"x-b", " "}, {"x-c", ""}}, nil},
	} {
		h := framedHead("POST", "/", false, tt.fields...)
		var r Request
		r.reset(nil)
		var lim Limits
		lim = lim.withDefaults()
		lim.ClientHeaderBufferSize, lim.LargeHeaderBufferSize = len(h.Text)+1, len(h.Text)+1
		_, err := parseFramedHead(bytes.Clone(h.Text), h, &r, &lim)
		if err != tt.want {
			t.Errorf("%q: error %v, want %v", tt.fields, err, tt.want)
			continue
		}
		if err != nil {
			continue
		}
		var got [][2]string
		for _, f := range r.Headers {
			got = append(got, [2]string{string(f.Name), string(f.Value)})
		}
		if diff := cmp.Diff(tt.fields, got); diff != "" {
			t.Errorf("headers -sent +taken:\n%s", diff)
		}
	}
}
