// Package difftest runs real nginx and gonginx side by side on the same configs and compares what
// clients and upstreams observe (serving tests: serve_*_test.go, built on ./harness) and what
// `-t` says (t_*_test.go).
package difftest

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Set by TestMain: the gonginx binary built from this checkout, or why it could not be built.
var (
	serveGonginxBin string
	serveBuildErr   error
)

// parallelDefault is how many of the package's t.Parallel tests run at
// once when go test is given no -parallel (its default is GOMAXPROCS).
// They wait on servers' timers and the client's windows (a kept-open
// connection is seen by 250 ms passing without a close) far more than
// they use CPU: a run on 2 cores took 11 min of wall time for 2.5 min of
// CPU, servers included.
const parallelDefault = 4

// TestMain builds ./cmd/gonginx once into a temp dir for every test in the package.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given && runtime.GOMAXPROCS(0) < parallelDefault {
		flag.Set("test.parallel", strconv.Itoa(parallelDefault))
	}
	dir, err := os.MkdirTemp("", "gonginx-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "difftest: temp dir:", err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "gonginx")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/gonginx/gonginx/cmd/gonginx").CombinedOutput()
	if err != nil {
		serveBuildErr = fmt.Errorf("go build ./cmd/gonginx: %w\n%s", err, out)
	} else {
		serveGonginxBin = bin
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serveNginx returns real nginx, failing in CI and skipping loudly elsewhere when it is missing.
func serveNginx(t testing.TB) harness.Impl {
	t.Helper()
	if _, err := os.Stat(harness.NginxBin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nginx is required in CI (apt-get install -y nginx): %v", err)
		}
		t.Skipf("!!! SKIPPING: real nginx not found at %s (apt-get install -y nginx); the differential tests did NOT run !!!", harness.NginxBin)
	}
	return harness.Impl{Name: "nginx", Bin: harness.NginxBin, Nginx: true}
}

// serveUnderTest is gonginx, or nginx again when DIFFTEST_SELF=1 (to check the cases themselves
// are deterministic: nginx against nginx must show no difference).
func serveUnderTest(t testing.TB) harness.Impl {
	t.Helper()
	if os.Getenv("DIFFTEST_SELF") == "1" {
		return harness.Impl{Name: "nginx2", Bin: harness.NginxBin, Nginx: true}
	}
	if serveBuildErr != nil {
		t.Fatal(serveBuildErr)
	}
	return harness.Impl{Name: "gonginx", Bin: serveGonginxBin}
}

// serveAssets is the article example directory: configs, example certificates, html.
func serveAssets(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../../../examples/article")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
