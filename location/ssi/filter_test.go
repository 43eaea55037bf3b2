package ssi

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/google/go-cmp/cmp"
)

// fakeHost answers variables from a map and includes from a table of
// bodies (a missing URI is a 404 with nginx's page).
type fakeHost struct {
	vars     map[string]string
	uri      string
	pages    map[string]string
	includes []string
	logs     []string
	shared   *Shared
	conf     Conf
}

func (h *fakeHost) Variable(name, dst []byte) ([]byte, bool) {
	if strings.HasPrefix(string(name), "arg_") {
		for _, kv := range strings.Split(h.vars["args"], "&") {
			k, v, _ := strings.Cut(kv, "=")
			if k == string(name[4:]) {
				return append(dst, v...), true
			}
		}
		return dst, false
	}
	v, ok := h.vars[string(name)]
	return append(dst, v...), ok
}

func (h *fakeHost) URI() []byte { return []byte(h.uri) }

func (h *fakeHost) RunPosted() {}

func (h *fakeHost) SubrequestBuffer() (int, int64) { return 4096, -1 }

func (h *fakeHost) Terminate() { h.logs = append(h.logs, "terminated") }

func (h *fakeHost) Include(uri, args []byte, hasArgs bool, out func([]byte) error, stub [][]byte, waited bool) (int, bool) {
	full := string(uri)
	if hasArgs {
		full += "?" + string(args)
	}
	h.includes = append(h.includes, full)
	body, ok := h.pages[string(uri)]
	sub := &fakeHost{vars: map[string]string{"args": string(args)}, uri: string(uri), pages: h.pages, shared: h.shared, conf: h.conf}
	if !ok && stub != nil || body == "" && stub != nil {
		// The stub goes through the subrequest's ssi filter, but after
		// an empty body (no filter then).
		if body == "" && ok {
			for _, c := range stub {
				out(c)
			}
			return 200, true
		}
		var f Filter
		f.Reset(sub, h.shared, h.conf)
		f.SetNext(funcLink(out))
		for _, c := range stub {
			f.Body(c, false, false)
		}
		f.Body(nil, false, true)
		h.logs = append(h.logs, sub.logs...)
		return 404, true
	}
	if !ok {
		return 404, true
	}
	if strings.Contains(body, "<!--#") {
		// The included page has ssi on too: its own filter, the shared state.
		var f Filter
		f.Reset(sub, h.shared, h.conf)
		f.SetNext(funcLink(out))
		err := f.Body([]byte(body), false, true)
		h.logs = append(h.logs, sub.logs...)
		h.includes = append(h.includes, sub.includes...)
		return 200, err == nil
	}
	if body != "" {
		out([]byte(body))
	}
	return 200, true
}

func (h *fakeHost) Errorf(format string, args ...any) {
	h.logs = append(h.logs, fmt.Sprintf(format, args...))
}

// funcLink ends a chain in a function.
type funcLink func([]byte) error

func (l funcLink) Body(p []byte, flush, last bool) error {
	if len(p) == 0 {
		return nil
	}
	return l(p)
}
func (l funcLink) SetNext(filter.Link) {}

// collect is the end of the chain in tests.
type collect struct {
	buf  bytes.Buffer
	last int
}

func (c *collect) Body(p []byte, flush, last bool) error {
	c.buf.Write(p)
	if last {
		c.last++
	}
	return nil
}
func (c *collect) SetNext(filter.Link) {}

// run filters doc split at the given points.
func run(t *testing.T, doc string, args string, conf Conf, splits ...int) (string, []string, []string) {
	t.Helper()
	h := &fakeHost{vars: map[string]string{"args": args, "host": "example"}, uri: "/dir/page.html", shared: &Shared{}, conf: conf,
		pages: map[string]string{"/dir/a.html": "A", "/b.html": "B", "/empty.html": "", "/nested.html": `[<!--#echo var="arg_q" -->]`}}
	var f Filter
	f.Reset(h, h.shared, conf)
	out := &collect{}
	f.SetNext(out)
	prev := 0
	for _, s := range splits {
		if err := f.Body([]byte(doc[prev:s]), false, false); err != nil {
			t.Fatal(err)
		}
		prev = s
	}
	if err := f.Body([]byte(doc[prev:]), false, true); err != nil {
		t.Fatal(err)
	}
	if out.last != 1 {
		t.Fatalf("last passed %d times", out.last)
	}
	return out.buf.String(), h.logs, h.includes
}

const errmsg = "[an error occurred while processing the directive]"

