package main

import (
	"io"
	"os"
	"runtime/pprof"
)

// startProfile is a debugging aid, not an nginx feature: when the
// environment variable GONGINX_CPUPROFILE names a file, the serving
// process writes a CPU profile there until it stops (SIGTERM, SIGINT or
// SIGQUIT). Read it with "go tool pprof gonginx FILE". With a master,
// the serving processes are the workers: the first writes FILE, the
// others FILE.1, FILE.2, ... (suffix). It returns the function that
// finishes the profile.
func startProfile(stderr io.Writer, suffix string) func() {
	path := os.Getenv("GONGINX_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	path += suffix
	f, err := os.Create(path)
	if err != nil {
		stderr.Write([]byte(progName + ": [warn] GONGINX_CPUPROFILE: " + err.Error() + "\n"))
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		stderr.Write([]byte(progName + ": [warn] GONGINX_CPUPROFILE: " + err.Error() + "\n"))
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
