package resolver

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// record is one answer record of a fake server's reply.
type record struct {
	typ   uint16
	ttl   uint32
	addr  string // A or AAAA
	cname string
}

// reply is what the fake server answers to a question.
type reply struct {
	code      int
	records   []record
	truncate  bool // over UDP: TC set, no records
	silent    bool
	onlyFirst bool // answer the first query only, SERVFAIL the rest
}

// fakeDNS answers UDP and TCP queries on one port from a table keyed by
// "name type", counting the queries per key.
type fakeDNS struct {
	addr    netip.AddrPort
	mu      sync.Mutex
	replies map[string]reply
	asked   map[string]int
	tcp     atomic.Int32
}

func startDNS(t *testing.T, replies map[string]reply) *fakeDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ln, err := net.Listen("tcp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDNS{addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), replies: replies, asked: map[string]int{}}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := d.answer(buf[:n], false); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d.tcp.Add(1)
			go func() {
				defer c.Close()
				var size [2]byte
				if _, err := c.Read(size[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(size[:]))
				if _, err := c.Read(q); err != nil {
					return
				}
				out := d.answer(q, true)
				c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
			}()
		}
	}()
	return d
}

func (d *fakeDNS) answer(q []byte, tcp bool) []byte {
	name, off, err := readName(q, 12)
	if err != nil {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off:])
	key := name + " " + map[uint16]string{typeA: "A", typeAAAA: "AAAA"}[qtype]
	d.mu.Lock()
	r := d.replies[key]
	d.asked[key]++
	n := d.asked[key]
	d.mu.Unlock()
	if r.silent {
		return nil
	}
	if r.onlyFirst && n > 1 {
		r = reply{code: codeServFail}
	}
	flags := uint16(flagResponse | flagRecursion | 0x80 | r.code)
	records := r.records
	if r.truncate && !tcp {
		flags |= flagTruncated
		records = nil
	}
	out := append([]byte(nil), q[:off+4]...)
	binary.BigEndian.PutUint16(out[2:], flags)
	binary.BigEndian.PutUint16(out[6:], uint16(len(records)))
	for _, rec := range records {
		out = append(out, 0xc0, 12) // the question's name
		out = binary.BigEndian.AppendUint16(out, rec.typ)
		out = binary.BigEndian.AppendUint16(out, 1)
		out = binary.BigEndian.AppendUint32(out, rec.ttl)
		var data []byte
		if rec.typ == typeCNAME {
			data = appendQuery(nil, 0, rec.cname, 0)[12 : 12+len(rec.cname)+2]
		} else {
			data = netip.MustParseAddr(rec.addr).AsSlice()
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(data)))
		out = append(out, data...)
	}
	return out
}

func (d *fakeDNS) count(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.asked[key]
}

func a(ip string, ttl uint32) record  { return record{typ: typeA, ttl: ttl, addr: ip} }
func cn(to string, ttl uint32) record { return record{typ: typeCNAME, ttl: ttl, cname: to} }

