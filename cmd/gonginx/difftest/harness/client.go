package harness

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Request is one client connection: raw bytes sent unchanged (so odd request lines survive),
// then the responses read back and the connection's end observed.
type Request struct {
	Name string
	Send []string // written in order; {{PORT}} and {{BACKEND_PORT}} are substituted
	// Prefix is written first, in plain even before a TLS handshake (a
	// PROXY protocol header), as it is: no substitution.
	Prefix string
	Pause  time.Duration // between parts of Send
	Plain  bool          // plain TCP even when the case listens with TLS
	NoSNI  bool          // TLS without a server name
	IPv6   bool          // connect to [::1] instead of 127.0.0.1
	// HangUp closes the connection right after sending, without reading (client gives up).
	HangUp bool
	// Corked, with HangUp, holds what is sent (TCP_CORK, plain TCP on
	// Linux) until the close: the request and the FIN arrive together,
	// the hang-up there when the server reads the request.
	Corked bool
	// HangUpAfter closes the connection this long after sending, without reading.
	HangUpAfter time.Duration
	// AwaitRequests and AwaitFrames, with HangUpAfter, first wait until
	// the backend has received this many request heads and WebSocket
	// frames (or written this many later pieces of a .../stall): the
	// hang-up then comes while the backend works on the request, in an
	// established tunnel, or after a stall's last piece, however long the
	// proxy (or a loaded machine) took.
	AwaitRequests, AwaitFrames int

	Responses int // responses to read (pipelining); 0 means 1
	// ImageShape summarizes an image body by its decoded type and size,
	// with its Content-Length checked against the body and then hidden:
	// two image encoders need not write the same bytes (image.go).
	ImageShape bool
	WS         []Frame // after a 101, each is sent masked and its echo read back
	Settle     time.Duration
	// SkipEnd does not wait to see whether the server keeps the connection open (a fuzzer's many
	// requests): End is then "not observed".
	SkipEnd bool
	// AwaitClose waits the long window for the connection's end even
	// when the response said it persists: a server timer (a tunnel's
	// proxy_read_timeout) is to close it, which a loaded machine fires
	// late past the short window. A close ends the wait at once.
	AwaitClose bool
	// TLS client settings (zero: crypto/tls defaults) and, with ShowTLS,
	// what the handshake settled is part of the Result.
	SNI     string // overrides Case.SNI
	TLSMin  uint16
	TLSMax  uint16
	Ciphers []uint16 // TLS 1.2 suites offered, in order
	ALPN    []string
	ShowTLS bool
	// Resume makes a first connection with the same request and a
	// session cache, then this one offers the session it got.
	Resume bool
	// ClientCert is presented when the server asks for a certificate;
	// with ShowTLS the CA names the server sent are part of the Result.
	ClientCert *tls.Certificate
	// ReadAfter waits this long after sending before reading the
	// response (a slow client), with RcvBuf, when set, as the socket's
	// SO_RCVBUF: the server's writes to it soon block.
	ReadAfter time.Duration
	RcvBuf    int
	// ReadFor reads the responses for this long only (a throttled one:
	// limit_rate; one the server waits for more bytes to give). A response
	// cut there shows as such, without its bytes so far, whose count is
	// the clock's: the Result says only that it had not all come by then.
	ReadFor time.Duration
	// H2 speaks HTTP/2 (h2c with prior knowledge, or ALPN "h2" over TLS):
	// each part of Send is one stream (see doH2).
	H2 bool
	// CancelAfter, with H2, sends RST_STREAM CANCEL on each stream this
	// long after it was sent (after AwaitRequests, when set) instead of
	// reading its response; the connection goes on.
	CancelAfter time.Duration
}

// Result is everything a client and the upstream observed for one Request, normalized.
type Result struct {
	Error     string   // connect or TLS handshake failure
	TLS       string   // with Request.ShowTLS: version, suite, ALPN and certificate subject
	Responses []string // per response: status line, header lines, "", body summary
	End       string   // how the connection ended after the exchange
	Frames    []string // WebSocket frames echoed back to the client
	Backend   []string // what the backend received: request line, headers, body, frames
}

// mask is the fixed client masking key: both servers forward the same bytes.
var mask = []byte{0x11, 0x22, 0x33, 0x44}

