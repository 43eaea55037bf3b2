package main

import (
	"io"
	"os"
	"runtime"
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
	heap := heapProfile(stderr, suffix)
	cpu := cpuProfile(stderr, suffix)
	return func() { cpu(); heap() }
}

func cpuProfile(stderr io.Writer, suffix string) func() {
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

// heapProfile is the same aid for the live heap: when
// GONGINX_HEAPPROFILE names a file, the serving process writes what is
// live after its start-up to FILE.start (suffix before ".start") and
// what is live when it stops to FILE, each after a collection. Read them
// with "go tool pprof -sample_index=inuse_space gonginx FILE".
func heapProfile(stderr io.Writer, suffix string) func() {
	path := os.Getenv("GONGINX_HEAPPROFILE")
	if path == "" {
		return func() {}
	}
	path += suffix
	write := func(f *os.File, err error) {
		if err == nil {
			runtime.GC()
			err = pprof.WriteHeapProfile(f)
			f.Close()
		}
		if err != nil {
			stderr.Write([]byte(progName + ": [warn] GONGINX_HEAPPROFILE: " + err.Error() + "\n"))
		}
	}
	write(os.Create(path + ".start"))
	// Created now: the worker may have dropped its user when it stops.
	f, err := os.Create(path)
	return func() { write(f, err) }
}

// init samples every 512 bytes allocated for GONGINX_HEAPPROFILE (the
// default, one per 512 KiB, shows a few of a worker's ~2 MB), from the
// start so the package tables built before main are in it.
func init() {
	if os.Getenv("GONGINX_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 512
	}
}
