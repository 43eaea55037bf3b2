// Package harness runs one config under real nginx and under gonginx, sends both the same raw
// requests, and reports every difference a client or the upstream could observe: status line,
// header lines (order and case), body, connection end, WebSocket frames, and what the upstream
// received byte for byte.
//
// The tests using it live in package difftest:
//
//	go test ./cmd/gonginx/difftest/ -run TestServe            # nginx vs gonginx (built by TestMain)
//	DIFFTEST_SELF=1 go test ./cmd/gonginx/difftest/ -run TestServe   # nginx vs nginx: the cases are deterministic
//	DIFFTEST_DUMP=1 go test ./cmd/gonginx/difftest/ -run TestServeArticleWebSocket -v  # log what nginx did
//	go test ./cmd/gonginx/difftest/ -run X -bench ServeProxied    # throughput and server CPU per request
//	go run ./examples/load                                        # side by side: req/s, CPU, memory per idle WebSocket
//
// Without nginx at /usr/sbin/nginx the tests skip loudly, or fail when CI is set.
package harness

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Exchange is what the recording backend received for one request, exactly as it arrived.
type Exchange struct {
	RequestLine string
	Headers     []string // header lines verbatim (name case, spacing, order kept)
	Body        string   // raw body bytes, chunked framing included
	Frames      []string // WebSocket frames received after a 101, summarized
	Incomplete  string   // why the request stopped before it was complete, "" if it was not
	// Stalled: how a .../stall response's connection ended (the
	// proxy's close, or still open at the backend's wait's end).
	Stalled  string
	nreq     int  // the request's number on its connection (for .../reqno)
	headDone bool // the head was read whole
	// pieces: the later pieces of a .../stall response written, or a
	// .../made one written whole (Seen counts them with the frames)
	pieces int
	// TLS is what a TLS backend saw of the handshake (version, SNI name, the client
	// certificate's subject), "" for a plain one.
	TLS string
}

// Backend is a recording upstream on 127.0.0.1:0. It parses HTTP/1 itself at the TCP level
// (net/http would canonicalize names and hide framing) and answers per path:
//
//	.../status/NNN     that status, small text body
//	.../chunked        a chunked response in three chunks
//	.../slow           waits 300ms before answering
//	.../close-early    promises 100 bytes, sends 10, closes
//	.../hangup         closes without answering
//	.../nolength       HTTP/1.1 body delimited by close, no Content-Length
//	.../stall?n=N&sent=K[&split=1][&more=M...]   Content-Length N, its first K bytes
//	                   (after a pause when split), each further M bytes 300 ms after
//	                   the ones before, then nothing: how the proxy ends the
//	                   connection is recorded (Stalled), waited for at most 10s;
//	                   each M written counts as a frame seen (AwaitFrames)
//	.../stall?chunked=1[&p=P...]   the same chunked: the head, then each raw
//	                   piece P (framing and data) 300 ms after the one before;
//	                   a piece "cN" is a whole chunk of N bytes of data; each
//	                   piece written counts as a frame seen (AwaitFrames)
//	.../headers        odd response headers (case, duplicates, hop-by-hop ones)
//	.../redirect       302 with an absolute Location pointing at the backend
//	.../refresh        302 with that Location and a Refresh "7; url=" to the same URL
//	.../reqno          "request N on this connection" (whether a proxy reused it)
//	.../auth           401 with two WWW-Authenticate headers
//	.../more-than-length   Content-Length: 5 and 10 bytes of body
//	.../late-extra     Content-Length: 5 ("hello", no body to a HEAD), then 50 ms later,
//	                   the connection kept, a whole response more ("POISON")
//	.../chunk-too-long     a chunk with more data than its size says
//	.../after-last-chunk   a complete chunked body, then more bytes
//	.../chunk-ext      a chunked response with chunk extensions and trailers
//	.../together?g=G&n=N   held until N requests of group G are held at once, then
//	                   "together" to each; "alone" to one held 2s in vain (requests a
//	                   server makes side by side, not one after the other)
//	Upgrade: websocket (with Connection: upgrade and a key): 101, then echo frames;
//	   with .../ws-hangup in the path it closes after echoing the first frame
//	anything else      200 text/plain "backend saw: <request line>\n"
type Backend struct {
	ln     *queueListener
	Port   int
	record bool // false for load tests: nothing is kept

	mu    sync.Mutex
	got   []*Exchange
	busy  int // connections in the middle of reading a request, and open tunnels
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	tls   *tls.Config // nil: plain HTTP
	// held counts the requests of each .../together group waiting now;
	// released is closed when a group's count is reached.
	held     map[string]int
	released map[string]chan struct{}
}

