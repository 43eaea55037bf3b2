// Package backend is the article example's demo upstream for 127.0.0.1:32000: a WebSocket echo
// server (RFC 6455 handshake and framing done by hand, standard library only) that answers plain
// HTTP requests with exactly what it received, so you can see what the proxy forwarded.
package backend

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// websocketGUID is the fixed string RFC 6455 section 1.3 appends to Sec-WebSocket-Key.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxFrame bounds one echoed frame so a bad client cannot make the demo allocate without limit.
const maxFrame = 16 << 20

// Serve accepts connections on ln until it is closed. logf (may be nil) gets one line per request.
func Serve(ln net.Listener, logf func(format string, args ...any)) error {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		go func() {
			defer conn.Close()
			if err := serveConn(conn, logf); err != nil && !errors.Is(err, io.EOF) {
				logf("%s: %v", conn.RemoteAddr(), err)
			}
		}()
	}
}

// request is one HTTP/1 request head as received, header lines kept verbatim.
type request struct {
	line    string
	headers []string
}

func (r *request) header(name string) string {
	for _, h := range r.headers {
		k, v, ok := strings.Cut(h, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func hasToken(list, token string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

func serveConn(conn net.Conn, logf func(string, ...any)) error {
	br := bufio.NewReader(conn)
	for {
		req, err := readHead(br)
		if err != nil {
			return err
		}
		logf("%s %q", conn.RemoteAddr(), req.line)
		if hasToken(req.header("Connection"), "upgrade") && strings.EqualFold(req.header("Upgrade"), "websocket") && req.header("Sec-WebSocket-Key") != "" {
			return serveWebSocket(conn, br, req)
		}
		body, err := readBody(br, req)
		if err != nil {
			return err
		}
		var echo bytes.Buffer
		echo.WriteString(req.line + "\n")
		for _, h := range req.headers {
			echo.WriteString(h + "\n")
		}
		echo.WriteString("\n")
		echo.Write(body)
		keepAlive := strings.HasSuffix(req.line, "HTTP/1.1") && !hasToken(req.header("Connection"), "close")
		connHeader := "keep-alive"
		if !keepAlive {
			connHeader = "close"
		}
		head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
			strconv.Itoa(echo.Len()) + "\r\nConnection: " + connHeader + "\r\n\r\n"
		if _, err := conn.Write(append([]byte(head), echo.Bytes()...)); err != nil {
			return fmt.Errorf("write response: %w", err)
		}
		if !keepAlive {
			return nil
		}
	}
}

func readHead(br *bufio.Reader) (*request, error) {
	var req request
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if req.line == "" {
			if line == "" {
				continue // RFC 9112 2.2: ignore empty lines before the request line
			}
			req.line = line
			continue
		}
		if line == "" {
			return &req, nil
		}
		req.headers = append(req.headers, line)
		if len(req.headers) > 200 {
			return nil, errors.New("too many header lines")
		}
	}
}

func readBody(br *bufio.Reader, req *request) ([]byte, error) {
	if hasToken(req.header("Transfer-Encoding"), "chunked") {
		var body []byte
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return nil, fmt.Errorf("read chunk size: %w", err)
			}
			sizeText, _, _ := strings.Cut(strings.TrimSpace(line), ";")
			size, err := strconv.ParseInt(sizeText, 16, 64)
			if err != nil || size < 0 || size > maxFrame {
				return nil, fmt.Errorf("bad chunk size %q", line)
			}
			if size == 0 {
				// Trailers, then the empty line.
				for {
					t, err := br.ReadString('\n')
					if err != nil {
						return nil, fmt.Errorf("read trailer: %w", err)
					}
					if strings.TrimRight(t, "\r\n") == "" {
						return body, nil
					}
				}
			}
			chunk := make([]byte, size)
			if _, err := io.ReadFull(br, chunk); err != nil {
				return nil, fmt.Errorf("read chunk: %w", err)
			}
			body = append(body, chunk...)
			if _, err := br.ReadString('\n'); err != nil {
				return nil, fmt.Errorf("read chunk end: %w", err)
			}
		}
	}
	if cl := req.header("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 || n > maxFrame {
			return nil, fmt.Errorf("bad Content-Length %q", cl)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		return body, nil
	}
	return nil, nil
}

func serveWebSocket(conn net.Conn, br *bufio.Reader, req *request) error {
	sum := sha1.Sum([]byte(req.header("Sec-WebSocket-Key") + websocketGUID))
	accept := base64.StdEncoding.EncodeToString(sum[:])
	head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		return fmt.Errorf("write handshake: %w", err)
	}
	for {
		opcode, payload, err := readFrame(br)
		if err != nil {
			return err
		}
		switch opcode {
		case 0x8: // close: echo the status back, then hang up (RFC 6455 5.5.1)
			_ = writeFrame(conn, 0x8, payload)
			return nil
		case 0x9: // ping
			if err := writeFrame(conn, 0xA, payload); err != nil {
				return err
			}
		case 0xA: // pong: nothing to do
		default: // text, binary, continuation: echo as received
			if err := writeFrame(conn, opcode, payload); err != nil {
				return err
			}
		}
	}
}

// readFrame reads one client frame and returns its opcode and unmasked payload. The FIN bit is
// passed through by echoing continuation frames with the same opcode, which keeps this small.
func readFrame(br *bufio.Reader) (byte, []byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, nil, err
	}
	opcode := hdr[0] & 0x0F
	masked := hdr[1]&0x80 != 0
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes is over the %d limit", n, maxFrame)
	}
	var mask [4]byte
	if masked {
		if _, err := io.ReadFull(br, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return 0, nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return opcode, payload, nil
}

// writeFrame writes one unmasked, final frame (servers never mask, RFC 6455 5.1).
func writeFrame(w io.Writer, opcode byte, payload []byte) error {
	hdr := []byte{0x80 | opcode, 0}
	switch n := len(payload); {
	case n < 126:
		hdr[1] = byte(n)
	case n <= 0xFFFF:
		hdr[1] = 126
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr[1] = 127
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	if _, err := w.Write(append(hdr, payload...)); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}
