package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Run sends GET /small (100 B through the proxy) over conns TLS
// connections that negotiated h2 by ALPN, each keeping streams requests
// in flight, for d: requests/s, CPU µs per request and the 99th
// percentile of a request's latency (HEADERS sent to the stream's end
// read). A connection the server ends with GOAWAY (http2_max_requests)
// is replaced, as a browser replaces it.
func h2Run(s *server, conns, streams int, d time.Duration) ([]float64, error) {
	var requests atomic.Int64
	var firstErr firstError
	var lat latencies
	cpu0, start := s.cpu(), time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var took []time.Duration
			defer func() { lat.merge(took) }()
			for time.Now().Before(deadline) {
				n, err := h2Conn(s, streams, deadline, 0, &took)
				requests.Add(n)
				if err != nil {
					firstErr.set(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := firstErr.get(); err != nil {
		return nil, err
	}
	elapsed, cpu := time.Since(start).Seconds(), s.cpu()-cpu0
	n := float64(requests.Load())
	units = n
	return []float64{n / elapsed, float64(cpu.Microseconds()) / n, lat.p99()}, nil
}

// h2Conn runs one connection until deadline, the server's GOAWAY or,
// with max > 0, max requests sent, and returns how many responses it
// completed; took gets how long each did.
func h2Conn(s *server, streams int, deadline time.Time, max int64, took *[]time.Duration) (int64, error) {
	tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.tls,
		&tls.Config{InsecureSkipVerify: true, ServerName: "bench.test", NextProtos: []string{"h2"}})
	if err != nil {
		return 0, err
	}
	defer tc.Close()
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		return 0, errors.New("ALPN gave " + p + ", not h2")
	}
	tc.SetDeadline(deadline.Add(10 * time.Second))
	bw := bufio.NewWriterSize(tc, 32<<10)
	br := bufio.NewReaderSize(tc, 64<<10)
	io.WriteString(bw, http2.ClientPreface)
	fr := http2.NewFramer(bw, br)
	fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0})
	const connWindow = 1 << 30
	fr.WriteWindowUpdate(0, connWindow-65535)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	dec := hpack.NewDecoder(4096, nil)
	id, inflight, goaway := uint32(1), 0, false
	var done, sent int64
	var unacked uint32
	sentAt := map[uint32]time.Time{}
	send := func() error {
		sentAt[id] = time.Now()
		block.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/small"},
			{":authority", "bench.test"}, {"user-agent", "gonginx-bench"}, {"accept", "*/*"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		inflight++
		sent++
		err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
		id += 2
		return err
	}
	for i := 0; i < streams && (max == 0 || sent < max); i++ {
		if err := send(); err != nil {
			return done, err
		}
	}
	for inflight > 0 {
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return done, err
			}
		}
		f, err := fr.ReadFrame()
		if err != nil {
			return done, err
		}
		ended := false
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				return done, err
			}
			if len(fields) == 0 || fields[0].Name != ":status" || fields[0].Value != "200" {
				return done, errors.New("h2 response head not 200")
			}
			ended = f.StreamEnded()
		case *http2.DataFrame:
			unacked += f.Length
			if unacked > connWindow/2 {
				fr.WriteWindowUpdate(0, unacked)
				unacked = 0
			}
			ended = f.StreamEnded()
		case *http2.GoAwayFrame:
			// Streams past its last will not be answered.
			goaway = true
			if last := id - 2; last > f.LastStreamID {
				inflight -= int((last - f.LastStreamID) / 2)
			}
		case *http2.RSTStreamFrame:
			return done, errors.New("stream reset: " + f.ErrCode.String())
		case *http2.PingFrame:
			if !f.IsAck() {
				fr.WritePing(true, f.Data)
			}
		}
		if !ended {
			continue
		}
		done++
		inflight--
		sid := f.Header().StreamID
		*took = append(*took, time.Since(sentAt[sid]))
		delete(sentAt, sid)
		if !goaway && time.Now().Before(deadline) && (max == 0 || sent < max) {
			if err := send(); err != nil {
				return done, err
			}
		}
	}
	return done, nil
}

// h2Idle opens an HTTP/2 connection (TLS, ALPN h2), makes one request
// on it and leaves it open: the idle-h2 row's connection.
func h2Idle(s *server) (net.Conn, error) {
	tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.tls,
		&tls.Config{InsecureSkipVerify: true, ServerName: "bench.test", NextProtos: []string{"h2"}})
	if err != nil {
		return nil, err
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		tc.Close()
		return nil, errors.New("ALPN gave " + p + ", not h2")
	}
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(tc, http2.ClientPreface)
	fr := http2.NewFramer(tc, tc)
	fr.WriteSettings()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/small"}, {":authority", "bench.test"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			tc.Close()
			return nil, err
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			fr.WriteSettingsAck()
		}
		if f.Header().StreamID == 1 && f.Header().Flags.Has(http2.FlagDataEndStream) {
			return tc, nil
		}
	}
}