// StartBackend listens on a free loopback port and serves until Close.
func StartBackend() (*Backend, error) { return startBackend(true, nil) }

// StartTLSBackend is StartBackend speaking TLS with tc.
func StartTLSBackend(tc *tls.Config) (*Backend, error) { return startBackend(true, tc) }

// StartLoadBackend is StartBackend without recording, for load tests.
func StartLoadBackend() (*Backend, error) { return startBackend(false, nil) }

func startBackend(record bool, tc *tls.Config) (*Backend, error) {
	ln, err := listenBackend()
	if err != nil {
		return nil, fmt.Errorf("backend listen: %w", err)
	}
	b := &Backend{ln: ln, Port: ln.addr.Port, record: record, conns: map[net.Conn]struct{}{}, tls: tc}
	b.wg.Add(1)
	go b.accept()
	return b, nil
}

// Close stops the listener and every open connection, and waits for their goroutines.
func (b *Backend) Close() {
	b.ln.Close()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// Take waits settle, then until no connection is mid-request or waits in
// the listener's accept queue (at most 2s more), and returns and forgets
// what was received so far.
func (b *Backend) Take(settle time.Duration) []Exchange {
	time.Sleep(settle)
	deadline := time.Now().Add(2 * time.Second)
	for {
		// Under the lock acceptBusy takes a connection from the queue
		// and counts it busy with.
		b.mu.Lock()
		busy := b.busy + b.ln.queued()
		b.mu.Unlock()
		if busy == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Exchange, len(b.got))
	for i, e := range b.got {
		out[i] = *e
		out[i].Headers = append([]string(nil), e.Headers...)
		out[i].Frames = append([]string(nil), e.Frames...)
	}
	b.got = nil
	return out
}

// Seen counts the request heads (whole) and WebSocket frames received
// since the last Take.
func (b *Backend) Seen() (heads, frames int) {
	heads, frames, _ = b.progress()
	return heads, frames
}

// progress is Seen, and whether a connection is open or waits to be
// accepted: with none, no frame can come any more.
func (b *Backend) progress() (heads, frames int, open bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.got {
		if e.headDone {
			heads++
		}
		frames += len(e.Frames) + e.pieces
	}
	return heads, frames, len(b.conns) > 0 || b.busy > 0 || b.ln.queued() > 0
}

func (b *Backend) accept() {
	defer b.wg.Done()
	for {
		// A connection is busy from its accept until its first byte (or
		// its end), and Take counts the accept queue too: on a loaded
		// machine a proxy's request can sit in a socket the kernel
		// accepted past a Take that would then miss it and give it to
		// the next request's (the proxy gave up on it already).
		c, err := b.ln.accept(&b.mu, func() { b.busy++ })
		if err != nil {
			return // closed
		}
		b.mu.Lock()
		b.conns[c] = struct{}{}
		b.mu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.serve(c)
			c.Close()
			b.mu.Lock()
			delete(b.conns, c)
			b.mu.Unlock()
		}()
	}
}

func (b *Backend) setBusy(delta int) {
	b.mu.Lock()
	b.busy += delta
	b.mu.Unlock()
}

// update applies f to e under the lock, so Take never sees a half-written Exchange.
func (b *Backend) update(e *Exchange, f func(*Exchange)) {
	b.mu.Lock()
	f(e)
	b.mu.Unlock()
}