// requestTimeout bounds a whole exchange on the client's side. A request
// both servers answer takes far less on a quiet machine; on a loaded one
// (load 10-20 on 2 cores) the oracle's proxied TLS request took past 5 s
// while gonginx's did not, and the two runs differed by chance.
const requestTimeout = 15 * time.Second

// do runs one request against addr and returns the raw (not yet normalized) Result.
// backendSeen counts the request heads and WebSocket frames the backend has received
// and says whether a connection to it is open;
// streamDone, when set, runs after each HTTP/2 stream's answer (see logStep).
func do(addr string, useTLS bool, sni string, req Request, subst func(string) string, backendSeen func() (int, int, bool),
	streamDone func(stream int)) Result {
	var res Result
	d := net.Dialer{Timeout: requestTimeout}
	if req.RcvBuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, req.RcvBuf) })
			return nil
		}
	}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		res.Error = "dial: " + err.Error()
		return res
	}
	conn := raw
	defer func() { conn.Close() }()
	conn.SetDeadline(time.Now().Add(requestTimeout))
	if req.Prefix != "" {
		if _, err := io.WriteString(raw, req.Prefix); err != nil {
			res.Error = "write: " + errText(err)
			return res
		}
	}
	if useTLS && !req.Plain {
		cfg := &tls.Config{InsecureSkipVerify: true, ServerName: sni, // the example cert is self-signed
			MinVersion: req.TLSMin, MaxVersion: req.TLSMax, CipherSuites: req.Ciphers, NextProtos: req.ALPN}
		if req.SNI != "" {
			cfg.ServerName = req.SNI
		}
		if req.NoSNI {
			cfg.ServerName = ""
		}
		asked, cas := false, ""
		cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked = true
			for _, dn := range cri.AcceptableCAs {
				var name pkix.RDNSequence
				asn1.Unmarshal(dn, &name)
				cas += " ca=" + name.String()
			}
			if req.ClientCert != nil {
				return req.ClientCert, nil
			}
			return &tls.Certificate{}, nil
		}
		if req.H2 && req.ALPN == nil {
			cfg.NextProtos = []string{"h2"}
		}
		if req.Resume {
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			if err := primeSession(addr, cfg, req, subst); err != nil {
				res.Error = "first connection: " + errText(err)
				return res
			}
		}
		tc := tls.Client(raw, cfg)
		if err := tc.Handshake(); err != nil {
			res.Error = "tls handshake: " + errText(err)
			return res
		}
		if req.ShowTLS {
			res.TLS = tlsSummary(tc.ConnectionState())
			if asked {
				res.TLS += " certificate requested" + cas
			}
		}
		conn = tc
	}
	if req.H2 {
		doH2(conn, useTLS && !req.Plain, req, subst, backendSeen, streamDone, &res)
		return res
	}
	if req.Corked && req.HangUp && conn == raw {
		cork(raw)
	}
	for i, part := range req.Send {
		if i > 0 && req.Pause > 0 {
			time.Sleep(req.Pause)
		}
		if _, err := io.WriteString(conn, subst(part)); err != nil {
			res.Error = "write: " + errText(err)
			return res
		}
	}
	if req.HangUp || req.HangUpAfter > 0 {
		awaitBackend(req, backendSeen)
		time.Sleep(req.HangUpAfter)
		res.End = "client hung up"
		return res
	}
	time.Sleep(req.ReadAfter)
	if req.ReadFor > 0 {
		conn.SetReadDeadline(time.Now().Add(req.ReadFor))
	}
	method, _, _ := strings.Cut(req.Send[0], " ")
	br := bufio.NewReader(conn)
	n := req.Responses
	if n == 0 {
		n = 1
	}
	status := 0
	var last []string
	for i := 0; i < n; i++ {
		lines, st, err := readResponseShaped(br, method, req.ImageShape)
		res.Responses = append(res.Responses, lines...)
		if err != nil && req.ReadFor > 0 && strings.HasSuffix(err.Error(), ": timeout") { // errText's word for the deadline
			res.Responses = res.Responses[:len(res.Responses)-len(lines)] // the whole ones stay
			res.End = fmt.Sprintf("responses still coming after %v", req.ReadFor)
			return res
		}
		if err != nil {
			res.End = err.Error()
			return res
		}
		status, last = st, lines
		if st >= 100 && st < 200 && st != 101 {
			i-- // an interim response (100 Continue) comes before the real one
		}
	}
	if status == 101 && len(req.WS) > 0 {
		for _, f := range req.WS {
			if err := WriteFrame(conn, f, mask); err != nil {
				res.Frames = append(res.Frames, "write: "+errText(err))
				break
			}
			got, err := ReadFrame(br)
			if err != nil {
				res.Frames = append(res.Frames, "read: "+errText(err))
				break
			}
			res.Frames = append(res.Frames, got.String())
		}
	}
	if req.SkipEnd {
		res.End = "not observed"
		return res
	}
	window := closeWindow(strings.Join(req.Send, ""), last)
	if req.AwaitClose {
		window = closingWindow
	}
	res.End = connEnd(conn, br, window)
	return res
}

