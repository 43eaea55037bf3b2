package resolver

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonginx/gonginx/upstream/resolver/dnstest"
	"github.com/google/go-cmp/cmp"
)

func a(ip string, ttl uint32) dnstest.Record {
	return dnstest.Record{Type: dnstest.A, TTL: ttl, Addr: ip}
}
func aaaa(ip string, ttl uint32) dnstest.Record {
	return dnstest.Record{Type: dnstest.AAAA, TTL: ttl, Addr: ip}
}
func cn(to string, ttl uint32) dnstest.Record {
	return dnstest.Record{Type: dnstest.CNAME, TTL: ttl, CNAME: to}
}

func TestResolve(t *testing.T) {
	d := dnstest.Start(t, map[string]dnstest.Reply{
		"a.example.net A":        {Records: []dnstest.Record{a("127.0.0.201", 60), a("127.0.0.202", 60)}},
		"a.example.net AAAA":     {Records: []dnstest.Record{aaaa("::1", 60)}},
		"nx.example.net A":       {Code: codeNXDomain},
		"nx.example.net AAAA":    {Code: codeNXDomain},
		"sf.example.net A":       {Code: codeServFail},
		"sf.example.net AAAA":    {},
		"empty.example.net A":    {},
		"empty.example.net AAAA": {},
		"six.example.net A":      {},
		"six.example.net AAAA":   {Records: []dnstest.Record{aaaa("::2", 60)}},
		"cn.example.net A":       {Records: []dnstest.Record{cn("a.example.net", 60)}},
		"cn.example.net AAAA":    {Records: []dnstest.Record{cn("a.example.net", 60)}},
		"cna.example.net A":      {Records: []dnstest.Record{cn("x.example.net", 60), a("127.0.0.203", 60)}},
		"cna.example.net AAAA":   {},
		"tc.example.net A":       {Truncate: true, Records: []dnstest.Record{a("127.0.0.204", 60)}},
		"tc.example.net AAAA":    {},
		"loop.example.net A":     {Records: []dnstest.Record{cn("loop.example.net", 60)}},
		"loop.example.net AAAA":  {},
	})
	r := New(Config{Servers: []netip.AddrPort{d.Addr}})
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
			addrs, err := r.Resolve(tt.name, 2*time.Second)
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
	if d.TCPConns() != 1 {
		t.Errorf("TCP queries: %d, want 1 (the truncated answer)", d.TCPConns())
	}
}

func TestCacheTTLAndCase(t *testing.T) {
	d := dnstest.Start(t, map[string]dnstest.Reply{
		"case.example.net A":  {OnlyFirst: true, Records: []dnstest.Record{a("127.0.0.1", 60)}},
		"zero.example.net A":  {Records: []dnstest.Record{a("127.0.0.2", 0)}},
		"valid.example.net A": {Records: []dnstest.Record{a("127.0.0.3", 0)}},
	})
	r := New(Config{Servers: []netip.AddrPort{d.Addr}, NoIPv6: true})
	for _, name := range []string{"case.example.net", "CASE.example.net", "Case.Example.Net."} {
		if _, err := r.Resolve(name, time.Second); err != nil {
			t.Errorf("%s: %v (the second query SERVFAILs: it must come from the cache)", name, err)
		}
	}
	r.Resolve("zero.example.net", time.Second)
	r.Resolve("zero.example.net", time.Second)
	if n := d.Asked("zero.example.net A"); n != 2 {
		t.Errorf("TTL 0 answer asked %d times, want 2 (not cached)", n)
	}
	rv := New(Config{Servers: []netip.AddrPort{d.Addr}, NoIPv6: true, Valid: time.Minute})
	rv.Resolve("valid.example.net", time.Second)
	rv.Resolve("valid.example.net", time.Second)
	if n := d.Asked("valid.example.net A"); n != 1 {
		t.Errorf("valid= answer asked %d times, want 1", n)
	}
	if n := d.Asked("case.example.net AAAA"); n != 0 {
		t.Errorf("ipv6=off still asked AAAA %d times", n)
	}
}

func TestTimeoutAndResend(t *testing.T) {
	silent := dnstest.Start(t, map[string]dnstest.Reply{"x.example.net A": {Silent: true}})
	good := dnstest.Start(t, map[string]dnstest.Reply{"x.example.net A": {Records: []dnstest.Record{a("127.0.0.9", 60)}}})

	r := New(Config{Servers: []netip.AddrPort{silent.Addr}, NoIPv6: true})
	_, err := r.Resolve("x.example.net", 300*time.Millisecond)
	var e *Error
	if !errors.As(err, &e) || e.Code != codeTimedOut || !strings.HasSuffix(err.Error(), "(110: Operation timed out)") {
		t.Errorf("silent server: %v", err)
	}

	// The first server says nothing: the resend goes to the next one.
	r = New(Config{Servers: []netip.AddrPort{silent.Addr, good.Addr}, NoIPv6: true})
	r.resend = 200 * time.Millisecond
	addrs, err := r.Resolve("x.example.net", 3*time.Second)
	if err != nil || len(addrs) != 1 || addrs[0].String() != "127.0.0.9" {
		t.Errorf("resend to the second server: %v %v", addrs, err)
	}
}

func TestConcurrentLookupsShareOneQuery(t *testing.T) {
	d := dnstest.Start(t, map[string]dnstest.Reply{"c.example.net A": {Records: []dnstest.Record{a("127.0.0.5", 60)}}})
	r := New(Config{Servers: []netip.AddrPort{d.Addr}, NoIPv6: true})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := r.Resolve("c.example.net", time.Second); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := d.Asked("c.example.net A"); n != 1 {
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

// Stop ends a lookup waiting on a silent server, and the lookups waiting
// for it, at once; later lookups fail too.
func TestStop(t *testing.T) {
	silent := dnstest.Start(t, map[string]dnstest.Reply{"s.example.net A": {Silent: true}})
	r := New(Config{Servers: []netip.AddrPort{silent.Addr}, NoIPv6: true})
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := r.Resolve("s.example.net", time.Minute); errs <- err }()
	}
	time.Sleep(100 * time.Millisecond)
	r.Stop()
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrStopped) {
				t.Errorf("after Stop: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Stop did not end the lookup")
		}
	}
	if _, err := r.Resolve("other.example.net", time.Minute); !errors.Is(err, ErrStopped) {
		t.Errorf("lookup after Stop: %v", err)
	}
}
