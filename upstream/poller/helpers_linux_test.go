package poller

import "syscall"

func syscallRead(fd int, b []byte) (int, error) { return syscall.Read(fd, b) }
