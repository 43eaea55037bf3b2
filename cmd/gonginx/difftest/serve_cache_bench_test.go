package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// BenchmarkServeProxyCacheHit sends b.N keepalive requests for one cached response (a
// proxy_cache HIT: the backend is asked once, before the timer starts) under nginx and under
// gonginx, and reports throughput and the server's CPU time per request.
func BenchmarkServeProxyCacheHit(b *testing.B) {
	c := harness.Case{Config: `proxy_cache_path cache levels=1:2 keys_zone=z:1m;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log off;
    location / {
        proxy_pass http://{{BACKEND}};
        proxy_cache z;
        proxy_cache_valid 200 1h;
    }
}
`}
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
			opt := harness.LoadOptions{Requests: 100, Concurrency: 8, MaxDuration: time.Minute, Path: "/cached", SNI: "localhost"}
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
