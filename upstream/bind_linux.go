package upstream

import "syscall"

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT.
const ipBindAddressNoPort = 24

// bindAddressNoPort asks the kernel to pick the local port at connect()
// instead of bind(), as nginx does where it can; failing is harmless.
func bindAddressNoPort(fd uintptr) {
	syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
}
