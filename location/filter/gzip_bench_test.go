package filter

import (
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// benchCorpus is the files of $GZIP_CORPUS, else three of Go's own
// (source, HTML, text): what BenchmarkGzipLibraries compresses.
func benchCorpus(b *testing.B) [][]byte {
	var paths []string
	if dir := os.Getenv("GZIP_CORPUS"); dir != "" {
		ents, err := os.ReadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range ents {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	} else {
		root := runtime.GOROOT()
		paths = []string{filepath.Join(root, "src/net/http/server.go"),
			filepath.Join(root, "doc/go_spec.html"), filepath.Join(root, "api/go1.txt")}
	}
	var out [][]byte
	for _, p := range paths {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

type resetWriter interface {
	io.WriteCloser
	Reset(io.Writer)
}

// BenchmarkGzipLibraries compares compress/gzip with
// github.com/klauspost/compress/gzip (which Gzip uses) at levels 1, 6
// and 9: CPU per MiB of input and the ratio in/out, one goroutine.
//
//	go test ./location/filter -run X -bench GzipLibraries
func BenchmarkGzipLibraries(b *testing.B) {
	libs := []struct {
		name string
		new  func(level int) resetWriter
	}{
		{"stdlib", func(l int) resetWriter { w, _ := stdgzip.NewWriterLevel(nil, l); return w }},
		{"klauspost", func(l int) resetWriter { w, _ := kgzip.NewWriterLevel(nil, l); return w }},
	}
	data := benchCorpus(b)
	for _, level := range benchLevels() {
		for _, lib := range libs {
			b.Run(fmt.Sprintf("level%d/%s", level, lib.name), func(b *testing.B) {
				w := lib.new(level)
				var buf bytes.Buffer
				var in, out int64
				b.ReportAllocs()
				cpu0 := processCPU()
				for i := 0; i < b.N; i++ {
					for _, d := range data {
						buf.Reset()
						w.Reset(&buf)
						w.Write(d)
						w.Close()
						in += int64(len(d))
						out += int64(buf.Len())
					}
				}
				b.SetBytes(in / int64(b.N))
				b.ReportMetric(float64(in)/float64(out), "ratio")
				// The process's CPU time, not the wall clock: other
				// processes on the machine do not count.
				b.ReportMetric(float64(processCPU()-cpu0)/1e6/(float64(in)/(1<<20)), "cpu-ms/MiB")
			})
		}
	}
}

// processCPU is this process's user and system time, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchLevels are 1, 6 and 9, or those of $GZIP_LEVELS ("1-9": all).
func benchLevels() []int {
	if os.Getenv("GZIP_LEVELS") == "1-9" {
		return []int{1, 2, 3, 4, 5, 6, 7, 8, 9}
	}
	return []int{1, 6, 9}
}