// A server that keeps a connection open shows it by not closing: the wait
// for its close is short when the response says the connection persists,
// and long when the server said it would close, since a loaded machine may
// delay that close past the short wait (an oracle or a gonginx seen
// "kept open" after a "Connection: close" response, its close 250 ms late).
const (
	keptOpenWindow = 250 * time.Millisecond
	closingWindow  = 3 * time.Second
)

// closeWindow is how long to wait for the close after the response whose
// lines (status line and headers first) last are, to request sent.
func closeWindow(sent string, last []string) time.Duration {
	line, _, _ := strings.Cut(sent, "\r\n")
	var headers []string
	for i, l := range last {
		if i == 0 {
			continue
		}
		if l == "" {
			break
		}
		headers = append(headers, l)
	}
	conn := headerValue(headers, "Connection")
	persists := hasToken(conn, "keep-alive") || hasToken(conn, "upgrade") ||
		(strings.HasSuffix(line, " HTTP/1.1") && !hasToken(conn, "close"))
	if persists {
		return keptOpenWindow
	}
	return closingWindow
}

// awaitBackend waits until the backend has seen what req awaits, boundedly:
// a proxy that never forwards it shows in the backend's view. Frames are
// not awaited once the requests came and no connection to the backend is
// open: the proxy made no tunnel (the article's rewrite config passes no
// Upgrade), and none can come; the wait was the whole bound (15 s).
func awaitBackend(req Request, backendSeen func() (int, int, bool)) {
	for deadline := time.Now().Add(requestTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		heads, frames, open := backendSeen()
		if heads >= req.AwaitRequests && (frames >= req.AwaitFrames || !open) {
			return
		}
	}
}

// tlsSummary is what a client sees of a handshake.
func tlsSummary(st tls.ConnectionState) string {
	subject := ""
	if len(st.PeerCertificates) > 0 {
		subject = st.PeerCertificates[0].Subject.String()
	}
	return fmt.Sprintf("%s %s alpn=%q cert=%s ocsp=%d resumed=%v", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite),
		st.NegotiatedProtocol, subject, len(st.OCSPResponse), st.DidResume)
}

// primeSession runs req once on its own connection, reading to the end, so
// that cfg's session cache holds what the server gave.
func primeSession(addr string, cfg *tls.Config, req Request, subst func(string) string) error {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: requestTimeout}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(requestTimeout))
	for _, part := range req.Send {
		if _, err := io.WriteString(c, subst(part)); err != nil {
			return err
		}
	}
	_, err = io.Copy(io.Discard, c)
	return err
}

// connEnd tells whether the server closed the connection within window after the exchange or
// kept it open.
func connEnd(conn net.Conn, br *bufio.Reader, window time.Duration) string {
	conn.SetReadDeadline(time.Now().Add(window))
	b, err := br.ReadByte()
	if err == nil {
		rest, _ := br.Peek(br.Buffered())
		return fmt.Sprintf("extra bytes after response: %q", append([]byte{b}, rest...))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "kept open"
	}
	return "closed: " + errText(err)
}

// errText maps errors whose wording depends on timing or addresses to stable words.
func errText(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	}
	var rec tls.RecordHeaderError
	if errors.As(err, &rec) {
		return "not a TLS record"
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return "alert: " + alert.Error()
	}
	return err.Error()
}

// readResponse reads one response: status line, header lines verbatim, and a body summary.
func readResponse(br *bufio.Reader, method string) ([]string, int, error) {
	return readResponseShaped(br, method, false)
}

