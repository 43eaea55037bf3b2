package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// backend answers /small with 100 bytes, /big with 1 MiB and /ws with a
// WebSocket that sends back every byte it gets (the client's frames
// come back as they went, which a client reads as frames all the same).
type backend struct {
	ln   net.Listener
	port int
	srv  *http.Server
}

var (
	smallBody = []byte(strings.Repeat("x", 99) + "\n")
	bigBody   = []byte(strings.Repeat(strings.Repeat("y", 1023)+"\n", 1024))
)

func startBackend() (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	body := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		}
	}
	mux.HandleFunc("/small", body(smallBody))
	mux.HandleFunc("/big", body(bigBody))
	mux.HandleFunc("/ws", echoWebSocket)
	b := &backend{ln: ln, port: ln.Addr().(*net.TCPAddr).Port, srv: &http.Server{Handler: mux}}
	go b.srv.Serve(ln)
	return b, nil
}

func (b *backend) Close() { b.srv.Close() }

func echoWebSocket(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
		base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
	echo(c, rw.Reader)
}

// echo copies what arrives back, the buffered part first.
func echo(c net.Conn, br *bufio.Reader) {
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		c.Write(b)
		br.Discard(n)
	}
	echoReady(c)
}

var echoBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// echoReady echoes with a buffer taken only once bytes are there: an
// idle echo holds neither a buffer nor a splice pipe (io.Copy between
// sockets would splice and keep a pipe per idle connection, which the
// bench's own descriptor limit could not afford at 5,000 tunnels).
func echoReady(c net.Conn) {
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return
	}
	var n int
	var rerr error
	var bp *[]byte
	read := func(fd uintptr) bool {
		bp = echoBufs.Get().(*[]byte)
		n, rerr = syscall.Read(int(fd), *bp)
		if rerr == syscall.EAGAIN {
			echoBufs.Put(bp)
			return false
		}
		return true
	}
	for {
		if err := rc.Read(read); err != nil {
			return
		}
		if rerr != nil || n <= 0 {
			echoBufs.Put(bp)
			return
		}
		_, err := c.Write((*bp)[:n])
		echoBufs.Put(bp)
		if err != nil {
			return
		}
	}
}
