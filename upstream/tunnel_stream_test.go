package upstream

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// TestTunnelHalfClose: with proxy_half_close the client's EOF reaches the
// backend as a shutdown and the backend's answer still comes back;
// without it the first EOF ends the tunnel.
func TestTunnelHalfClose(t *testing.T) {
	for _, half := range []bool{true, false} {
		client, proxyClient := tcpPair(t)
		proxyUp, backend := tcpPair(t)
		tn := &tunnel{client: proxyClient, upstream: proxyUp, idle: 5 * time.Second, bufs: tunnelPool(512),
			halfClose: half, start: time.Now(), firstByte: -1, trackFirst: true}
		done := make(chan error, 1)
		go func() { done <- tn.run(nil, nil) }()
		client.SetDeadline(time.Now().Add(5 * time.Second))
		backend.SetDeadline(time.Now().Add(5 * time.Second))
		client.Write([]byte("ask"))
		client.CloseWrite()
		asked, _ := io.ReadAll(backend) // until the shutdown (or the close)
		backend.Write([]byte("answer"))
		backend.Close()
		answer, _ := io.ReadAll(client)
		<-done
		want := []string{"ask", "answer"}
		if !half {
			want = []string{"ask", ""}
		}
		if diff := cmp.Diff(want, []string{string(asked), string(answer)}); diff != "" {
			t.Errorf("half close %v (-want +got)\n%s", half, diff)
		}
		if half && tn.firstByte < 0 {
			t.Errorf("no first byte time recorded")
		}
	}
}

// TestTunnelAllowance: a read under a rate takes what is left of rate *
// (whole seconds since the start + 1), as ngx_stream_proxy_process.
func TestTunnelAllowance(t *testing.T) {
	tn := &tunnel{start: time.Now().Add(-1500 * time.Millisecond)}
	got := []int{tn.allowance(100, 0, 1000), tn.allowance(100, 150, 1000), tn.allowance(100, 150, 20)}
	if diff := cmp.Diff([]int{200, 50, 20}, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}
