package upstream

import (
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/upstream/poller"
)

// A connect that gets no answer ends at proxy_connect_timeout as a
// timeout (nginx's "upstream timed out ... while connecting"), though
// the dial's context has no Done channel.
func TestDialWithinTimesOut(t *testing.T) {
	// A listener whose accept queue is full drops the SYNs that come.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	d := net.Dialer{KeepAlive: -1}
	var queued []net.Conn
	defer func() {
		for _, c := range queued {
			c.Close()
		}
	}()
	// The queue holds one or two; then connects hang until the limit.
	for i := 0; i < 8; i++ {
		c, err := dialWithin(&d, "tcp", addr, time.Now(), 300*time.Millisecond)
		if err == nil {
			queued = append(queued, c)
			continue
		}
		if !isTimeout(err) {
			t.Fatalf("dial %d: %v, want a timeout", i, err)
		}
		return
	}
	t.Fatalf("%d connects to a full queue succeeded", len(queued))
}

// A connect that is answered succeeds, with or without a limit.
func TestDialWithinConnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := net.Dialer{KeepAlive: -1}
	for _, limit := range []time.Duration{0, time.Minute} {
		c, err := dialWithin(&d, "tcp", ln.Addr().String(), time.Now(), limit)
		if err != nil {
			t.Fatalf("limit %v: %v", limit, err)
		}
		c.Close()
	}
}

// A backend connection of the server's own has TCP_NODELAY only where
// nginx sets it on u->peer.connection: a TLS handshake whose session may
// be reused, an upgrade, a body streamed; gRPC's frames too.
func TestDialBackendNoDelay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	srv := &Server{Network: "tcp", Addr: addr, addrPort: tcpAddrPort("tcp", addr)}
	tests := []struct {
		name   string
		p      *Proxy
		scheme string
		x      *exchange
		want   int
	}{
		{"fastcgi", &Proxy{proto: &fastcgi{}}, "fastcgi", &exchange{}, 0},
		{"http", &Proxy{}, "http", &exchange{}, 0},
		{"upgrade", &Proxy{}, "http", &exchange{upgrade: true}, 1},
		{"body streamed", &Proxy{}, "http", &exchange{bodyStreams: true}, 1},
		{"https, sessions reused", &Proxy{tls: &backendTLS{reuse: true}}, "https", &exchange{}, 1},
		{"https, proxy_ssl_session_reuse off", &Proxy{tls: &backendTLS{}}, "https", &exchange{}, 0},
		{"grpc", &Proxy{proto: &grpcProto{}}, "grpc", &exchange{}, 1},
	}
	for _, tt := range tests {
		var d net.Dialer
		var spare *poller.Conn
		nc, _, err := dialBackend(&d, srv, time.Now(), time.Minute, &spare, tt.p.noDelay(&target{scheme: tt.scheme}, tt.x))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		c, ok := nc.(*poller.Conn)
		if !ok {
			t.Fatalf("%s: dialed a %T, not the server's own socket", tt.name, nc)
		}
		got, err := syscall.GetsockoptInt(c.FD(), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s: TCP_NODELAY %d, want %d", tt.name, got, tt.want)
		}
		nc.Close()
	}
}