func (b *Backend) serve(c net.Conn) {
	fresh := true // still counted busy by accept
	defer func() {
		if fresh {
			b.setBusy(-1)
		}
	}()
	var seen string
	if b.tls != nil {
		tc := tls.Server(c, b.tls)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := tc.Handshake(); err != nil {
			return
		}
		c.SetDeadline(time.Time{})
		seen = tlsSeen(tc.ConnectionState())
		c = tc
	}
	br := bufio.NewReader(c)
	for nreq := 1; ; nreq++ {
		// An idle keepalive connection is not busy; one that has sent a byte is.
		if _, err := br.Peek(1); err != nil {
			return
		}
		if fresh {
			fresh = false // accept's count goes on as the request's
		} else {
			b.setBusy(1)
		}
		e := &Exchange{TLS: seen, nreq: nreq} // set before Take can see e
		if b.record {
			b.mu.Lock()
			b.got = append(b.got, e)
			b.mu.Unlock()
		}
		keep, ws := b.readRequest(br, e)
		if ws && e.Incomplete == "" {
			// A tunnel stays busy until it ends: how it ends (the
			// proxy's close, seen as EOF) is part of what Take shows,
			// and the proxy closes it only after the client has gone.
			b.echoWebSocket(c, br, e)
			b.setBusy(-1)
			return
		}
		b.setBusy(-1)
		if e.Incomplete != "" {
			return
		}
		if !b.respond(c, e) || !keep {
			return
		}
	}
}

// readRequest reads one request head and body into e. It reports whether the connection may be
// reused and whether this is a WebSocket upgrade the backend accepts.
func (b *Backend) readRequest(br *bufio.Reader, e *Exchange) (keepAlive, websocket bool) {
	line, err := readLine(br)
	if err != nil {
		b.update(e, func(e *Exchange) { e.Incomplete = "EOF before request line" })
		return false, false
	}
	b.update(e, func(e *Exchange) { e.RequestLine = line })
	var headers []string
	for {
		h, err := readLine(br)
		if err != nil {
			b.update(e, func(e *Exchange) { e.Headers = headers; e.Incomplete = "EOF in headers" })
			return false, false
		}
		if h == "" {
			break
		}
		headers = append(headers, h)
	}
	b.update(e, func(e *Exchange) { e.Headers = headers; e.headDone = true })
	get := func(name string) string { return headerValue(headers, name) }

	body, err := readRawBody(br, get("Transfer-Encoding"), get("Content-Length"))
	b.update(e, func(e *Exchange) { e.Body = string(body) })
	if err != nil {
		b.update(e, func(e *Exchange) { e.Incomplete = "body: " + err.Error() })
		return false, false
	}
	websocket = hasToken(get("Connection"), "upgrade") && strings.EqualFold(get("Upgrade"), "websocket") && get("Sec-WebSocket-Key") != ""
	keepAlive = strings.HasSuffix(line, "HTTP/1.1") && !hasToken(get("Connection"), "close")
	return keepAlive, websocket
}

// readLine reads up to LF and strips CRLF or LF; the raw bytes otherwise stay as sent.
func readLine(br *bufio.Reader) (string, error) {
	s, err := br.ReadString('\n')
	if err != nil {
		return s, err
	}
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// readRawBody reads a body by its framing and returns the bytes as they came on the wire.
func readRawBody(br *bufio.Reader, te, cl string) ([]byte, error) {
	var raw bytes.Buffer
	if hasToken(te, "chunked") {
		for {
			line, err := br.ReadString('\n')
			raw.WriteString(line)
			if err != nil {
				return raw.Bytes(), fmt.Errorf("chunk size: %w", err)
			}
			sizeText, _, _ := strings.Cut(strings.TrimSpace(line), ";")
			size, err := strconv.ParseInt(sizeText, 16, 32)
			if err != nil || size < 0 {
				return raw.Bytes(), fmt.Errorf("bad chunk size %q", line)
			}
			if size == 0 {
				for {
					t, err := br.ReadString('\n')
					raw.WriteString(t)
					if err != nil {
						return raw.Bytes(), fmt.Errorf("trailer: %w", err)
					}
					if strings.TrimRight(t, "\r\n") == "" {
						return raw.Bytes(), nil
					}
				}
			}
			if _, err := io.CopyN(&raw, br, size); err != nil {
				return raw.Bytes(), fmt.Errorf("chunk data: %w", err)
			}
			end, err := br.ReadString('\n')
			raw.WriteString(end)
			if err != nil {
				return raw.Bytes(), fmt.Errorf("chunk end: %w", err)
			}
		}
	}
	if cl == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 32)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("bad Content-Length %q", cl)
	}
	_, err = io.CopyN(&raw, br, n)
	if err != nil {
		return raw.Bytes(), fmt.Errorf("after %d of %d bytes: %w", raw.Len(), n, err)
	}
	return raw.Bytes(), nil
}