// readResponseShaped is readResponse, with image bodies summarized by
// their shape when imageShape.
func readResponseShaped(br *bufio.Reader, method string, imageShape bool) ([]string, int, error) {
	line, err := readLine(br)
	if err != nil {
		if line == "" {
			return nil, 0, fmt.Errorf("no response: %s", errText(err))
		}
		return []string{line}, 0, fmt.Errorf("EOF in status line: %s", errText(err))
	}
	lines := []string{line}
	status := 0
	if f := strings.Fields(line); len(f) >= 2 {
		status, _ = strconv.Atoi(f[1])
	}
	var headers []string
	for {
		h, err := readLine(br)
		if err != nil {
			return append(lines, headers...), status, fmt.Errorf("EOF in headers: %s", errText(err))
		}
		if h == "" {
			break
		}
		headers = append(headers, h)
	}
	lines = append(lines, headers...)
	lines = append(lines, "")
	noBody := method == "HEAD" || status == 101 || status == 204 || status == 304 || (status >= 100 && status < 200)
	if noBody {
		shapeHead(lines, headers, method, imageShape)
		return lines, status, nil
	}
	var body []byte
	var trailers []string
	var bodyErr error
	switch te, cl := headerValue(headers, "Transfer-Encoding"), headerValue(headers, "Content-Length"); {
	case hasToken(te, "chunked"):
		body, trailers, bodyErr = readChunked(br)
	case cl != "":
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > maxFrame {
			return lines, status, fmt.Errorf("bad Content-Length %q", cl)
		}
		body = make([]byte, n)
		got, err := io.ReadFull(br, body)
		body = body[:got]
		if err != nil {
			bodyErr = fmt.Errorf("body cut at %d of %d bytes: %s", got, n, errText(err))
		}
	default:
		body, err = io.ReadAll(io.LimitReader(br, maxFrame))
		if err != nil {
			bodyErr = fmt.Errorf("body until close: %s", errText(err))
		}
	}
	if sum, ok := shapeImage(lines, headers, body, imageShape); ok {
		lines = append(lines, sum)
	} else {
		lines = append(lines, summarizeCoded(body, headerValue(headers, "Content-Encoding")))
	}
	for _, t := range trailers {
		lines = append(lines, "trailer: "+t)
	}
	return lines, status, bodyErr
}

// readChunked reads a chunked body and the trailer lines after it.
func readChunked(br *bufio.Reader) ([]byte, []string, error) {
	var trailers []string
	var body []byte
	for {
		line, err := readLine(br)
		if err != nil {
			return body, trailers, fmt.Errorf("chunked body cut after %d bytes: %s", len(body), errText(err))
		}
		sizeText, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		size, err := strconv.ParseInt(sizeText, 16, 32)
		if err != nil || size < 0 || size > maxFrame {
			return body, trailers, fmt.Errorf("bad chunk size %q", line)
		}
		if size == 0 {
			for {
				t, err := readLine(br)
				if err != nil {
					return body, trailers, fmt.Errorf("chunked trailer: %s", errText(err))
				}
				if t == "" {
					return body, trailers, nil
				}
				trailers = append(trailers, t)
			}
		}
		chunk := make([]byte, size)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return body, trailers, fmt.Errorf("chunked body cut after %d bytes: %s", len(body), errText(err))
		}
		body = append(body, chunk...)
		if _, err := readLine(br); err != nil {
			return body, trailers, fmt.Errorf("chunk end: %s", errText(err))
		}
	}
}

// summarizeCoded summarizes a gzip body by what it inflates to: two
// compressors need not write the same bytes for the same text.
func summarizeCoded(body []byte, coding string) string {
	if !strings.EqualFold(coding, "gzip") || len(body) == 0 {
		return summarize(body)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return "not gzip: " + summarize(body)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		return "gzip cut (" + err.Error() + "): " + summarize(plain)
	}
	return "gunzipped: " + summarize(plain)
}

// summarize keeps readable bodies verbatim and replaces big or binary ones by length and hash.
func summarize(body []byte) string {
	if len(body) <= 4096 && utf8.Valid(body) {
		return string(body)
	}
	sum := sha256.Sum256(body)
	return fmt.Sprintf("<%d bytes sha256=%s>", len(body), hex.EncodeToString(sum[:8]))
}
