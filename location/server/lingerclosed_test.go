package server

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// closedBeforeShutdown is an accepted socket that a graceful stop (or a
// drain of reusable connections) closes just as its lingering close
// shuts its write side down.
type closedBeforeShutdown struct{ *net.TCPConn }

func (c closedBeforeShutdown) CloseWrite() error {
	c.TCPConn.Close()
	return c.TCPConn.CloseWrite()
}

type closingListener struct{ net.Listener }

func (l closingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return closedBeforeShutdown{c.(*net.TCPConn)}, nil
}

// A lingering close whose socket the server closed meanwhile logs
// nothing: nginx's shutdown() runs before anything else may close the
// socket, so it never fails that way (mail_proxy_protocol.t's "no
// alerts" once got "shutdown() failed (... use of closed network
// connection)" as the suite stopped the server).
func TestLingerOnClosedSocket(t *testing.T) {
	srv, addr, log := startReturningX(t, "info", "", "lingering_close always;\n", "",
		func(ln net.Listener) net.Listener { return closingListener{ln} })
	defer srv.Close()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	resp, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(resp), "HTTP/1.1 200 OK") {
		t.Fatalf("response %q", resp)
	}
	// The connection's end (its slot given back) comes after its log.
	for i := 0; srv.slots.Used() != 1; i++ {
		if i == 1000 {
			t.Fatalf("slots used %d, want 1", srv.slots.Used())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(log.String(), "shutdown() failed") {
		t.Errorf("error log:\n%s", log.String())
	}
}
