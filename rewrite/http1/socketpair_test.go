package http1

import (
	"net"
	"path/filepath"
	"testing"
)

// socketPair returns both ends of a loopback connection of network
// ("tcp" or "unix"); they close when the test ends.
func socketPair(t *testing.T, network string) (local, remote net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	local, err = net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	remote = <-accepted
	if remote == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { local.Close(); remote.Close() })
	return local, remote
}
