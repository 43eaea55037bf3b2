package difftest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// gzipCorpus is what BenchmarkServeGzipCPU compresses: the files of
// $GZIP_CORPUS, else three of Go's own (source, HTML, text).
func gzipCorpus(b *testing.B) map[string]string {
	dir := os.Getenv("GZIP_CORPUS")
	var paths []string
	if dir != "" {
		ents, err := os.ReadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				paths = append(paths, filepath.Join(dir, e.Name()))
			}
		}
	} else {
		root := runtime.GOROOT()
		paths = []string{filepath.Join(root, "src/net/http/server.go"),
			filepath.Join(root, "doc/go_spec.html"), filepath.Join(root, "api/go1.txt")}
	}
	files := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files["html/"+filepath.Base(p)] = string(data)
	}
	return files
}

// BenchmarkServeGzipCPU serves the corpus under nginx and gonginx at
// gzip_comp_level 1, 6 and 9 and reports each server's CPU time per MiB
// compressed (its CPU for the gzipped requests less that for the same
// requests sent plain, read from /proc) and the compression ratio:
//
//	go test ./cmd/gonginx/difftest -run X -bench ServeGzipCPU -benchtime 5x
func BenchmarkServeGzipCPU(b *testing.B) {
	files := gzipCorpus(b)
	var size int64
	for _, d := range files {
		size += int64(len(d))
	}
	for _, level := range []int{1, 6, 9} {
		for _, im := range []harness.Impl{serveNginx(b), serveUnderTest(b)} {
			b.Run(fmt.Sprintf("level%d/%s", level, im.Name), func(b *testing.B) {
				c := harness.Case{Content: files, Config: `server {
    listen 127.0.0.1:{{PORT}};
    root html;
    access_log off;
    gzip on;
    gzip_types *;
    gzip_comp_level ` + strconv.Itoa(level) + `;
}
`}
				srv, err := harness.Start(c, im, serveAssets(b), 0)
				if err != nil {
					b.Fatal(err)
				}
				defer srv.Stop()
				client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: time.Minute}
				fetch := func(gzip bool) (cpu time.Duration, out int64) {
					cpu0, err := harness.TreeCPU(srv.Pid)
					if err != nil {
						b.Fatal(err)
					}
					for i := 0; i < b.N; i++ {
						for name := range files {
							req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(srv.Port)+"/"+filepath.Base(name), nil)
							if gzip {
								req.Header.Set("Accept-Encoding", "gzip")
							}
							resp, err := client.Do(req)
							if err != nil {
								b.Fatal(err)
							}
							n, _ := io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if gzip && resp.Header.Get("Content-Encoding") != "gzip" {
								b.Fatalf("%s: not gzipped", name)
							}
							out += n
						}
					}
					cpu1, err := harness.TreeCPU(srv.Pid)
					if err != nil {
						b.Fatal(err)
					}
					return cpu1 - cpu0, out
				}
				fetch(true) // warm up: pools, page cache
				b.ResetTimer()
				plainCPU, _ := fetch(false)
				gzipCPU, out := fetch(true)
				mib := float64(size*int64(b.N)) / (1 << 20)
				b.ReportMetric(float64(gzipCPU-plainCPU)/float64(time.Millisecond)/mib, "cpu-ms/MiB")
				b.ReportMetric(float64(size*int64(b.N))/float64(out), "ratio")
			})
		}
	}
}
