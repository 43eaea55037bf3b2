package upstream

import (
	"bufio"
	"io"
	"net"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// scriptedBackend accepts connections, reads one request head and then
// runs answer on the connection, which it closes afterwards.
func scriptedBackend(t *testing.T, answer func(c net.Conn, br *bufio.Reader)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				answer(c, br)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// TestNoSocketLeak runs requests down every path that ends a backend
// connection other than by keeping it (an HTTP/0.9 relay, a body cut
// short, a tunnel the backend ends, a client that hangs up, a backend
// that closes without answering) with the garbage collector off, and
// counts the process's sockets: each path must close what it owns
// itself, not leave it to a finalizer.
func TestNoSocketLeak(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	const upgradeConf = `proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; `
	tests := []struct {
		name    string
		conf    string
		request string
		hangUp  bool // the client closes once the backend has the request
		answer  func(c net.Conn, br *bufio.Reader)
	}{
		{name: "HTTP/0.9 relay", request: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			answer: func(c net.Conn, _ *bufio.Reader) { io.WriteString(c, "garbage\r\n\r\n") }},
		{name: "body cut short", request: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			answer: func(c net.Conn, _ *bufio.Reader) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
			}},
		{name: "no answer", request: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			answer: func(net.Conn, *bufio.Reader) {}},
		{name: "tunnel ended by the backend", conf: upgradeConf,
			request: "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			answer: func(c net.Conn, _ *bufio.Reader) {
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nbye")
			}},
		{name: "client hangs up", request: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", hangUp: true,
			answer: func(c net.Conn, br *bufio.Reader) { io.Copy(io.Discard, br) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan struct{}, 1)
			addr := scriptedBackend(t, func(c net.Conn, br *bufio.Reader) {
				got <- struct{}{}
				tt.answer(c, br)
			})
			ps := newProxyServer(t, "", tt.conf+"proxy_pass http://"+addr+";", "/")
			ps.served = make(chan int, 1)
			one := func() {
				c, err := net.Dial("tcp", ps.ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.WriteString(c, tt.request)
				<-got
				if tt.hangUp {
					c.Close()
				} else {
					io.Copy(io.Discard, c)
				}
				<-ps.served
			}
			one() // the first request starts the process-wide watchers
			base := openFDs()
			const n = 30
			for i := 0; i < n; i++ {
				one()
			}
			if !settle(func() bool { return openFDs() <= base }) {
				var sockets []string
				for _, f := range fdTargets() {
					if strings.HasPrefix(f, "socket:") {
						sockets = append(sockets, f)
					}
				}
				t.Errorf("after %d requests: %d sockets open, %d before", n, len(sockets), base)
			}
		})
	}
}
