package difftest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// BenchmarkServeProxied sends b.N keepalive requests over TLS through the article's WebSocket
// config to an in-process backend, under nginx and under gonginx, and reports throughput and the
// server's CPU time per request (read from /proc). For memory per idle WebSocket and the
// gonginx/nginx ratios, run `go run ./examples/load`.
func BenchmarkServeProxied(b *testing.B) {
	config, err := os.ReadFile(filepath.Join(serveAssets(b), "default.conf"))
	if err != nil {
		b.Fatal(err)
	}
	c := harness.Case{Config: string(config), Verbatim: true, TLS: true, SNI: serveHost, Files: serveArticleFiles}
	for _, im := range []harness.Impl{serveNginx(b), serveUnderTest(b)} {
		b.Run(im.Name, func(b *testing.B) {
			be, err := harness.StartLoadBackend()
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			srv, err := harness.Start(c, im, serveAssets(b), be.Port)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Stop()
			opt := harness.LoadOptions{Requests: 100, Concurrency: 8, MaxDuration: time.Minute,
				Path: "/api/socket/bench", TLS: true, SNI: serveHost}
			if _, err := harness.Load(srv, opt); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			opt.Requests = b.N
			res, err := harness.Load(srv, opt)
			if err != nil {
				b.Fatal(err)
			}
			if res.Errors > 0 {
				b.Errorf("%d of %d requests failed", res.Errors, b.N)
			}
			b.ReportMetric(res.ReqPerSec, "req/s")
			b.ReportMetric(float64(res.CPUPerRequest.Nanoseconds())/1e3, "server-µs/req")
		})
	}
}