func headerValue(headers []string, name string) string {
	for _, h := range headers {
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

// respond writes the per-path answer; it reports whether the connection is still usable.
func (b *Backend) respond(c net.Conn, e *Exchange) bool {
	target := e.RequestLine
	if f := strings.Fields(target); len(f) >= 2 {
		target = f[1]
	}
	write := func(s string) bool {
		_, err := io.WriteString(c, s)
		return err == nil
	}
	simple := func(status, body string, extra ...string) string {
		h := "HTTP/1.1 " + status + "\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
		for _, x := range extra {
			h += x + "\r\n"
		}
		return h + "\r\n" + body
	}
	switch {
	case strings.Contains(target, "/accel?"):
		// Headers from the query ("h=Name: value", repeated), a status
		// ("s=204") and a body ("b=..."): X-Accel-* steering tests.
		q, _ := url.ParseQuery(target[strings.Index(target, "?")+1:])
		status, body := "200 OK", "accel body\n"
		if v := q.Get("s"); v != "" {
			status = v + " Accel"
		}
		if v, ok := q["b"]; ok {
			body = v[0]
		}
		return write(simple(status, body, q["h"]...))
	case strings.Contains(target, "/made?"):
		if !write(madeResponse(target[strings.Index(target, "/made?")+len("/made?"):])) {
			return false
		}
		// Written whole: a piece seen (AwaitFrames), for a client that
		// hangs up once the proxy has all of a large answer.
		b.update(e, func(e *Exchange) { e.pieces++ })
		return true
	case strings.Contains(target, "/stall?"):
		b.stall(c, e, target[strings.Index(target, "/stall?")+len("/stall?"):])
		return false
	case strings.Contains(target, "/typed?"):
		// /typed?ct=TYPE&body=BODY (both URL-encoded): a response of any
		// Content-Type and bytes, for the filters that read them.
		q, _ := url.ParseQuery(target[strings.Index(target, "?")+1:])
		body := q.Get("body")
		return write("HTTP/1.1 200 OK\r\nContent-Type: " + q.Get("ct") + "\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	case strings.Contains(target, "/status/"):
		code := target[strings.Index(target, "/status/")+len("/status/"):]
		if len(code) > 3 {
			code = code[:3]
		}
		return write(simple(code+" Test", "status "+code+"\n"))
	case strings.Contains(target, "/together?"):
		return write(simple("200 OK", b.together(target[strings.Index(target, "/together?")+len("/together?"):])))
	case strings.Contains(target, "/chunk-ext"):
		return write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
			"4;name=value\r\next \r\n3 ; q=\"a b\"\r\nand\r\n9\r\n trailer\n\r\n0;last\r\nX-Sum: 16\r\nX-More: yes\r\n\r\n")
	case strings.Contains(target, "/chunked"):
		return write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"6\r\nhello \r\n6\r\nchunky\r\n1\r\n\n\r\n0\r\n\r\n")
	case strings.Contains(target, "/slow"):
		// Far past the 100-200 ms read timeouts the tests set: a loaded machine
		// may fire a server's timer hundreds of ms late (a 300 ms answer beat
		// one server's 100 ms proxy_read_timeout but not the other's).
		time.Sleep(time.Second)
		return write(simple("200 OK", "slow\n"))
	case strings.Contains(target, "/close-early"):
		write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n0123456789")
		return false
	case strings.Contains(target, "/hangup"):
		return false
	case strings.Contains(target, "/nolength"):
		write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nbody until close\n")
		return false
	case strings.Contains(target, "/headers"):
		return write(simple("200 OK", "headers\n",
			"X-Mixed-CASE: one", "x-lower: two", "Set-Cookie: a=1", "Set-Cookie: b=2",
			"Keep-Alive: timeout=5", "X-Empty:", "Cache-Control: no-cache"))
	case strings.Contains(target, "/caching"):
		// A backend's own caching headers, for expires and add_header to
		// replace or append to.
		return write(simple("200 OK", "caching\n", "Expires: Thu, 01 Jan 1998 00:00:00 GMT",
			"Cache-Control: public", "Cache-Control: max-age=60", "Last-Modified: Mon, 28 Sep 1970 06:00:00 GMT",
			`ETag: "up"`, "Link: </a>; rel=preload", "X-Up: 1"))
	case strings.Contains(target, "/auth"):
		return write(simple("401 Unauthorized", "auth\n", "WWW-Authenticate: Basic realm=\"one\"", "WWW-Authenticate: Bearer"))
	case strings.Contains(target, "/reqno"):
		return write(simple("200 OK", "request "+strconv.Itoa(e.nreq)+" on this connection\n"))
	case strings.Contains(target, "/more-than-length"):
		return write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhelloEXTRA")
	case strings.Contains(target, "/late-extra"):
		// Bytes on a kept connection after a complete response, in a later
		// segment: a proxy must not read them as the next request's answer.
		// Busy until they are written, so the next request comes after them.
		b.setBusy(1)
		defer b.setBusy(-1)
		resp := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"
		if !strings.HasPrefix(e.RequestLine, "HEAD ") {
			resp += "hello"
		}
		if !write(resp) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
		return write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON")
	case strings.Contains(target, "/chunk-too-long"):
		return write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloEXTRA\r\n0\r\n\r\n")
	case strings.Contains(target, "/after-last-chunk"):
		return write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nEXTRA")
	case strings.Contains(target, "/refresh"):
		url := "http://127.0.0.1:" + strconv.Itoa(b.Port) + "/socket/elsewhere"
		return write(simple("302 Found", "moved\n", "Location: "+url, "Refresh: 7; url="+url))
	case strings.Contains(target, "/redirect"):
		return write(simple("302 Found", "moved\n", "Location: http://127.0.0.1:"+strconv.Itoa(b.Port)+"/socket/elsewhere"))
	}
	return write(simple("200 OK", "backend saw: "+e.RequestLine+"\n"))
}

// stall answers a .../stall query: part of a body, then nothing until the
// proxy closes the connection (busy meanwhile, so Take waits for it).
func (b *Backend) stall(c net.Conn, e *Exchange, query string) {
	b.setBusy(1)
	defer b.setBusy(-1)
	q, _ := url.ParseQuery(query)
	n, _ := strconv.Atoi(q.Get("n"))
	sent, _ := strconv.Atoi(q.Get("sent"))
	body := strings.Repeat("0123456789", n/10+1)[:min(sent, n)]
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n"
	if pieces, ok := q["p"]; ok || q.Get("chunked") == "1" {
		// Chunked: the head, then each piece (raw framing and data) in
		// a read of its own, 300 ms apart.
		head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
		if _, err := io.WriteString(c, head); err != nil {
			return
		}
		for _, piece := range pieces {
			if n, err := strconv.Atoi(strings.TrimPrefix(piece, "c")); err == nil && piece[0] == 'c' {
				piece = strconv.FormatInt(int64(n), 16) + "\r\n" + strings.Repeat("c", n) + "\r\n"
			}
			time.Sleep(300 * time.Millisecond)
			if _, err := io.WriteString(c, piece); err != nil {
				return
			}
			b.update(e, func(e *Exchange) { e.pieces++ })
		}
		head, body = "", ""
	} else if q.Get("split") == "1" {
		// The body comes in a read of its own, after the head's.
		if _, err := io.WriteString(c, head); err != nil {
			return
		}
		time.Sleep(300 * time.Millisecond)
		head = ""
	}
	if _, err := io.WriteString(c, head+body); err != nil {
		return
	}
	at := len(body)
	for _, m := range q["more"] {
		k, _ := strconv.Atoi(m)
		k = min(k, n-at)
		time.Sleep(300 * time.Millisecond)
		if _, err := io.WriteString(c, strings.Repeat("0123456789", k/10+1)[:k]); err != nil {
			return
		}
		b.update(e, func(e *Exchange) { e.pieces++ })
		at += k
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var buf [512]byte
	for {
		_, err := c.Read(buf[:])
		if err == nil {
			continue
		}
		how := "closed by the proxy"
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			how = "still open after 10s"
		case !errors.Is(err, io.EOF):
			how = "read error: " + errText(err)
		}
		b.update(e, func(e *Exchange) { e.Stalled = how })
		return
	}
}

const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func (b *Backend) echoWebSocket(c net.Conn, br *bufio.Reader, e *Exchange) {
	sum := sha1.Sum([]byte(headerValue(e.Headers, "Sec-WebSocket-Key") + websocketGUID))
	head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
	if _, err := io.WriteString(c, head); err != nil {
		return
	}
	hangup := strings.Contains(e.RequestLine, "/ws-hangup")
	for {
		f, err := ReadFrame(br)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				b.update(e, func(e *Exchange) { e.Frames = append(e.Frames, "read error") })
			} else {
				b.update(e, func(e *Exchange) { e.Frames = append(e.Frames, "EOF") })
			}
			return
		}
		b.update(e, func(e *Exchange) { e.Frames = append(e.Frames, f.String()) })
		reply := Frame{Op: f.Op, Payload: f.Payload}
		if f.Op == OpPing {
			reply.Op = OpPong
		}
		if f.Op == OpPong {
			continue
		}
		if err := WriteFrame(c, reply, nil); err != nil {
			return
		}
		if f.Op == OpClose || hangup {
			return
		}
	}
}

