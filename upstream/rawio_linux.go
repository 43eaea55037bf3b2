package upstream

import (
	"syscall"
	"unsafe"
)

// rawRead and rawWrite are read(2) and write(2) on a non-blocking socket
// that do not tell the scheduler (syscall.RawSyscall, as the runtime's
// own short calls): they never wait, so there is no P to hand off while
// they run. Through syscall.Read a parked tunnel's message paid
// entersyscall and exitsyscall twice, and a call the system monitor saw
// running long (a loaded machine) had its P handed to another thread: a
// futex wake-up and a monitor sleep per few messages, where nginx's one
// thread just calls recv and send. Only for one read or write of at most
// a tunnel buffer (or a splice's pipe), never for a blocking descriptor.
func rawRead(fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), bufPtr(b), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawWrite(fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), bufPtr(b), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

var zeroByte byte

func bufPtr(b []byte) uintptr {
	if len(b) == 0 {
		return uintptr(unsafe.Pointer(&zeroByte))
	}
	return uintptr(unsafe.Pointer(&b[0]))
}
