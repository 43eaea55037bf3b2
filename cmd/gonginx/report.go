package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/nginxconf/lint"
)

// finding is one line of a -t report in a CI format: nginx's errors and
// warnings, and --lint's findings.
type finding struct {
	rule, level string // level: "error" or "warning"
	file        string
	line        int
	msg         string
}

// lintFindings runs the lint rules, prints each in nginx's style to
// stderr and returns them for --format.
func lintFindings(cfg *nginxconf.Config, stderr io.Writer) []finding {
	var out []finding
	for _, f := range lint.Check(cfg.Tree) {
		fmt.Fprintf(stderr, "%s: [lint] %s: %s in %s:%d; fix: %s\n", progName, f.Rule, f.Message, f.File, f.Line, f.Fix)
		out = append(out, finding{rule: f.Rule, level: "warning", file: reportPath(cfg, f.File), line: f.Line, msg: f.Message + ". Fix: " + f.Fix})
	}
	return out
}

// testFindings are -t's own warnings and error as findings.
func testFindings(cfg *nginxconf.Config, warns []*nginxconf.Error, err error) []finding {
	var out []finding
	for _, w := range warns {
		out = append(out, finding{rule: "nginx-t", level: "warning", file: reportPath(cfg, w.File), line: w.Line, msg: w.Msg})
	}
	if err != nil {
		f := finding{rule: "nginx-t", level: "error", msg: err.Error()}
		var e *nginxconf.Error
		if errors.As(err, &e) {
			f.file, f.line, f.msg = reportPath(cfg, e.File), e.Line, e.Msg
			if e.Warn {
				f.level = "warning"
			}
		}
		out = append(out, f)
	}
	return out
}

// writeReport prints findings as GitHub workflow annotations or as a
// SARIF 2.1.0 log (code scanning), on stdout.
func writeReport(w io.Writer, format string, findings []finding) error {
	switch format {
	case "github":
		for _, f := range findings {
			props := "title=" + ghProp("gonginx "+f.rule)
			if f.file != "" {
				props = "file=" + ghProp(f.file) + ",line=" + strconv.Itoa(f.line) + "," + props
			}
			fmt.Fprintf(w, "::%s %s::%s\n", f.level, props, ghData(f.msg))
		}
		return nil
	case "sarif":
		return writeSARIF(w, findings)
	}
	return fmt.Errorf("unknown report format %q (github, sarif)", format)
}

// ghData and ghProp escape as GitHub's workflow commands require.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func writeSARIF(w io.Writer, findings []finding) error {
	type text struct {
		Text string `json:"text"`
	}
	type rule struct {
		ID               string `json:"id"`
		ShortDescription text   `json:"shortDescription"`
	}
	type region struct {
		StartLine int `json:"startLine,omitempty"`
	}
	type physical struct {
		ArtifactLocation struct {
			URI string `json:"uri"`
		} `json:"artifactLocation"`
		Region *region `json:"region,omitempty"`
	}
	type location struct {
		PhysicalLocation physical `json:"physicalLocation"`
	}
	type result struct {
		RuleID    string     `json:"ruleId"`
		Level     string     `json:"level"`
		Message   text       `json:"message"`
		Locations []location `json:"locations,omitempty"`
	}
	rules := []rule{{ID: "nginx-t", ShortDescription: text{"what nginx -t reports"}}}
	for _, r := range lint.Rules {
		rules = append(rules, rule{ID: r.Name, ShortDescription: text{r.Doc}})
	}
	results := []result{}
	for _, f := range findings {
		r := result{RuleID: f.rule, Level: f.level, Message: text{f.msg}}
		if f.file != "" {
			var loc location
			loc.PhysicalLocation.ArtifactLocation.URI = f.file
			if f.line > 0 {
				loc.PhysicalLocation.Region = &region{StartLine: f.line}
			}
			r.Locations = []location{loc}
		}
		results = append(results, r)
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name": progName, "version": gonginxVersion, "rules": rules,
			}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
