package location

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/rewrite"
)

func benchMatch(b *testing.B, rt *Router, uris []string) {
	srv := rt.Servers[0]
	bs := make([][]byte, len(uris))
	for i, u := range uris {
		bs[i] = []byte(u)
	}
	var st rewrite.State
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st.Captures = st.Captures[:0]
		if l, _ := srv.Match(&st, bs[i%len(bs)]); l == nil {
			b.Fatal("no location")
		}
	}
}

func BenchmarkMatchArticle(b *testing.B) {
	rt := compileConf(b, articleServer)
	benchMatch(b, rt, []string{"/", "/index.html", "/api/socket/test", "/api/socket", "/static/app.js"})
}

// BenchmarkMatch100 matches against 100 locations: 60 prefixes, 20 exact,
// 20 regexes (the regexes run only when no ^~ or exact location won).
func BenchmarkMatch100(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("server { listen 127.0.0.1:19100;\n")
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&sb, "location /p%d/ { }\n", i)
	}
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&sb, "location = /e%d { }\n", i)
	}
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&sb, "location ~ ^/r%d/(.*)\\.php$ { }\n", i)
	}
	sb.WriteString("location ^~ /static/ { }\n}\n")
	rt := compileConf(b, sb.String())
	benchMatch(b, rt, []string{"/p37/x/y", "/e11", "/r19/a.php", "/static/css/site.css", "/nothing/here"})
}
