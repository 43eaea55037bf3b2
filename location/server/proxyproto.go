package server

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location/proxyproto"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// readProxyHeader reads the PROXY protocol header a connection to a
// "listen ... proxy_protocol" address starts with, as nginx does: one
// read of at most size bytes (nginx's recv into the header buffer, or
// its MSG_PEEK on a TLS address) must hold it all; the bytes after it
// stay unread in the socket for the request or the handshake. It reports
// false when the connection is to be closed, having logged why as nginx
// does (client_header_timeout runs from accept, as nginx's timer). isTLS:
// the address is a TLS one.
func (l *listener) readProxyHeader(nc net.Conn, size int, isTLS bool, info *http1.ConnInfo, connID uint64, deadline time.Time) bool {
	logf := func(level, msg string) {
		l.srv.log.Log(level, "*"+strconv.FormatUint(connID, 10)+" "+msg+" while reading PROXY protocol, client: "+
			info.RemoteAddr+", server: "+l.sock.Load().Listen.Addr)
	}
	nc.SetReadDeadline(deadline)
	defer nc.SetReadDeadline(time.Time{})
	buf := make([]byte, size) // once per connection, before any request
	n, err := peek(nc, buf)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		logf("info", "client timed out (110: Connection timed out)")
		return false
	case err != nil:
		return false
	case n == 0:
		logf("info", "client closed connection")
		return false
	}
	h, used, err := proxyproto.Parse(buf[:n])
	if err != nil {
		if msg := err.(*proxyproto.Error).Msg; msg != "" {
			logf("error", msg)
		}
		if !isTLS {
			// nginx had read the bytes (it peeks only on a TLS address):
			// the close is then a FIN, not a reset for unread input.
			io.ReadFull(nc, buf[:n])
		}
		return false
	}
	// Take the header off the socket; the rest is the client's.
	if _, err := io.ReadFull(nc, buf[:used]); err != nil {
		return false
	}
	if h != nil {
		info.Proxied = true
		info.ProxyAddr, info.ProxyPort = h.SrcAddr, proxyproto.PortText(h.SrcPort)
		info.ProxyServerAddr, info.ProxyServerPort = h.DstAddr, proxyproto.PortText(h.DstPort)
	}
	return true
}

// peek is recv(MSG_PEEK) on the socket under nc: what has arrived, up to
// len(buf), once at least one byte has (0 at end of stream), under nc's
// read deadline.
func peek(nc net.Conn, buf []byte) (int, error) {
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
