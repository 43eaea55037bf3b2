// Command load drives real nginx and gonginx one after the other on this machine with the same
// proxied config (the article's default.conf: TLS on the client side, proxy to an in-process
// backend) and prints requests/s for each and their ratio, server CPU time per request, and
// memory per idle WebSocket. Bounded in requests and time; loopback only.
//
//	go run ./examples/load                       # builds gonginx from this checkout
//	go run ./examples/load -n 50000 -c 16 -ws 500
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

func main() {
	n := flag.Int("n", 20000, "requests per server (upper bound)")
	c := flag.Int("c", 8, "concurrent keepalive connections")
	d := flag.Duration("d", 15*time.Second, "time limit per server for the request phase")
	ws := flag.Int("ws", 500, "idle WebSockets to open for the memory measurement")
	config := flag.String("config", "default.conf", "config from examples/article")
	bin := flag.String("gonginx", "", "gonginx binary (default: go build ./cmd/gonginx)")
	only := flag.String("only", "", `run only "nginx" or "gonginx"`)
	flag.Parse()
	if err := run(*n, *c, *d, *ws, *config, *bin, *only); err != nil {
		log.Fatalf("load: %v", err)
	}
}

func run(n, c int, d time.Duration, ws int, config, bin, only string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	assets := filepath.Join(root, "examples", "article")
	text, err := os.ReadFile(filepath.Join(assets, config))
	if err != nil {
		return err
	}
	cs := harness.Case{
		Config: string(text), Verbatim: true, TLS: true, SNI: "www.my-api.com",
		Files: []string{"cert.pem", "key.pem", "server.pem", "server.key", "html/index.html"},
	}
	impls := []harness.Impl{{
		Name: "nginx", Bin: harness.NginxBin, Nginx: true,
		// The stock 512 worker_connections cannot hold 500 proxied WebSockets (two each);
		// gonginx gets the same (it counts connections as nginx does).
		NginxEvents: "events { worker_connections 4096; }", NginxGlobal: "worker_rlimit_nofile 8192;",
	}}
	if only != "nginx" {
		if bin == "" {
			tmp, err := os.MkdirTemp("", "gonginx-load-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			bin = filepath.Join(tmp, "gonginx")
			build := exec.Command("go", "build", "-o", bin, "./cmd/gonginx")
			build.Dir, build.Stdout, build.Stderr = root, os.Stdout, os.Stderr
			if err := build.Run(); err != nil {
				return fmt.Errorf("go build ./cmd/gonginx: %w", err)
			}
		}
		impls = append(impls, harness.Impl{Name: "gonginx", Bin: bin, NginxEvents: impls[0].NginxEvents, NginxGlobal: impls[0].NginxGlobal})
	}
	if only == "gonginx" {
		impls = impls[1:]
	}
	opt := harness.LoadOptions{
		Requests: n, Concurrency: c, MaxDuration: d, Path: "/api/socket/bench",
		TLS: true, SNI: "www.my-api.com", IdleWebSockets: ws, WSPath: "/api/socket/idle",
	}
	results := map[string]harness.LoadResult{}
	for _, im := range impls {
		res, err := loadOne(cs, im, assets, opt)
		if err != nil {
			return fmt.Errorf("%s: %w", im.Name, err)
		}
		results[im.Name] = res
		fmt.Printf("%-8s %8d req in %6.2fs  %9.0f req/s  errors %d  cpu %6.1f µs/req  rss %6d kB  +%.1f kB per idle ws (%d open)\n",
			im.Name, res.Requests, res.Elapsed.Seconds(), res.ReqPerSec, res.Errors,
			float64(res.CPUPerRequest.Nanoseconds())/1e3, res.RSSBaseKB, res.RSSPerWSKB, res.WebSockets)
	}
	a, okA := results["nginx"]
	b, okB := results["gonginx"]
	if okA && okB && a.ReqPerSec > 0 && a.CPUPerRequest > 0 {
		fmt.Printf("gonginx/nginx: throughput %.2fx, cpu per request %.2fx, memory per idle ws %.2fx\n",
			b.ReqPerSec/a.ReqPerSec, float64(b.CPUPerRequest)/float64(a.CPUPerRequest), b.RSSPerWSKB/a.RSSPerWSKB)
	}
	fmt.Println("(nginx runs 1 worker process, as the stock wrapper sets none; gonginx uses all cores; the client and the backend share the machine)")
	return nil
}

func loadOne(cs harness.Case, im harness.Impl, assets string, opt harness.LoadOptions) (harness.LoadResult, error) {
	be, err := harness.StartLoadBackend()
	if err != nil {
		return harness.LoadResult{}, err
	}
	defer be.Close()
	srv, err := harness.Start(cs, im, assets, be.Port)
	if err != nil {
		return harness.LoadResult{}, err
	}
	defer srv.Stop()
	warm := opt
	warm.Requests, warm.IdleWebSockets = 200, 0
	if _, err := harness.Load(srv, warm); err != nil {
		return harness.LoadResult{}, fmt.Errorf("warm-up: %w", err)
	}
	return harness.Load(srv, opt)
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run from inside the gonginx checkout")
	}
	return filepath.Dir(gomod), nil
}
