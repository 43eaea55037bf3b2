package syslog

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		dest          string
		network, addr string
		facility, sev int
		tag           string
		nohostname    bool
		err           string
	}{
		{dest: "syslog:server=127.0.0.1", network: "udp", addr: "127.0.0.1:514", facility: 23, sev: 6, tag: "nginx"},
		{dest: "syslog:server=127.0.0.1:1514,facility=user,severity=alert,tag=SEE_THIS,nohostname",
			network: "udp", addr: "127.0.0.1:1514", facility: 1, sev: 1, tag: "SEE_THIS", nohostname: true},
		{dest: "syslog:severity=alert,server=[::1]:99", network: "udp", addr: "[::1]:99", facility: 23, sev: 1, tag: "nginx"},
		{dest: "syslog:server=unix:/dev/log", network: "unixgram", addr: "/dev/log", facility: 23, sev: 6, tag: "nginx"},
		{dest: "syslog:facility=user", err: "no syslog server specified"},
		{dest: "syslog:server=127.0.0.1,facility=nope", err: `unknown syslog facility "nope"`},
		{dest: "syslog:server=127.0.0.1,x=1", err: `unknown syslog parameter "x=1"`},
	}
	for _, tt := range tests {
		p, err := Parse(tt.dest)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Parse(%q) error %v, want %q", tt.dest, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.dest, err)
			continue
		}
		got := []any{p.network, p.addr, p.facility, p.severity, p.tag, p.nohostname}
		want := []any{tt.network, tt.addr, tt.facility, tt.sev, tt.tag, tt.nohostname}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("Parse(%q) -want +got:\n%s", tt.dest, d)
		}
	}
}

func TestAppendHeader(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 5, 7, 0, time.Local)
	p, _ := Parse("syslog:server=127.0.0.1,facility=user,tag=t1")
	if got, want := string(p.AppendHeader(nil, 3, now)), "<11>Dec  6 09:05:07 "+hostname()+" t1: "; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	p.nohostname = true
	if got, want := string(p.AppendHeader(nil, 6, now)), "<14>Dec  6 09:05:07 t1: "; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
}

// TestSendRecovers: a send to a closed port fails (ICMP refused) and
// closes the socket; once a server listens there again, lines arrive.
func TestSendRecovers(t *testing.T) {
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.LocalAddr().String()
	p, err := Parse("syslog:server=" + addr + ",nohostname")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	now := time.Date(2026, 1, 16, 23, 0, 1, 0, time.Local)
	if err := p.Send(6, now, []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, srv); got != "<190>Jan 16 23:00:01 nginx: one" {
		t.Errorf("got %q", got)
	}
	srv.Close()
	failed := false
	for i := 0; i < 20 && !failed; i++ {
		failed = p.Send(6, now, []byte("lost")) != nil
		time.Sleep(10 * time.Millisecond)
	}
	if !failed {
		t.Fatal("no send failed with the server gone")
	}
	srv, err = net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := p.Send(3, now, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, srv); got != "<187>Jan 16 23:00:01 nginx: two" {
		t.Errorf("got %q", got)
	}
}

func TestSendUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	srv, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p, _ := Parse("syslog:server=unix:" + path + ",tag=x")
	defer p.Close()
	if err := p.Send(4, time.Now(), []byte("line")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, srv); !strings.HasPrefix(got, "<188>") || !strings.HasSuffix(got, " x: line") {
		t.Errorf("got %q", got)
	}
	os.Remove(path)
}

func read(t *testing.T, c net.PacketConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 4096)
	n, _, err := c.ReadFrom(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:n])
}
