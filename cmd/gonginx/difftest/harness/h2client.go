package harness

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// doH2 runs each part of req.Send as one HTTP/2 stream on conn, one after
// another (cleartext with prior knowledge, or TLS whose ALPN said "h2").
// A part is a request in HTTP/1 form: the request line gives :method and
// :path, Host gives :authority, the other headers go lower-cased, and what
// follows the empty line is the body (DATA). A part whose first line
// starts with ':' lists its fields as sent, pseudo-headers included.
// Each response reads "HTTP/2 STATUS", its fields in order, "", the body;
// a reset stream reads "RST_STREAM CODE".
func doH2(conn net.Conn, tls bool, req Request, subst func(string) string, backendSeen func() (int, int, bool),
	streamDone func(stream int), res *Result) {
	bw := bufio.NewWriter(conn)
	fr := http2.NewFramer(bw, bufio.NewReader(conn))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = 1 << 20
	io.WriteString(bw, http2.ClientPreface)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
	fr.WriteWindowUpdate(0, 1<<30)
	if err := bw.Flush(); err != nil {
		res.Error = "write: " + errText(err)
		return
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	scheme := "http"
	if tls {
		scheme = "https"
	}
	for i, part := range req.Send {
		if i > 0 && req.Pause > 0 {
			time.Sleep(req.Pause)
		}
		id := uint32(2*i + 1)
		fields, body := h2Fields(subst(part), scheme)
		block.Reset()
		method := ""
		for _, f := range fields {
			enc.WriteField(f)
			if f.Name == ":method" {
				method = f.Value
			}
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(),
			EndStream: body == "", EndHeaders: true})
		if body != "" {
			fr.WriteData(id, true, []byte(body))
		}
		if err := bw.Flush(); err != nil {
			res.Error = "write: " + errText(err)
			return
		}
		if req.HangUp || req.HangUpAfter > 0 {
			awaitBackend(req, backendSeen)
			time.Sleep(req.HangUpAfter)
			res.End = "client hung up"
			return
		}
		if req.CancelAfter > 0 {
			awaitBackend(req, backendSeen)
			time.Sleep(req.CancelAfter)
			fr.WriteRSTStream(id, http2.ErrCodeCancel)
			if err := bw.Flush(); err != nil {
				res.Error = "write: " + errText(err)
				return
			}
			res.Responses = append(res.Responses, "client canceled stream")
			if streamDone != nil {
				streamDone(i)
			}
			continue
		}
		lines, end := readH2Response(fr, bw, id, method)
		res.Responses = append(res.Responses, lines...)
		if end != "" {
			res.End = end
			return
		}
		if streamDone != nil {
			streamDone(i)
		}
	}
	if req.SkipEnd {
		res.End = "not observed"
		return
	}
	conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				res.End = "kept open"
			} else {
				res.End = "closed: " + errText(err)
			}
			return
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			res.End = "GOAWAY " + ga.ErrCode.String()
			return
		}
	}
}

// h2Fields turns a request in HTTP/1 form into HTTP/2 fields and a body.
func h2Fields(part, scheme string) ([]hpack.HeaderField, string) {
	head, body, _ := strings.Cut(part, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	var fields []hpack.HeaderField
	if strings.HasPrefix(lines[0], ":") {
		for _, l := range lines {
			name, value, _ := strings.Cut(l[1:], ":")
			fields = append(fields, hpack.HeaderField{Name: l[:1] + name, Value: strings.TrimPrefix(value, " ")})
		}
		return fields, body
	}
	f := strings.Fields(lines[0])
	method, path := "GET", "/"
	if len(f) >= 2 {
		method, path = f[0], f[1]
	}
	fields = append(fields, hpack.HeaderField{Name: ":method", Value: method},
		hpack.HeaderField{Name: ":scheme", Value: scheme}, hpack.HeaderField{Name: ":path", Value: path})
	var rest []hpack.HeaderField
	for _, l := range lines[1:] {
		name, value, _ := strings.Cut(l, ":")
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if name == "host" {
			fields = append(fields, hpack.HeaderField{Name: ":authority", Value: value})
			continue
		}
		rest = append(rest, hpack.HeaderField{Name: name, Value: value})
	}
	return append(fields, rest...), body
}

// readH2Response reads frames until stream id ends; end is set when the
// connection ended (GOAWAY, close) first.
func readH2Response(fr *http2.Framer, bw *bufio.Writer, id uint32, method string) (lines []string, end string) {
	var body []byte
	var headers []string
	got := false
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return append(lines, "no response: timeout"), "timeout"
			}
			return lines, "closed: " + errText(err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
				bw.Flush()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				fr.WritePing(true, f.Data)
				bw.Flush()
			}
		case *http2.GoAwayFrame:
			return lines, "GOAWAY " + f.ErrCode.String()
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return append(lines, "RST_STREAM "+f.ErrCode.String()), ""
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != id {
				continue
			}
			if !got {
				got = true
				lines = append(lines, "HTTP/2 "+f.PseudoValue("status"))
				for _, hf := range f.RegularFields() {
					headers = append(headers, hf.Name+": "+hf.Value)
				}
				lines = append(append(lines, headers...), "")
			} else {
				if len(body) > 0 || method != "HEAD" {
					lines = append(lines, summarizeCoded(body, headerValue(headers, "content-encoding")))
					body = nil
				}
				for _, hf := range f.RegularFields() {
					lines = append(lines, "trailer: "+hf.Name+": "+hf.Value)
				}
			}
			if f.StreamEnded() && len(lines) > 0 && lines[len(lines)-1] == "" {
				// The head ended the stream: no DATA or trailers frame
				// (a gRPC trailers-only response).
				return append(lines, "(END_STREAM with the head)"), ""
			}
			if f.StreamEnded() {
				if body != nil || method != "HEAD" && !strings.HasPrefix(lines[len(lines)-1], "trailer: ") {
					lines = append(lines, summarizeCoded(body, headerValue(headers, "content-encoding")))
				}
				return lines, ""
			}
		case *http2.DataFrame:
			if f.StreamID != id {
				continue
			}
			body = append(body, f.Data()...)
			if f.StreamEnded() {
				return append(lines, summarizeCoded(body, headerValue(headers, "content-encoding"))), ""
			}
		default:
			_ = fmt.Sprint(f)
		}
	}
}
