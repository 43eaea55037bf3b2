package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// SSI includes run side by side, nginx vs gonginx: nginx posts a page's
// includes and runs each until it waits (for its backend), so includes of
// a slow backend are in flight together, and its postpone filter keeps
// their output in document order. The backend's .../together answers
// "together" only to requests it holds at the same time ("alone" after
// 2s): what is compared is what the backend saw, not how long it took.
func TestServeSSIBeside(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	get := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	together := func(g, n string) string { return `/sub/together?g=` + g + `&n=` + n }
	c := harness.Case{
		Name: "ssi beside",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    location / { ssi on; }
    location /sub/ { proxy_pass http://{{BACKEND}}/; }
    location /ret/ { return 200 "ret $uri\n"; }
    location /dead/ { proxy_pass http://127.0.0.1:1/; }
}
`,
		Content: map[string]string{
			"html/two.html": `a<!--#include virtual="` + together("two", "2") + `" -->b<!--#include virtual="` + together("two", "2") + `" -->c` + "\n",
			// The slow one first: the others' output waits for it. (The
			// backend sees requests made together in no set order: each
			// case makes one kind at a time.)
			"html/order.html": `[<!--#include virtual="/sub/slow" -->|<!--#include virtual="/part.html" -->|<!--#include virtual="/ret/x" -->]` + "\n",
			"html/part.html":  "PART",
			// A waited include starts after those before it.
			"html/wait.html": `<!--#include virtual="` + together("wait", "2") + `" -->w<!--#include virtual="` + together("wait", "2") + `" wait="yes" -->` +
				`|<!--#include virtual="` + together("wait2", "2") + `" --><!--#include virtual="` + together("wait2", "2") + `" set="v" -->[<!--#echo var="v" -->]` + "\n",
			// An included page's includes run beside its parent's.
			"html/nest.html":  `<!--#include virtual="/nest2.html" -->|<!--#include virtual="` + together("nest", "3") + `" -->` + "\n",
			"html/nest2.html": `(<!--#include virtual="` + together("nest", "3") + `" --><!--#include virtual="` + together("nest", "3") + `" -->)`,
			// A failing include: the others go on; nginx runs the
			// subrequests after the commands in the same buffer.
			"html/fail.html": `<!--#include virtual="/nope.html" --><!--#nope -->|<!--#include virtual="/dead/x" -->|` +
				`<!--#include virtual="` + together("fail", "2") + `" --><!--#include virtual="` + together("fail", "2") + `" -->` + "\n",
			"html/stub.html": `<!--#block name="b" -->STUB<!--#endblock -->[<!--#include virtual="/dead/y" stub="b" -->|` +
				`<!--#include virtual="` + together("stub", "2") + `" stub="b" --><!--#include virtual="` + together("stub", "2") + `" -->]` + "\n",
		},
		ErrorMessages: true,
		Requests: []harness.Request{
			get("two includes of a slow backend in flight together", "/two.html"),
			get("output in document order", "/order.html"),
			get("wait and set wait for those before them, which run beside", "/wait.html"),
			get("nested includes", "/nest.html"),
			get("a failing include", "/fail.html"),
			get("stub", "/stub.html"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The client hangs up while a page's includes wait for their backends:
// nginx ends every one of them at once (ngx_http_terminate_request), the
// one whose upstream watched the client and the others, and logs the
// page; gonginx watches the client's socket for one and ends the others
// with it.
func TestServeSSIBesideClientGone(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "ssi beside client gone",
		Config: `log_format st '$request $status';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    access_log logs/st.log st;
    error_log logs/info.log info;
    location / { ssi on; }
    location /sub/ { proxy_pass http://{{BACKEND}}/; }
}
`,
		Content: map[string]string{
			"logs/.keep": "",
			// Three held together never come: the backend holds both
			// 2s; the client is gone long before.
			"html/gone.html": `a<!--#include virtual="/sub/together?g=gone&n=3" -->b<!--#include virtual="/sub/together?g=gone&n=3" -->c` + "\n",
		},
		Requests: []harness.Request{
			{Name: "client gone while both wait", Send: []string{"GET /gone.html HTTP/1.1\r\nHost: localhost\r\n\r\n"},
				AwaitRequests: 2, HangUpAfter: 50 * time.Millisecond, Settle: 300 * time.Millisecond},
		},
		AccessLogFiles: []string{"logs/st.log"},
		LogFiles:       []string{"logs/info.log"},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