func TestResolve(t *testing.T) {
	d := startDNS(t, map[string]reply{
		"a.example.net A":        {records: []record{a("127.0.0.201", 60), a("127.0.0.202", 60)}},
		"a.example.net AAAA":     {records: []record{{typ: typeAAAA, ttl: 60, addr: "::1"}}},
		"nx.example.net A":       {code: codeNXDomain},
		"nx.example.net AAAA":    {code: codeNXDomain},
		"sf.example.net A":       {code: codeServFail},
		"sf.example.net AAAA":    {},
		"empty.example.net A":    {},
		"empty.example.net AAAA": {},
		"six.example.net A":      {},
		"six.example.net AAAA":   {records: []record{{typ: typeAAAA, ttl: 60, addr: "::2"}}},
		"cn.example.net A":       {records: []record{cn("a.example.net", 60)}},
		"cn.example.net AAAA":    {records: []record{cn("a.example.net", 60)}},
		"cna.example.net A":      {records: []record{cn("x.example.net", 60), a("127.0.0.203", 60)}},
		"cna.example.net AAAA":   {},
		"tc.example.net A":       {truncate: true, records: []record{a("127.0.0.204", 60)}},
		"tc.example.net AAAA":    {},
		"loop.example.net A":     {records: []record{cn("loop.example.net", 60)}},
		"loop.example.net AAAA":  {},
	})
	r := New(Config{Servers: []netip.AddrPort{d.addr}, Timeout: 2 * time.Second})
	tests := []struct{ name, want, err string }{
		{"a.example.net", "127.0.0.201 127.0.0.202 ::1", ""},
		{"nx.example.net", "", "nx.example.net could not be resolved (3: Host not found)"},
		{"sf.example.net", "", "sf.example.net could not be resolved (2: Server failure)"},
		{"empty.example.net", "", "empty.example.net could not be resolved (3: Host not found)"},
		{"six.example.net", "::2", ""},
		{"cn.example.net", "127.0.0.201 127.0.0.202 ::1", ""},
		{"cna.example.net", "127.0.0.203", ""},
		{"tc.example.net", "127.0.0.204", ""},
		{"Loop.example.net", "", "Loop.example.net could not be resolved (3: Host not found)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addrs, err := r.Resolve(tt.name)
			// Cached answers come rotated: compare the sets.
			slices.SortFunc(addrs, func(x, y netip.Addr) int { return x.Compare(y) })
			got, gotErr := "", ""
			for i, ad := range addrs {
				if i > 0 {
					got += " "
				}
				got += ad.String()
			}
			if err != nil {
				gotErr = err.Error()
			}
			if d := cmp.Diff(tt.want+"|"+tt.err, got+"|"+gotErr); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	if d.tcp.Load() != 1 {
		t.Errorf("TCP queries: %d, want 1 (the truncated answer)", d.tcp.Load())
	}
}

func TestCacheTTLAndCase(t *testing.T) {
	d := startDNS(t, map[string]reply{
		"case.example.net A":  {onlyFirst: true, records: []record{a("127.0.0.1", 60)}},
		"zero.example.net A":  {records: []record{a("127.0.0.2", 0)}},
		"valid.example.net A": {records: []record{a("127.0.0.3", 0)}},
	})
	r := New(Config{Servers: []netip.AddrPort{d.addr}, Timeout: time.Second, NoIPv6: true})
	for _, name := range []string{"case.example.net", "CASE.example.net", "Case.Example.Net."} {
		if _, err := r.Resolve(name); err != nil {
			t.Errorf("%s: %v (the second query SERVFAILs: it must come from the cache)", name, err)
		}
	}
	r.Resolve("zero.example.net")
	r.Resolve("zero.example.net")
	if n := d.count("zero.example.net A"); n != 2 {
		t.Errorf("TTL 0 answer asked %d times, want 2 (not cached)", n)
	}
	rv := New(Config{Servers: []netip.AddrPort{d.addr}, Timeout: time.Second, NoIPv6: true, Valid: time.Minute})
	rv.Resolve("valid.example.net")
	rv.Resolve("valid.example.net")
	if n := d.count("valid.example.net A"); n != 1 {
		t.Errorf("valid= answer asked %d times, want 1", n)
	}
	if n := d.count("case.example.net AAAA"); n != 0 {
		t.Errorf("ipv6=off still asked AAAA %d times", n)
	}
}

func TestTimeoutAndResend(t *testing.T) {
	silent := startDNS(t, map[string]reply{"x.example.net A": {silent: true}})
	good := startDNS(t, map[string]reply{"x.example.net A": {records: []record{a("127.0.0.9", 60)}}})

	r := New(Config{Servers: []netip.AddrPort{silent.addr}, Timeout: 300 * time.Millisecond, NoIPv6: true})
	_, err := r.Resolve("x.example.net")
	var e *Error
	if !errors.As(err, &e) || e.Code != codeTimedOut || !strings.HasSuffix(err.Error(), "(110: Operation timed out)") {
		t.Errorf("silent server: %v", err)
	}

	// The first server says nothing: the resend goes to the next one.
	r = New(Config{Servers: []netip.AddrPort{silent.addr, good.addr}, Timeout: 3 * time.Second, NoIPv6: true})
	r.resend = 200 * time.Millisecond
	addrs, err := r.Resolve("x.example.net")
	if err != nil || len(addrs) != 1 || addrs[0].String() != "127.0.0.9" {
		t.Errorf("resend to the second server: %v %v", addrs, err)
	}
}

func TestConcurrentLookupsShareOneQuery(t *testing.T) {
	d := startDNS(t, map[string]reply{"c.example.net A": {records: []record{a("127.0.0.5", 60)}}})
	r := New(Config{Servers: []netip.AddrPort{d.addr}, Timeout: time.Second, NoIPv6: true})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := r.Resolve("c.example.net"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := d.count("c.example.net A"); n != 1 {
		t.Errorf("8 concurrent lookups asked %d times, want 1", n)
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add(appendQuery(nil, 1, "a.example.net", typeA))
	resp := appendQuery(nil, 1, "a.b", typeA)
	resp[2] = 0x81
	resp[7] = 1
	resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1)
	f.Add(resp)
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, err := parseResponse(msg)
		if err == nil && a.code == 0 {
			for _, ad := range a.addrs {
				if !ad.IsValid() {
					t.Fatalf("invalid address from %x", msg)
				}
			}
		}
	})
}
