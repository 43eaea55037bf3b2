package proxyproto

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// Failure is why a connection whose PROXY header could not be read is
// closed: what nginx logs, at which level ("" Msg: nothing).
type Failure struct{ Level, Msg string }

// ReadHeader reads the PROXY protocol header a "listen ... proxy_protocol"
// connection starts with, as ngx_proxy_protocol_read does over one read:
// a peek of at most len(buf) bytes (under nc's read deadline) must hold
// it; the header is then taken off the socket, and the rest stays for the
// request, the handshake or the session. The addresses go into info. On
// a bad header, consume takes the peeked bytes too (nginx had read them
// on a plain address, so its close is a FIN, not a reset).
func ReadHeader(nc net.Conn, buf []byte, consume bool, info *http1.ConnInfo) *Failure {
	n, err := Peek(nc, buf)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &Failure{"info", "client timed out (110: Connection timed out)"}
	case err != nil:
		return &Failure{}
	case n == 0:
		return &Failure{"info", "client closed connection"}
	}
	h, used, err := Parse(buf[:n])
	if err != nil {
		if consume {
			io.ReadFull(nc, buf[:n])
		}
		return &Failure{"error", err.(*Error).Msg}
	}
	if _, err := io.ReadFull(nc, buf[:used]); err != nil {
		return &Failure{}
	}
	if h != nil {
		info.Proxied = true
		info.Proxy = &http1.ProxyAddrs{Addr: h.SrcAddr, Port: PortText(h.SrcPort), ServerAddr: h.DstAddr, ServerPort: PortText(h.DstPort)}
	}
	return nil
}

// Peek is recv(MSG_PEEK) on the socket under nc: what has arrived, up to
// len(buf), once at least one byte has (0 at end of stream), under nc's
// read deadline.
func Peek(nc net.Conn, buf []byte) (int, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var serr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, _, serr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK)
			if serr != syscall.EINTR {
				return serr != syscall.EAGAIN
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, serr
	}
	return n, nil
}
