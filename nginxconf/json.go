package nginxconf

import (
	"encoding/json"
	"errors"
)

// The JSON dump has the shape of nginx-go-crossplane's payload, so its
// tools can read it and golden files diff cleanly.

type cpPayload struct {
	Status string     `json:"status"`
	Errors []cpError  `json:"errors"`
	Config []cpConfig `json:"config"`
}

type cpError struct {
	File  string `json:"file"`
	Line  *int   `json:"line"`
	Error string `json:"error"`
}

type cpConfig struct {
	File   string        `json:"file"`
	Status string        `json:"status"`
	Errors []cpError     `json:"errors"`
	Parsed []cpDirective `json:"parsed"`
}

type cpDirective struct {
	Directive string         `json:"directive"`
	Line      int            `json:"line"`
	Args      []string       `json:"args"`
	Includes  *[]int         `json:"includes,omitempty"`
	Block     *[]cpDirective `json:"block,omitempty"`
	Comment   *string        `json:"comment,omitempty"`
}

// MarshalCrossplane renders cfg (as Load returned it, possibly partial)
// and the error Load returned (nil if none) as a crossplane payload:
// {"status", "errors": [{file, line, error}], "config": [{file, status,
// errors, parsed: [{directive, line, args, includes?, block?, comment?}]}]}.
// An error is listed at the top and under the file it names.
func MarshalCrossplane(cfg *Config, loadErr error) ([]byte, error) {
	p := cpPayload{Status: "ok", Errors: []cpError{}, Config: []cpConfig{}}
	var perr *cpError
	var errFile string
	if loadErr != nil {
		p.Status = "failed"
		e := cpError{Error: loadErr.Error()}
		var ce *Error
		if errors.As(loadErr, &ce) {
			e.File = ce.File
			if ce.File != "" {
				line := ce.Line
				e.Line = &line
			}
		}
		if e.File == "" && cfg != nil {
			e.File = cfg.ConfFile
		}
		errFile = e.File
		perr = &e
		p.Errors = append(p.Errors, e)
	}
	if cfg != nil {
		for _, f := range cfg.Files {
			c := cpConfig{File: f.Path, Status: "ok", Errors: []cpError{}, Parsed: cpTree(f.Tree)}
			if perr != nil && f.Path == errFile {
				c.Status = "failed"
				c.Errors = append(c.Errors, *perr)
			}
			p.Config = append(p.Config, c)
		}
	}
	return json.MarshalIndent(p, "", "  ")
}

func cpTree(ds []*Directive) []cpDirective {
	out := make([]cpDirective, 0, len(ds))
	for _, d := range ds {
		c := cpDirective{Directive: d.Name, Line: d.Line, Args: d.Args}
		if d.Includes != nil {
			inc := d.Includes
			c.Includes = &inc
		}
		if c.Args == nil {
			c.Args = []string{}
		}
		if d.Name == "#" {
			comment := d.Comment
			c.Comment = &comment
		}
		if d.Block != nil {
			b := cpTree(d.Block)
			c.Block = &b
		}
		out = append(out, c)
	}
	return out
}
