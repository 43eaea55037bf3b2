package nginxconf

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// genServers writes an nginx.conf with n realistic server blocks and
// returns its path and size.
func genServers(b *testing.B, n int) (string, int64) {
	b.Helper()
	var s strings.Builder
	s.WriteString("worker_processes auto;\nevents {\n    worker_connections 1024;\n}\nhttp {\n    default_type application/octet-stream;\n")
	s.WriteString("    upstream backend {\n        server 127.0.0.1:32000 max_fails=3 fail_timeout=10s;\n        keepalive 32;\n    }\n")
	for i := range n {
		fmt.Fprintf(&s, `
    # site %d
    server {
        listen 127.0.0.1:%d;
        server_name site%d.example.com www.site%d.example.com;
        root /srv/www/site%d;
        index index.html;
        location / {
            try_files $uri $uri/ /index.html;
        }
        location ^~ /api/ {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
        }
        location ~* "\.(png|jpe?g|gif)$" {
            expires 30d;
            add_header Cache-Control "public";
        }
    }
`, i, 10000+i%50000, i, i, i)
	}
	s.WriteString("}\n")
	path := b.TempDir() + "/nginx.conf"
	if err := os.WriteFile(path, []byte(s.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path, int64(s.Len())
}

func benchmarkLoad(b *testing.B, n int) {
	path, size := genServers(b, n)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Load(path, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad1kServers(b *testing.B)  { benchmarkLoad(b, 1000) }
func BenchmarkLoad10kServers(b *testing.B) { benchmarkLoad(b, 10000) }

// BenchmarkLex is the lexer alone over the 10k-server file.
func BenchmarkLex(b *testing.B) {
	path, size := genServers(b, 10000)
	data, _ := os.ReadFile(path)
	src := string(data)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		l := newLexer(src, fileTokenLimit)
		for l.Next().Kind != TokEOF {
		}
	}
}

// BenchmarkParse10kServers is the parser without directive checks (the
// share of Load that is not checkDirective).
func BenchmarkParse10kServers(b *testing.B) {
	path, size := genServers(b, 10000)
	data, _ := os.ReadFile(path)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Parse(path, data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
