//go:build linux

package http1

import (
	"syscall"
	"time"
	"unsafe"
)

// rateSleep waits d before a rate-limited write, as nginx's delayed write
// timer, but ends early when the client hangs up (EPOLLRDHUP, as nginx's
// ngx_http_test_reading notices it meanwhile): it reports false then.
func (c *Conn) rateSleep(d time.Duration) bool {
	raw, _ := c.Socket()
	if raw == nil {
		time.Sleep(d)
		return true
	}
	const pollRDHUP = 0x2000
	type pollFd struct {
		fd             int32
		events, revent int16
	}
	hungUp := false
	deadline := time.Now().Add(d)
	for !hungUp {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		ts := syscall.NsecToTimespec(int64(left))
		raw.Control(func(fd uintptr) {
			p := pollFd{fd: int32(fd), events: pollRDHUP}
			n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1,
				uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
			if errno == 0 && n > 0 && p.revent&(pollRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				hungUp = true
			}
		})
	}
	return !hungUp
}
