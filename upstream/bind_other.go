//go:build !linux

package upstream

func bindAddressNoPort(fd uintptr) {}
