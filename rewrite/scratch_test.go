package rewrite

import (
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

// These tests hold the package's scratch-memory rule (doc.go) to account:
// on generated configurations whose complex values nest maps, geos,
// split_clients, "set" variables and captures, a State reused from a pool
// (its buffers full of earlier requests' bytes) must give exactly what a
// fresh State gives.

// genConfig is one generated configuration: its directives (for a failure
// message), the compiled program and the complex values evaluated directly.
type genConfig struct {
	text   []string
	prog   *Program
	values []*Complex
	logs   []*Complex
}

// genTarget is one request of the generated workload.
type genTarget struct {
	target, uri string
	headers     []string
}

var genTargets = []genTarget{
	{"/", "/", []string{"Host", "a.example.com"}},
	{"/p/q?a=1&b=two", "/p/q", []string{"Host", "www.example.org", "X-H", "hdr", "Cookie", "c=cv; d=1"}},
	{"/%41b+c/d?a=%20x&ip=10.1.2.3", "/Ab+c/d", []string{"Host", "b.example.com:8080", "X-Forwarded-For", "10.9.9.9"}},
	{"/long/" + strings.Repeat("seg", 60) + "?a=" + strings.Repeat("v", 50), "/long/" + strings.Repeat("seg", 60),
		[]string{"Host", strings.Repeat("h", 40) + ".example.com", "X-H", strings.Repeat("x", 200)}},
	{"/api/v1/users?ip=2001:db8::5&a=Z", "/api/v1/users", []string{"Host", "API.example.com", "Cookie", "c=" + strings.Repeat("k", 90)}},
	{"/x?ip=127.0.0.1", "/x", []string{"Host", "x", "X-H", "1"}},
}

// genPieces are the terms a generated complex value is made of, besides
// the variables defined before it.
var genPieces = []string{
	"w", "-", "x", "/", "?", "a=b", "$host", "${host}", "$uri", "$request_uri", "$args", "$arg_a", "$arg_ip",
	"$http_x_h", "$cookie_c", "$1", "$2", "$is_args", "$request_method", "$remote_addr", "$query_string",
}

func genComplex(r *rand.Rand, defined []string) string {
	var b strings.Builder
	n := 1 + r.Intn(5)
	for i := 0; i < n; i++ {
		if len(defined) > 0 && r.Intn(2) == 0 {
			name := defined[r.Intn(len(defined))]
			if r.Intn(3) == 0 {
				b.WriteString("${" + name + "}")
			} else {
				// "$v" followed by a name character would name another
				// variable.
				b.WriteString("$" + name + "|")
			}
			continue
		}
		p := genPieces[r.Intn(len(genPieces))]
		b.WriteString(p)
		if strings.HasPrefix(p, "$") && !strings.HasPrefix(p, "$1") && !strings.HasPrefix(p, "$2") {
			b.WriteString(".")
		}
	}
	return b.String()
}

var genRegexes = []string{`^/(\w+)/?(.*)$`, `^(.)(.*)$`, `(a|b)`, `^$`, `\.(com|org)`, `^/long/(s)`}

// generate builds a configuration from seed: variables v0..vN defined by
// map, geo, split_clients or set, each referring only to earlier ones (no
// cycles), and a program that sets, tests, rewrites and returns them.
func generate(t testing.TB, seed int64) (*genConfig, error) {
	r := rand.New(rand.NewSource(seed))
	c := NewCompiler()
	g := &genConfig{}
	var defined []string
	var prog []*nginxconf.Directive
	line := 1
	add := func(d *nginxconf.Directive) {
		g.text = append(g.text, fmt.Sprintf("%s %q (%d entries)", d.Name, d.Args, len(d.Block)))
	}
	nvars := 1 + r.Intn(7)
	for i := 0; i < nvars; i++ {
		name := fmt.Sprintf("v%d", i)
		line++
		var err error
		switch r.Intn(5) {
		case 0, 1: // map, sometimes with hostnames, regexes and volatile
			d := dir(line, "map", genComplex(r, defined), "$"+name)
			if r.Intn(4) == 0 {
				d.Block = append(d.Block, entry(line, "hostnames"))
			}
			if r.Intn(4) == 0 {
				d.Block = append(d.Block, entry(line, "volatile"))
			}
			d.Block = append(d.Block, entry(line, "default", genComplex(r, defined)))
			for _, k := range []string{"/", "a.example.com", "*.example.com", ".example.org", "www.*", "GET"} {
				if r.Intn(3) == 0 {
					d.Block = append(d.Block, entry(line, k, genComplex(r, defined)))
				}
			}
			for j := r.Intn(3); j > 0; j-- {
				key := "~" + genRegexes[r.Intn(len(genRegexes))]
				if r.Intn(2) == 0 {
					key = "~*" + key[1:]
				}
				d.Block = append(d.Block, entry(line, key, genComplex(r, defined)))
			}
			add(d)
			err = c.Map(d)
		case 2: // geo on a variable or the client address
			var d *nginxconf.Directive
			if len(defined) > 0 && r.Intn(3) > 0 {
				d = dir(line, "geo", "$"+defined[r.Intn(len(defined))], "$"+name)
			} else if r.Intn(2) == 0 {
				d = dir(line, "geo", "$arg_ip", "$"+name)
			} else {
				d = dir(line, "geo", "$"+name)
				d.Block = append(d.Block, entry(line, "proxy", "127.0.0.0/8"))
			}
			d.Block = append(d.Block, entry(line, "default", "gdef"), entry(line, "10.0.0.0/8", "ten"),
				entry(line, "127.0.0.1", "local"), entry(line, "2001:db8::/32", "doc"))
			add(d)
			err = c.Geo(d)
		case 3:
			d := dir(line, "split_clients", genComplex(r, defined), "$"+name)
			d.Block = append(d.Block, entry(line, "33%", "sa"), entry(line, "33%", "sb"), entry(line, "*", "sc"))
			add(d)
			err = c.SplitClients(d)
		default: // set in the program, evaluated in order
			d := dir(line, "set", "$"+name, genComplex(r, defined))
			add(d)
			prog = append(prog, d)
		}
		if err != nil {
			return nil, err
		}
		defined = append(defined, name)
	}
	all := append(defined[:len(defined):len(defined)], "args")
	for j := r.Intn(4); j > 0; j-- {
		line++
		switch r.Intn(4) {
		case 0:
			v := all[r.Intn(len(all))]
			d := dir(line, "if", "($"+defined[r.Intn(len(defined))], "~", genRegexes[r.Intn(len(genRegexes))]+")")
			d.Block = []*nginxconf.Directive{dir(line, "set", "$"+v, genComplex(r, defined))}
			add(d)
			prog = append(prog, d)
		case 1:
			d := dir(line, "if", "($"+defined[r.Intn(len(defined))], "=", genComplex(r, defined)+")")
			d.Block = []*nginxconf.Directive{dir(line, "set", "$"+all[r.Intn(len(all))], genComplex(r, defined))}
			add(d)
			prog = append(prog, d)
		case 2:
			d := dir(line, "rewrite", genRegexes[r.Intn(len(genRegexes))], "/r/$1"+genComplex(r, defined))
			add(d)
			prog = append(prog, d)
		default:
			d := dir(line, "set", "$"+all[r.Intn(len(all))], genComplex(r, defined))
			add(d)
			prog = append(prog, d)
		}
	}
	var ret strings.Builder
	for _, v := range defined {
		ret.WriteString(v + "=$" + v + " ")
	}
	ret.WriteString(genComplex(r, defined))
	prog = append(prog, dir(line+1, "return", "200", ret.String()))
	p, err := c.Program(prog)
	if err != nil {
		return nil, err
	}
	g.prog = p
	for j := 0; j < 3; j++ {
		cv, err := c.Complex(genComplex(r, defined))
		if err != nil {
			return nil, err
		}
		g.values = append(g.values, cv)
		cv, err = c.Complex(genComplex(r, defined))
		if err != nil {
			return nil, err
		}
		g.logs = append(g.logs, cv)
	}
	if err := c.Finish(); err != nil {
		return nil, err
	}
	return g, nil
}

// genResult is everything a request's evaluation shows.
type genResult struct {
	Run    outcome
	Values []string
	Logs   []string
}

func (g *genConfig) evaluate(s *State, tg genTarget, dst []byte) (genResult, []byte) {
	var res genResult
	a := g.prog.Run(s)
	res.Run = outcome{
		Kind: a.Kind.String(), Code: a.Code, Text: string(a.Text),
		URI: string(s.Req.URI), Args: string(s.Req.Args), Cap1: string(s.Capture(1)),
		URIChanged: a.URIChanged, IfBlock: a.IfBlock,
	}
	for _, cv := range g.values {
		// A caller's buffer with earlier bytes in it: the value is what is
		// appended after them.
		dst = append(dst[:0], "prefix:"...)
		dst = cv.Eval(s, dst)
		res.Values = append(res.Values, string(dst[len("prefix:"):]))
	}
	for _, cv := range g.logs {
		dst = cv.EvalLog(s, dst[:0], LogEscapeDefault)
		res.Logs = append(res.Logs, string(dst))
	}
	return res, dst
}

func genRequest(tg genTarget) *http1.Request { return testReq("GET", tg.target, tg.uri, tg.headers...) }

var genStates = sync.Pool{New: func() any { return new(State) }}

// checkReusedState compares, for every target, a fresh State with one
// taken from a pool after serving the other targets first.
func checkReusedState(t *testing.T, seed int64) {
	g, err := generate(t, seed)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	var dst []byte
	for i, tg := range genTargets {
		fresh := testState(genRequest(tg))
		want, _ := g.evaluate(fresh, tg, nil)

		s := genStates.Get().(*State)
		for j := range genTargets {
			if j == i {
				continue
			}
			warm := genTargets[j]
			s.Reset(genRequest(warm))
			s.ServerName, s.DocumentRoot = "warm.example.com", "/warm"
			_, dst = g.evaluate(s, warm, dst)
		}
		s.Reset(genRequest(tg))
		s.ServerName, s.DocumentRoot = fresh.ServerName, fresh.DocumentRoot
		got, d := g.evaluate(s, tg, dst)
		dst = d
		genStates.Put(s)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("seed %d, %s: reused State differs from a fresh one (-fresh +reused):\n%s\nconfig:\n%s",
				seed, tg.target, diff, strings.Join(g.text, "\n"))
		}
	}
}