var cases = []struct {
	name, doc, args string
	conf            Conf
	want            string
	logs            []string
}{
	{name: "plain", doc: "no commands < here <! <!- <!-x <<!--", want: "no commands < here <! <!- <!-x <"},
	{name: "echo none", doc: `X<!--#echo var="arg_test" -->X`, want: "X(none)X"},
	{name: "echo empty", doc: `X<!--#echo var="arg_test" -->X`, args: "test=", want: "XX"},
	{name: "echo value", doc: `X<!--#echo var="arg_test" -->X`, args: "a=b&test=test", want: "XtestX"},
	{name: "echo default", doc: `<!--#echo var="nope" default="dflt" -->`, want: "dflt"},
	{name: "echo empty default", doc: `<!--#echo var="nope" default="" -->|`, want: "|"},
	{name: "set echo", doc: `X<!--#set var="blah" value="test" --><!--#echo var="blah" -->X`, want: "XtestX"},
	{name: "encodings", doc: `<!--#set var="b" value="<t&\"q'>" --><!--#echo var="b" encoding="none" -->|<!--#echo var="b" encoding="url" -->|<!--#echo var="b" -->|<!--#echo var="b" encoding="entity" -->`,
		want: `<t&"q'>|%3Ct&%22q%27%3E|%3Ct&%22q%27%3E|&lt;t&amp;&quot;q'&gt;`},
	{name: "set with vars", doc: `<!--#set var="v" value="a${host}b$host\$x\y" --><!--#echo var="v" encoding="none" -->`, want: `aexamplebexample$x\y`},
	{name: "single quotes", doc: `<!--#echo var='host' -->`, want: "example"},
	{name: "no space before end", doc: `<!--#echo var="host"-->`, want: "example"},
	{name: "whitespace", doc: "<!--#\techo\n var = \"host\"\r\n-->", want: "example"},
	{name: "unknown command", doc: `a<!--#foo -->b`, want: "a" + errmsg + "b", logs: []string{`invalid SSI command: "foo"`}},
	{name: "silent", doc: `a<!--#foo -->b`, conf: Conf{SilentErrors: true}, want: "ab", logs: []string{`invalid SSI command: "foo"`}},
	{name: "bad param", doc: `a<!--#echo bar="x" -->b`, want: "a" + errmsg + "b", logs: []string{`invalid parameter name: "bar" in "echo" SSI command`}},
	{name: "missing param", doc: `<!--#echo -->`, want: errmsg, logs: []string{`mandatory "var" parameter is absent in "echo" SSI command`}},
	{name: "duplicate", doc: `<!--#echo var="a" var="b" -->`, want: errmsg, logs: []string{`duplicate "var" parameter in "echo" SSI command`}},
	{name: "unquoted", doc: `a<!--#echo var=host -->b`, want: "a" + errmsg + "b", logs: []string{`unexpected "h" symbol before value of "var" parameter in "echo" SSI command`}},
	{name: "dash after param", doc: `a<!--#echo var-->b`, want: "a" + errmsg + "b", logs: []string{`unexpected "-" symbol after "var" parameter in "echo" SSI command`}},
	{name: "after value", doc: `a<!--#echo var="x"y -->b`, want: "a" + errmsg + "b", logs: []string{`unexpected "y" symbol after "x" value of "var" parameter in "echo" SSI command`}},
	{name: "three dashes", doc: `a<!--#echo var="host" --->b-->c`, want: "a" + errmsg + "c", logs: []string{`unexpected "-" symbol in "echo" SSI command`}},
	{name: "long value", doc: `<!--#set var="v" value="abcdef" -->`, conf: Conf{ValueLen: 5}, want: errmsg, logs: []string{`too long "abcdef..." value of "value" parameter in "set" SSI command`}},
	{name: "long command", doc: "<!--#" + strings.Repeat("c", 33) + " -->", want: errmsg, logs: []string{`the "` + strings.Repeat("c", 32) + `c..." SSI command is too long`}},
	{name: "config errmsg", doc: `<!--#config errmsg="oops" --><!--#bad -->`, want: "oops", logs: []string{`invalid SSI command: "bad"`}},
	{name: "unterminated at end", doc: `a<!--#echo var="x`, want: "a"},
	{name: "open at end", doc: `a<!-`, want: "a"},
	{name: "if var", doc: `x<!--#if expr="$arg_v" -->OK<!--#endif -->x`, args: "v=1", want: "xOKx"},
	{name: "if var not", doc: `x<!--#if expr="$arg_v" -->OK<!--#endif -->x`, want: "xx"},
	{name: "if eq", doc: `x<!--#if expr="$arg_v = equal" -->OK<!--#endif -->x`, args: "v=equal", want: "xOKx"},
	{name: "if upper", doc: `x<!--#if expr="$ARG_V = equal" -->OK<!--#endif -->x`, args: "v=equal", want: "xOKx"},
	// Only the left side is lowercased.
	{name: "if upper right", doc: `x<!--#if expr="$arg_v = EQUAL" -->OK<!--#endif -->x`, args: "v=equal", want: "xx"},
	{name: "if neq", doc: `x<!--#if expr="equal != $arg_v" -->OK<!--#endif -->x`, args: "v=notequal", want: "xOKx"},
	{name: "if re", doc: `x<!--#if expr="$arg_v = /re+gexp?/" -->OK<!--#endif -->x`, args: "v=XreeeegexX", want: "xOKx"},
	{name: "if nre", doc: `x<!--#if expr="$arg_v != /re+gexp?/" -->OK<!--#endif -->x`, args: "v=XreeeegexX", want: "xx"},
	{name: "captures", doc: `x<!--#if expr="$arg_v = /(CAP\d).*(CAP\d)/" --><!--#echo var="1" -->x<!--#echo var="2" --><!--#endif -->x`, args: "v=hereCAP1andCAP2", want: "xCAP1xCAP2x"},
	{name: "named capture", doc: `x<!--#if expr="$arg_v = /(?P<ncap>HERE)/" --><!--#echo var="ncap" --><!--#endif -->x`, args: "v=captureHEREeee", want: "xHEREx"},
	{name: "elif", doc: `x<!--#if expr="$arg_if" -->IF<!--#elif expr="$arg_elif" -->ELIF<!--#else -->ELSE<!--#endif -->x`, args: "elif=1", want: "xELIFx"},
	{name: "else", doc: `x<!--#if expr="$arg_if" -->IF<!--#elif expr="$arg_elif" -->ELIF<!--#else -->ELSE<!--#endif -->x`, want: "xELSEx"},
	{name: "if suppresses elif", doc: `x<!--#if expr="$arg_if" -->IF<!--#elif expr="$arg_elif" -->ELIF<!--#else -->ELSE<!--#endif -->x`, args: "if=1&elif=1", want: "xIFx"},
	{name: "else outside if", doc: `a<!--#else -->b`, want: "a" + errmsg + "b", logs: []string{`invalid context of SSI command: "else"`}},
	{name: "if in if", doc: `<!--#if expr="1" --><!--#if expr="1" -->`, want: errmsg, logs: []string{`the "if" command inside the "if" command`}},
	{name: "bad expr", doc: `<!--#if expr="a b" -->`, want: errmsg, logs: []string{`invalid expression in "a b"`}},
	{name: "bad var", doc: `<!--#set var="v" value="$" -->`, want: errmsg, logs: []string{`invalid variable name in "$"`}},
	{name: "bracket", doc: `<!--#set var="v" value="${host" -->`, want: errmsg, logs: []string{`the closing bracket in "host" variable is missing`}},
	{name: "include", doc: `x<!--#include virtual="a.html" -->x<!--#include file="/b.html" -->x`, want: "xAxBx"},
	{name: "include nested", doc: `x<!--#include virtual="/nested.html?q=1" -->x`, want: "x[1]x"},
	{name: "include set", doc: `x<!--#include virtual="/b.html" set="v" -->x<!--#echo var="v" -->`, want: "xxB"},
	{name: "include 404 set", doc: `<!--#include virtual="/nope" set="v" --><!--#echo var="v" -->.`, want: "."},
	{name: "stub", doc: `<!--#block name="one" -->STUB<!--#if expr="$arg_if" -->IF<!--#endif --><!--#endblock -->x<!--#include virtual="/404?if=1" stub="one" -->x`, want: "xSTUBIFx"},
	{name: "stub empty", doc: `<!--#block name="one" -->S<!--#endblock -->x<!--#include virtual="/empty.html" stub="one" -->x`, want: "xSx"},
	{name: "stub missing", doc: `x<!--#include virtual="/b.html" stub="one" -->x`, want: "x" + errmsg + "x", logs: []string{`"stub"="one" for "include" not found`}},
	{name: "unsafe", doc: `<!--#include virtual="/a/../b" -->`, want: errmsg, logs: []string{`unsafe URI "/a/../b" was detected`}},
	{name: "escaped", doc: `<!--#include virtual="/%62.html?x=1" -->`, want: "B"},
	{name: "wait", doc: `<!--#include virtual="/b.html" wait="yes" --><!--#include file="/b.html" wait="no" -->`, want: "B" + errmsg, logs: []string{`"wait" cannot be used with file="/b.html"`}},
	{name: "timefmt", doc: `<!--#config timefmt="%s" --><!--#if expr="$date_gmt = /^[0-9]+\$/" -->num<!--#endif -->`, want: "num"},
	{name: "endblock in false if", doc: `<!--#if expr="" --><!--#block name="x" -->A<!--#endblock -->B<!--#endif -->`, want: "B"},
}