// tlsSeen summarizes what a TLS backend learns from the handshake: the version, the SNI
// name and the client certificate presented.
func tlsSeen(cs tls.ConnectionState) string {
	s := tls.VersionName(cs.Version) + " " + tls.CipherSuiteName(cs.CipherSuite) + " sni=" + strconv.Quote(cs.ServerName)
	if len(cs.PeerCertificates) > 0 {
		s += " client-cert=" + strconv.Quote(cs.PeerCertificates[0].Subject.CommonName)
	} else {
		s += " client-cert=none"
	}
	if cs.DidResume {
		s += " resumed"
	}
	return s
}

// madeResponse is the response a "/made?" query describes, for the gzip
// family's cases: status=N (200), ct= (Content-Type, "-" for none),
// h=Name:value (repeatable), n=body size in bytes (64, a text pattern),
// gz=1 (the body gzipped, with Content-Encoding: gzip), gz=bad (not gzip,
// with it), gz=trunc (the gzip header alone), gz=two (two members),
// chunked=1 (else Content-Length), nolength=1 (neither: until close),
// hn=N (an X-Big header of N bytes).
func madeResponse(query string) string {
	q, _ := url.ParseQuery(query)
	status := q.Get("status")
	if status == "" {
		status = "200"
	}
	ct := q.Get("ct")
	if ct == "" {
		ct = "text/html"
	}
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil {
		n = 64
	}
	pattern := "<p>gzip family body text</p>\n"
	body := []byte(strings.Repeat(pattern, n/len(pattern)+1)[:n])
	h := "HTTP/1.1 " + status + " Made\r\n"
	if ct != "-" {
		h += "Content-Type: " + ct + "\r\n"
	}
	if hn, err := strconv.Atoi(q.Get("hn")); err == nil {
		h += "X-Big: " + strings.Repeat("b", hn) + "\r\n"
	}
	gzipped := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	switch q.Get("gz") {
	case "1":
		body = gzipped(body)
	case "bad":
		body = append([]byte("\x1f\x8b\x08\x00not really gzip"), body...)
	case "trunc":
		body = gzipped(body)[:10] // the header alone: nothing inflates
	case "two":
		body = append(gzipped(body), gzipped([]byte("second member\n"))...)
	}
	if q.Get("gz") != "" {
		h += "Content-Encoding: gzip\r\n"
	}
	for _, x := range q["h"] {
		h += x + "\r\n"
	}
	switch {
	case q.Get("chunked") == "1":
		h += "Transfer-Encoding: chunked\r\n\r\n"
		return h + strconv.FormatInt(int64(len(body)), 16) + "\r\n" + string(body) + "\r\n0\r\n\r\n"
	case q.Get("nolength") == "1":
		return h + "Connection: close\r\n\r\n" + string(body)
	}
	return h + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
}

// together holds a .../together request until n of its group are held
// at once (query g and n), at most 2s.
func (b *Backend) together(query string) string {
	q, _ := url.ParseQuery(query)
	g := q.Get("g")
	n, _ := strconv.Atoi(q.Get("n"))
	b.mu.Lock()
	if b.held == nil {
		b.held, b.released = map[string]int{}, map[string]chan struct{}{}
	}
	ch := b.released[g]
	if ch == nil {
		ch = make(chan struct{})
		b.released[g] = ch
	}
	b.held[g]++
	if b.held[g] >= n {
		close(ch)
		delete(b.released, g)
		b.held[g] = 0
		b.mu.Unlock()
		return "together\n"
	}
	b.mu.Unlock()
	select {
	case <-ch:
		return "together\n"
	case <-time.After(2 * time.Second):
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-ch:
		return "together\n" // released as the wait ran out
	default:
	}
	b.held[g]--
	return "alone\n"
}
