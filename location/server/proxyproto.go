package server

import (
	"net"
	"strconv"
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
	if f := proxyproto.ReadHeader(nc, buf, !isTLS, info); f != nil {
		if f.Msg != "" {
			logf(f.Level, f.Msg)
		}
		return false
	}
	return true
}