func TestFilter(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, logs, _ := run(t, tc.doc, tc.args, tc.conf)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("body -want +got:\n%s", d)
			}
			if d := cmp.Diff(tc.logs, logs); d != "" {
				t.Errorf("log -want +got:\n%s", d)
			}
		})
	}
}

// nopHandler runs the parser alone.
type nopHandler struct{}

func (nopHandler) text(prefix, p []byte) error  { return nil }
func (nopHandler) command() error               { return nil }
func (nopHandler) parseError() error            { return nil }
func (nopHandler) logf(format string, a ...any) {}

// inOpening reports whether doc[:k] ends inside an opening ("<" to
// "<!--"): a buffer that ends there is where nginx's output depends on
// the buffers (ctx->saved).
func inOpening(doc string, k int) bool {
	var ps parser
	ps.reset(255)
	ps.feed([]byte(doc[:k]), nopHandler{})
	return ps.st >= stTag && ps.st <= stSharp
}

// TestFilterSplits feeds every case split at every point, and at every
// pair of points for short documents: the output does not depend on
// where writes end, but inside an opening (TestFilterSaved).
func TestFilterSplits(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i <= len(tc.doc); i++ {
				if inOpening(tc.doc, i) {
					continue
				}
				got, _, _ := run(t, tc.doc, tc.args, tc.conf, i)
				if got != tc.want {
					t.Fatalf("split at %d: got %q, want %q", i, got, tc.want)
				}
			}
			if len(tc.doc) > 80 {
				return
			}
			for i := 0; i <= len(tc.doc); i++ {
				for j := i; j <= len(tc.doc); j++ {
					if inOpening(tc.doc, i) || inOpening(tc.doc, j) {
						continue
					}
					got, _, _ := run(t, tc.doc, tc.args, tc.conf, i, j)
					if got != tc.want {
						t.Fatalf("split at %d, %d: got %q, want %q", i, j, got, tc.want)
					}
				}
			}
		})
	}
}