func TestReusedStateMatchesFresh(t *testing.T) {
	n := int64(400)
	if testing.Short() {
		n = 50
	}
	for seed := int64(1); seed <= n; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkReusedState(t, seed) })
	}
}

func FuzzReusedState(f *testing.F) {
	for _, seed := range []int64{1, 2, 3, 42, 1000} {
		f.Add(seed)
	}
	f.Fuzz(checkReusedState)
}

// TestReportedNestedMapCorruption is issue 8's case: a "set" value that
// names $host while a map evaluated inside the same return text used to
// overwrite it on a reused State.
func TestReportedNestedMapCorruption(t *testing.T) {
	c := NewCompiler()
	m := block(dir(1, "map", "$uri", "$mapped"), entry(2, "default", "other"), entry(3, "/m", "from-map"))
	if err := c.Map(m); err != nil {
		t.Fatal(err)
	}
	p, err := c.Program([]*nginxconf.Directive{
		dir(5, "set", "$name", "w${host}x"),
		dir(6, "return", "200", "name=$name host=$host mapped=$mapped uri=$uri"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	s := &State{}
	want := "name=wexample.comx host=example.com mapped=from-map uri=/m"
	for i := 0; i < 3; i++ {
		s.Reset(testReq("GET", "/m", "/m", "Host", "example.com"))
		got := string(p.Run(s).Text)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("request %d on one State (-want +got):\n%s", i+1, diff)
		}
	}
}
