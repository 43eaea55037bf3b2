//go:build !linux

package main

// warmCPUs does nothing where CPUs cannot be pinned this way.
func warmCPUs() (func(), error) { return func() {}, nil }

func runWarmer() bool { return false }
