//go:build linux

package upstream

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// heldUpgradeBackend answers /plain at once (and closes), and holds the
// 101 of any other request until told; then it echoes.
type heldUpgradeBackend struct {
	addr   string
	heads  chan string
	answer chan struct{}
	open   atomic.Int32 // connections not closed yet
}

func newHeldUpgradeBackend(t *testing.T) *heldUpgradeBackend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &heldUpgradeBackend{addr: ln.Addr().String(), heads: make(chan string, 4), answer: make(chan struct{}, 4)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.open.Add(1)
			go b.serve(c)
		}
	}()
	return b
}

func (b *heldUpgradeBackend) serve(c net.Conn) {
	defer b.open.Add(-1)
	defer c.Close()
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if l == "\r\n" {
			break
		}
	}
	path := strings.Fields(line)[1]
	b.heads <- path
	if path == "/plain" {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		return
	}
	select {
	case <-b.answer:
	case <-time.After(10 * time.Second):
		return
	}
	io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{br}, make([]byte, 4096))
}

// TestTunnelTakesWatchRegistration: the tunnel takes over the client
// socket's registration of the request's abort watch (one epoll entry
// for the connection's life). Bytes the client sends while the 101 is
// awaited, whose event the watch took, reach the backend once the
// tunnel runs; on a connection watched before without its input (a
// plain request first), the registration gets its input at the switch.
func TestTunnelTakesWatchRegistration(t *testing.T) {
	for _, plainFirst := range []bool{false, true} {
		name := "upgrade first"
		if plainFirst {
			name = "plain request first"
		}
		t.Run(name, func(t *testing.T) {
			b := newHeldUpgradeBackend(t)
			ps := newProxyServer(t, "", `proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $http_connection; proxy_read_timeout 1h; proxy_pass http://`+b.addr+`;`, "/")
			c, err := net.Dial("tcp", ps.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			readHead := func() string {
				status, err := br.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				for {
					l, err := br.ReadString('\n')
					if err != nil {
						t.Fatal(err)
					}
					if l == "\r\n" {
						return strings.TrimSpace(status)
					}
				}
			}
			var got []string
			if plainFirst {
				io.WriteString(c, "GET /plain HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n")
				got = append(got, <-b.heads, readHead())
				body := make([]byte, 2)
				io.ReadFull(br, body)
				got = append(got, string(body))
			}
			io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			got = append(got, <-b.heads)
			// The request is at the backend: the proxy waits for its head
			// and reads nothing from the client meanwhile.
			io.WriteString(c, "early")
			b.answer <- struct{}{}
			got = append(got, readHead())
			echo := make([]byte, 5)
			if _, err := io.ReadFull(br, echo); err != nil {
				t.Fatalf("echo of the early bytes: %v", err)
			}
			io.WriteString(c, "later")
			later := make([]byte, 5)
			if _, err := io.ReadFull(br, later); err != nil {
				t.Fatalf("echo: %v", err)
			}
			got = append(got, string(echo), string(later))
			want := []string{"/ws", "HTTP/1.1 101 Switching Protocols", "early", "later"}
			if plainFirst {
				want = append([]string{"/plain", "HTTP/1.1 200 OK", "ok"}, want...)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// Its sockets closed before the next test counts its own.
			c.Close()
			if !settle(func() bool { return ps.proxy.Tunnels.Len() == 0 && b.open.Load() == 0 }) {
				t.Errorf("%d tunnels, %d backend connections left", ps.proxy.Tunnels.Len(), b.open.Load())
			}
		})
	}
}

// TestTunnelTLSTakesWatchRegistration: a TLS client's direction takes its
// socket's watch registration over and still runs once at the start for
// the record TLS decrypted with the one before (no event tells of it:
// the socket was read empty before the watch registered).
func TestTunnelTLSTakesWatchRegistration(t *testing.T) {
	client, proxyClient, _ := tlsPair(t)
	up, err := net.Dial("tcp", echoBackend(t))
	if err != nil {
		t.Fatal(err)
	}
	client.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(client, "early1")
	io.WriteString(client, "early2")
	first := make([]byte, 6)
	if _, err := io.ReadFull(proxyClient, first); err != nil || string(first) != "early1" {
		t.Fatalf("first record %q %v", first, err)
	}
	owner := proxyClient.NetConn()
	raw, err := owner.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	w := watchClient(raw, owner, up, true)
	if w == nil {
		t.Fatal("no watch")
	}
	w.stop()
	tn := &tunnel{client: proxyClient, upstream: up, idle: 10 * time.Second, bufs: tunnelPool(4096), watched: owner}
	done := make(chan error, 1)
	go func() { done <- tn.run(nil, nil) }()
	if got := readN(t, client, 6); got != "early2" {
		t.Fatalf("early bytes: %q", got)
	}
	io.WriteString(client, "later")
	if got := readN(t, client, 5); got != "later" {
		t.Fatalf("echo: %q", got)
	}
	client.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the tunnel did not end with its client")
	}
}
