//go:build !linux

package harness

import "os/exec"

// StartGuarded starts cmd: no parent death signal here, so a server
// outlives a test binary that dies (the harness stops it otherwise).
func StartGuarded(cmd *exec.Cmd) error { return cmd.Start() }