// TestFilterSaved: an opening cut by the end of a buffer is nginx's
// ctx->saved, which goes out with the next text copied, or is lost.
func TestFilterSaved(t *testing.T) {
	tests := []struct {
		name, doc string
		split     int
		want      string
	}{
		{"kept", "a<!-x", 3, "a<!-x"},
		{"kept before a tag", "a<!<b", 3, "a<!<b"},
		{"command's own", "a<!--#echo var=\"host\" -->b", 3, "aexampleb"},
		{"lost at a command ending the buffer", `<!<!--#echo var="host" -->`, 2, "example"},
		{"after the command", `<!<!--#echo var="host" -->b`, 2, "example<!b"},
		{"lost at a buffer's end", "<!-", 2, ""},
	}
	for _, tc := range tests {
		got, _, _ := run(t, tc.doc, "", Conf{}, tc.split)
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s: -want +got:\n%s", tc.name, d)
		}
	}
}

func FuzzFilter(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.doc, uint8(7))
	}
	f.Fuzz(func(t *testing.T, doc string, step uint8) {
		whole, _, _ := run(t, doc, "v=1", Conf{ValueLen: 16})
		// The same document one step at a time gives the same output,
		// but where a step ends inside an opening.
		var splits []int
		for i := int(step%16) + 1; i < len(doc); i += int(step%16) + 1 {
			if !inOpening(doc, i) {
				splits = append(splits, i)
			}
		}
		split, _, _ := run(t, doc, "v=1", Conf{ValueLen: 16}, splits...)
		if whole != split {
			t.Fatalf("whole %q, split %q", whole, split)
		}
		// Every step, openings cut too: no panic, nothing past the
		// document's own bytes and the commands' output.
		splits = splits[:0]
		for i := int(step%16) + 1; i < len(doc); i += int(step%16) + 1 {
			splits = append(splits, i)
		}
		run(t, doc, "v=1", Conf{ValueLen: 16}, splits...)
	})
}
