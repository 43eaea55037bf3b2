//go:build linux

package rewrite

import (
	"strconv"
	"syscall"
	"unsafe"
)

// tcpInfoVar is $tcpinfo_<field>: the kernel's TCP_INFO for the client
// socket, read when the variable is evaluated, as nginx does.
func tcpInfoVar(field func(ti *syscall.TCPInfo) uint32) Getter {
	return func(s *State, dst []byte) []byte {
		if s.Conn == nil {
			return dst
		}
		raw, _ := s.Conn.Socket()
		if raw == nil {
			return dst
		}
		var ti syscall.TCPInfo
		ok := false
		raw.Control(func(fd uintptr) {
			size := uint32(unsafe.Sizeof(ti))
			_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
				uintptr(unsafe.Pointer(&ti)), uintptr(unsafe.Pointer(&size)), 0)
			ok = errno == 0
		})
		if !ok {
			return dst
		}
		return strconv.AppendUint(dst, uint64(field(&ti)), 10)
	}
}

func tcpInfoGetters() map[string]Getter {
	return map[string]Getter{
		"tcpinfo_rtt":       tcpInfoVar(func(ti *syscall.TCPInfo) uint32 { return ti.Rtt }),
		"tcpinfo_rttvar":    tcpInfoVar(func(ti *syscall.TCPInfo) uint32 { return ti.Rttvar }),
		"tcpinfo_snd_cwnd":  tcpInfoVar(func(ti *syscall.TCPInfo) uint32 { return ti.Snd_cwnd }),
		"tcpinfo_rcv_space": tcpInfoVar(func(ti *syscall.TCPInfo) uint32 { return ti.Rcv_space }),
	}
}
