package difftest

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// ssiPieces are what the random documents are made of: the bytes the
// parser's states turn on, and whole commands, well formed or not.
var ssiPieces = []string{
	"a", "x y", "<", "<!", "<!-", "<!--", "<!--#", "-", "--", "-->", "--->", ">", " ", "\t", "\n",
	`"`, `'`, `\`, "=", "#",
	"echo", "set", "if", "elif", "else", "endif", "block", "endblock", "include", "config", "nope",
	" var=", " value=", " expr=", " name=", " virtual=", " stub=", " encoding=", " default=",
	`"arg_a"`, `'arg_b'`, `"$arg_a"`, `"x\"y"`, `"1"`,
	`<!--#echo var="arg_a" -->`, `<!--#echo var="arg_b" encoding="url" -->`, `<!--#echo var="v" default="D" -->`,
	`<!--#echo var="1" -->`, `<!--#echo var="w" -->`,
	`<!--#set var="v" value="<$arg_a&${arg_b}\$>" -->`, `<!--#set var="v" value="$" -->`,
	`<!--#if expr="$arg_a" -->`, `<!--#if expr="$arg_b = /(?P<w>[a-z])(\d)?/" -->`, `<!--#if expr="$arg_a != b" -->`,
	`<!--#elif expr="$arg_b" -->`, `<!--#else -->`, `<!--#endif -->`,
	`<!--#block name="b" -->`, `<!--#endblock -->`,
	`<!--#include virtual="/part.html" -->`, `<!--#include virtual="/nope?$arg_a" stub="b" -->`,
	// set= into a variable of its own: nginx assigns it again when the
	// subrequest's output turn comes, if it was not its turn when it
	// ended (ngx_http_request_finalizer), after commands that follow.
	// Text after it: nginx 1.22 hangs on a waited include (file=) right
	// after one that was not its turn.
	`<!--#include virtual="/part.html" set="w" -->;`, `<!--#include file="part.html" -->`,
	`<!--#config errmsg="[E]" -->`, `<!--#config timefmt="%Y" -->`,
}

// TestServeSSIRandomDocs serves documents put together at random from
// ssiPieces (the same ones every run) under both servers: every byte of
// what the filter outputs must be nginx's.
func TestServeSSIRandomDocs(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	rnd := rand.New(rand.NewSource(12))
	content := map[string]string{"html/part.html": "PART"}
	var reqs []harness.Request
	for i := 0; i < 300; i++ {
		var b strings.Builder
		for n := 3 + rnd.Intn(80); n > 0; n-- {
			b.WriteString(ssiPieces[rnd.Intn(len(ssiPieces))])
		}
		name := fmt.Sprintf("r%d.html", i)
		content["html/"+name] = b.String()
		args := []string{"", "?a=1", "?a=x&b=q7", "?b=%3C"}[rnd.Intn(4)]
		reqs = append(reqs, serveRaw(name, "GET /"+name+args+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
	}
	c := harness.Case{
		Name: "ssi-random",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    location / { ssi on; ssi_value_length 20; }
}
`,
		Content:  content,
		Requests: reqs,
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
