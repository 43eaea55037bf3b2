package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLintAndReports: -t --lint prints nginx's -t lines, then a [lint]
// line a finding, and exits 1 when there is one; --format prints the same
// findings (and -t's own errors) as GitHub annotations or SARIF on stdout.
func TestLintAndReports(t *testing.T) {
	dir := t.TempDir()
	write := func(name, conf string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	trap := write("trap.conf", `events {}
http {
    server {
        listen 127.0.0.1:1;
        location /img { alias /tmp/; }
    }
}
`)
	clean := write("clean.conf", "events {}\nhttp { server { listen 127.0.0.1:1; location /img/ { alias /tmp/; } } }\n")
	broken := write("broken.conf", "events {}\nhttp {\n  bogus_directive 1;\n}\n")

	got := runBin(t, "-t", "--lint", "-c", trap)
	got.Stderr = strings.ReplaceAll(got.Stderr, trap, "F")
	want := result{1, "", `gonginx: the configuration file F syntax is ok
gonginx: configuration file F test is successful
gonginx: [lint] alias-traversal: location "/img" has no trailing slash but its alias "/tmp/" has one: "/img../x" reads "/tmp/../x", outside the alias in F:5; fix: write location "/img/" (or drop the alias's trailing slash)
`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("-t --lint (-want +got):\n%s", d)
	}
	if got := runBin(t, "-t", "--lint", "-q", "-c", clean); got.Code != 0 || got.Stderr != "" {
		t.Errorf("clean config: %+v", got)
	}

	gh := runBin(t, "-tq", "--lint", "--format", "github", "-c", trap)
	if want := "::warning file=" + trap + ",line=5,title=gonginx alias-traversal::location \"/img\""; !strings.HasPrefix(gh.Stdout, want) || gh.Code != 1 {
		t.Errorf("github format: %+v, want stdout starting %q", gh, want)
	}
	gh = runBin(t, "-t", "--format=github", "-c", broken)
	if want := "::error file=" + broken + ",line=3,title=gonginx nginx-t::unknown directive \"bogus_directive\"\n"; gh.Stdout != want || gh.Code != 1 {
		t.Errorf("github format of an error: %+v, want stdout %q", gh, want)
	}

	sarif := runBin(t, "-tq", "--lint", "--format=sarif", "-c", trap)
	var doc struct {
		Version string
		Runs    []struct {
			Results []struct {
				RuleID    string
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(sarif.Stdout), &doc); err != nil {
		t.Fatalf("sarif: %v\n%s", err, sarif.Stdout)
	}
	if len(doc.Runs) != 1 || len(doc.Runs[0].Results) != 1 {
		t.Fatalf("sarif: %+v", doc)
	}
	r := doc.Runs[0].Results[0]
	loc := r.Locations[0].PhysicalLocation
	if doc.Version != "2.1.0" || r.RuleID != "alias-traversal" || r.Level != "warning" || loc.ArtifactLocation.URI != trap || loc.Region.StartLine != 5 {
		t.Errorf("sarif result: %+v", doc)
	}
}
