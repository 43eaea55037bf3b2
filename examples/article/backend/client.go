package backend

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// Client is a minimal WebSocket client for trying the example by hand (text frames only).
type Client struct {
	conn net.Conn
	br   *bufio.Reader
}

// Dial opens ws:// or wss:// rawURL (wss skips certificate checks: the example certificate is
// self-signed) and does the opening handshake.
func Dial(rawURL string) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", rawURL, err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"ws": "80", "wss": "443"}[u.Scheme])
	}
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", host, err)
	}
	if u.Scheme == "wss" {
		tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", host, err)
		}
		conn = tc
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	target := u.RequestURI()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", target, u.Host, key)
	c := &Client{conn: conn, br: bufio.NewReader(conn)}
	req, err := readHead(c.br) // a response head reads the same way: first line, then headers
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake response: %w", err)
	}
	if !strings.Contains(req.line, " 101 ") {
		conn.Close()
		return nil, fmt.Errorf("handshake refused: %s", req.line)
	}
	return c, nil
}

// Send writes one masked text frame (clients must mask, RFC 6455 5.3).
func (c *Client) Send(text string) error {
	var mask [4]byte
	rand.Read(mask[:])
	payload := []byte(text)
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	hdr := []byte{0x81, 0x80}
	switch n := len(payload); {
	case n < 126:
		hdr[1] |= byte(n)
	case n <= 0xFFFF:
		hdr[1] |= 126
		hdr = append(hdr, byte(n>>8), byte(n))
	default:
		hdr[1] |= 127
		for i := 7; i >= 0; i-- {
			hdr = append(hdr, byte(uint64(n)>>(8*i)))
		}
	}
	hdr = append(hdr, mask[:]...)
	if _, err := c.conn.Write(append(hdr, payload...)); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// Receive reads the next data frame's payload; io.EOF when the server closes.
func (c *Client) Receive() (string, error) {
	for {
		op, payload, err := readFrame(c.br)
		if err != nil {
			return "", err
		}
		switch op {
		case 0x8:
			return "", io.EOF
		case 0x9, 0xA:
			continue
		}
		return string(payload), nil
	}
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }
