package upstream

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2cBackend is a gRPC-like HTTP/2 server with prior knowledge (h2c),
// Go's own: it answers with what it received (method, path, authority,
// headers, the body's length) and trailers, so the tests see what our
// client sent.
type h2cBackend struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns int
}

func newH2CBackend(t *testing.T) *h2cBackend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &h2cBackend{ln: ln}
	srv := &http2.Server{}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns++
			b.mu.Unlock()
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				srv.ServeConn(nc, &http2.ServeConnOpts{Handler: http.HandlerFunc(grpcEcho)})
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); b.wg.Wait() })
	return b
}

func grpcEcho(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch r.URL.Path {
	case "/status/404":
		w.WriteHeader(404)
		return
	case "/big":
		w.Header().Set("Content-Type", "application/grpc")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		w.Write([]byte(strings.Repeat("0123456789abcdef", 20000)))
		w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
		return
	case "/length":
		w.Header().Set("Content-Length", "5")
		w.Write([]byte("fixed"))
		return
	}
	var names []string
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s %s host=%s\n", r.Proto, r.Method, r.RequestURI, r.Host)
	for _, k := range names {
		fmt.Fprintf(&sb, "%s: %s\n", k, strings.Join(r.Header[k], ","))
	}
	fmt.Fprintf(&sb, "body=%d %.10s\n", len(body), body)
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Server", "hidden")
	w.Header().Set("X-Shown", "yes")
	w.WriteHeader(200)
	w.(http.Flusher).Flush() // no Content-Length: a stream
	w.Write([]byte(sb.String()))
	w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
	w.Header().Set(http.TrailerPrefix+"Grpc-Message", "ok")
}

func TestGRPC(t *testing.T) {
	be := newH2CBackend(t)
	addr := be.ln.Addr().String()
	for _, tc := range []struct {
		name, http, conf, request, want string
	}{{
		name:    "unary call: pseudo headers, headers, body, trailers",
		conf:    `grpc_pass grpc://` + addr + `; grpc_set_header X-Set set;`,
		request: "POST /pkg.Svc/Call HTTP/1.1\r\nHost: h\r\nContent-Type: application/grpc\r\nTE: trailers\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
		want: "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nx-shown: yes\r\n\r\n" +
			chunk("HTTP/2.0 POST /pkg.Svc/Call host="+addr+"\nContent-Length: 5\nContent-Type: application/grpc\nTe: trailers\nX-Set: set\nbody=5 hello\n") + "0\r\ngrpc-message: ok\r\ngrpc-status: 0\r\n\r\n",
	}, {
		name:    "GET of the root, no TE",
		conf:    `grpc_pass ` + addr + `;`,
		request: "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want: "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nx-shown: yes\r\n\r\n" +
			chunk("HTTP/2.0 GET / host="+addr+"\nbody=0 \n") + "0\r\ngrpc-message: ok\r\ngrpc-status: 0\r\n\r\n",
	}, {
		name:    "grpc_set_header Host replaces :authority",
		conf:    `grpc_pass ` + addr + `; grpc_set_header Host example.com;`,
		request: "GET /a?b=c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want: "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nx-shown: yes\r\n\r\n" +
			chunk("HTTP/2.0 GET /a?b=c host=example.com\nbody=0 \n") + "0\r\ngrpc-message: ok\r\ngrpc-status: 0\r\n\r\n",
	}, {
		name:    "a body larger than the windows, chunked from the client",
		conf:    `grpc_pass ` + addr + `;`,
		request: "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + "30d40\r\n" + strings.Repeat("x", 200000) + "\r\n0\r\n\r\n",
		want: "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nx-shown: yes\r\n\r\n" +
			chunk("HTTP/2.0 POST /up host="+addr+"\nbody=200000 xxxxxxxxxx\n") + "0\r\ngrpc-message: ok\r\ngrpc-status: 0\r\n\r\n",
	}, {
		// Names of the lengths of set ones (Keep-Alive, TE, X-Set are
		// set; User-Agent is Connection's length) and past them.
		name:    "the client's headers beside the set ones",
		conf:    `grpc_pass ` + addr + `; grpc_set_header X-Set set;`,
		request: "GET /h HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nKeep-Alive: 5\r\nTE: gzip\r\nX-Set: client\r\nX-A-Header-Name-Longer-Than-Sixty-Three-Bytes-To-Take-The-Shared-Length-Bit: l\r\nConnection: close\r\n\r\n",
		want: "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nx-shown: yes\r\n\r\n" +
			chunk("HTTP/2.0 GET /h host="+addr+"\nUser-Agent: u\nX-A-Header-Name-Longer-Than-Sixty-Three-Bytes-To-Take-The-Shared-Length-Bit: l\nX-Set: set\nbody=0 \n") + "0\r\ngrpc-message: ok\r\ngrpc-status: 0\r\n\r\n",
	}, {
		name:    "a length from the backend",
		conf:    `grpc_pass ` + addr + `;`,
		request: "GET /length HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		want:    "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nDate: D\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfixed",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ps := newProxyServer(t, tc.http, tc.conf, "/")
			got := normalize(roundTrip(t, ps.ln.Addr().String(), tc.request))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// A big response, and keepalive: the second call reuses the connection
// (a new stream on it).
func TestGRPCKeepaliveBig(t *testing.T) {
	be := newH2CBackend(t)
	ps := newProxyServer(t, "upstream g { server "+be.ln.Addr().String()+"; keepalive 2; }", `grpc_pass grpc://g;`, "/")
	ps.served = make(chan int, 1)
	for i := 0; i < 3; i++ {
		got := roundTrip(t, ps.ln.Addr().String(), "GET /big HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		if !strings.HasPrefix(got, "HTTP/1.1 200") || !strings.HasSuffix(got, "0\r\ngrpc-status: 0\r\n\r\n") ||
			strings.Count(got, "0123456789abcdef") != 20000 {
			t.Fatalf("call %d: %.200q ... %q", i, got, got[max(0, len(got)-60):])
		}
		if status := <-ps.served; status != 0 {
			t.Fatalf("call %d: status %d", i, status)
		}
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.conns != 1 {
		t.Errorf("backend connections: %d, want 1", be.conns)
	}
}

// chunk frames b as one chunk.
func chunk(b string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(b), b) }

// FuzzGRPCHeaderBlock feeds a backend's header block through the HPACK
// decoder: no panic, fields within the arena, a dynamic table within its
// size, the same fields from Huffman strings seen before.
func FuzzGRPCHeaderBlock(f *testing.F) {
	f.Add([]byte{0x88, 0x5f, 0x8b, 0x1d, 0x75, 0xd0, 0x62, 0x0d, 0x26, 0x3d, 0x4c, 0x74, 0x41, 0xea, 0xff})
	f.Add([]byte{0x40, 0x01, 'a', 0x01, 'b', 0xbe, 0x20})
	f.Add([]byte{0x00, 0x03, 'x', '-', 'y', 0x81, 0xff})
	f.Fuzz(func(t *testing.T, block []byte) {
		d := hpackDecoder{maxSize: 4096}
		g := &grpcStream{}
		var first []string
		for round := range 2 {
			g.fields, g.arena = g.fields[:0], g.arena[:0]
			if d.decode(block, g) != nil {
				return
			}
			var got []string
			for i := range g.fields {
				name, value := g.field(i)
				got = append(got, string(name)+": "+string(value))
			}
			// The table grew by the first pass: only a block that adds
			// nothing decodes the same again, from seen strings.
			if round == 0 {
				first = got
			} else if d.size == 0 && len(d.table) == 0 {
				if diff := cmp.Diff(first, got); diff != "" {
					t.Fatalf("decoded again (-first +second):\n%s", diff)
				}
			}
			if d.size > d.maxSize {
				t.Fatalf("table size %d over %d", d.size, d.maxSize)
			}
		}
	})
}

// TestGRPCHeaderBlockHuffman: a backend's Huffman-coded strings decode
// as nginx's ngx_http_huff_decode takes them: padding of EOS bits of any
// length short of EOS itself, nothing else.
func TestGRPCHeaderBlockHuffman(t *testing.T) {
	grpc := hpack.AppendHuffmanString(nil, "application/grpc") // 88 bits: no padding
	// "a" is 00011, padded with 111.
	// lit is a literal without indexing, name index 31 (content-type).
	lit := func(huff []byte) []byte { return append([]byte{0x0f, 0x10, 0x80 | byte(len(huff))}, huff...) }
	tests := []struct {
		name  string
		block []byte
		want  []string // nil: the block is refused
	}{
		{"no padding", lit(grpc), []string{"content-type: application/grpc"}},
		{"padded to the byte", lit([]byte{0x1f}), []string{"content-type: a"}},
		{"a whole byte of padding more", lit(append(slices.Clone(grpc), 0xff)), []string{"content-type: application/grpc"}},
		{"two bytes of padding more", lit(append(slices.Clone(grpc), 0xff, 0xff)), []string{"content-type: application/grpc"}},
		{"padding not ones", lit([]byte{0x1e}), nil},
		{"a byte of padding not ones", lit([]byte{0x1f, 0xfe}), nil},
		{"EOS", lit([]byte{0xff, 0xff, 0xff, 0xfc}), nil},
		{"plain after a refused one's arena", append([]byte{0x0f, 0x10, 0x01, 'x'}, lit(grpc)...), []string{"content-type: x", "content-type: application/grpc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Twice: the second decodes strings seen by the first.
			d := hpackDecoder{maxSize: 4096}
			for round := 0; round < 2; round++ {
				g := &grpcStream{}
				var got []string
				if err := d.decode(tc.block, g); err == nil {
					got = []string{}
					for i := range g.fields {
						name, value := g.field(i)
						got = append(got, string(name)+": "+string(value))
					}
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("round %d: fields (-want +got):\n%s", round, diff)
				}
			}
		})
	}
}

// FuzzGRPCSeenBlocks: blocks decoded one after another through the kept
// blocks (decodeSeen) give the fields and the table that decoding each
// afresh gives, blocks sent again included.
func FuzzGRPCSeenBlocks(f *testing.F) {
	f.Add([]byte{0x88, 0x00, 0x01, 'a', 0x01, 'b'}, []byte{0x40, 0x01, 'c', 0x01, 'd', 0xbe}, []byte{0x20, 0x88})
	f.Add([]byte{0x88, 0x5f, 0x8b, 0x1d, 0x75, 0xd0, 0x62, 0x0d, 0x26, 0x3d, 0x4c, 0x74, 0x41, 0xea, 0xff}, []byte{0x00, 0x01, 'x', 0x00}, []byte{0xbe})
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		seen, fresh := hpackDecoder{maxSize: 4096}, hpackDecoder{maxSize: 4096}
		gs, gf := &grpcStream{}, &grpcStream{}
		for i, block := range [][]byte{a, b, a, b, c, a, c, b, a} {
			gs.fields, gs.arena = gs.fields[:0], gs.arena[:0]
			gf.fields, gf.arena = gf.fields[:0], gf.arena[:0]
			es, ef := seen.decodeSeen(block, gs), fresh.decode(block, gf)
			if (es == nil) != (ef == nil) {
				t.Fatalf("block %d: decodeSeen %v, decode %v", i, es, ef)
			}
			if ef != nil {
				return
			}
			var got, want []string
			for j := range gs.fields {
				name, value := gs.field(j)
				got = append(got, string(name)+": "+string(value))
			}
			for j := range gf.fields {
				name, value := gf.field(j)
				want = append(want, string(name)+": "+string(value))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("block %d (-decode +decodeSeen):\n%s", i, diff)
			}
			if diff := cmp.Diff(fresh.table, seen.table); diff != "" || fresh.size != seen.size {
				t.Fatalf("block %d: table (-decode +decodeSeen):\n%s", i, diff)
			}
		}
	})
}
