//go:build linux && race

package http1

import "syscall"

// Under the race detector a Sock reads and writes through package
// syscall's Read and Write: they tell the detector that bytes written
// happen before the reads that get them (its ioSync), as every other
// socket's reads and writes do, which raw system calls would not.

func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	return n, 0
}

func sysSend(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	return n, 0
}
