package server

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/google/go-cmp/cmp"
)

// sockopts is what getsockopt shows of a socket.
type sockopts struct {
	KeepAlive, KeepIdle, KeepIntvl, KeepCnt, DeferAccept, FastOpen, ReusePort int
	RcvBuf, SndBuf                                                            int
}

func readSockopts(t *testing.T, c syscall.Conn) sockopts {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var o sockopts
	rc.Control(func(fd uintptr) {
		get := func(level, name int) int {
			v, err := syscall.GetsockoptInt(int(fd), level, name)
			if err != nil {
				t.Errorf("getsockopt(%d, %d): %v", level, name, err)
			}
			return v
		}
		o.KeepAlive = get(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		o.ReusePort = get(syscall.SOL_SOCKET, soReusePort)
		o.RcvBuf = get(syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		o.SndBuf = get(syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		o.KeepIdle = get(syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)
		o.KeepIntvl = get(syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL)
		o.KeepCnt = get(syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT)
		o.DeferAccept = get(syscall.IPPROTO_TCP, tcpDeferAccept)
		o.FastOpen = get(syscall.IPPROTO_TCP, tcpFastOpen)
	})
	return o
}

// listenOf compiles a server with one listen line and returns it.
func listenOf(t *testing.T, args string) *location.Listen {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	conf := "events {}\nhttp {\nserver {\nlisten " + args + ";\n}\n}\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := nginxconf.Load(path, nginxconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := location.Compile(cfg, location.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rt.Sockets[0].Listen
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// backlogOf is the listening socket's backlog as ss shows it (Send-Q);
// getsockopt has no way to read it.
func backlogOf(t *testing.T, port int) int {
	t.Helper()
	out, err := exec.Command("ss", "-ltnH", "sport = :"+strconv.Itoa(port)).Output()
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Logf("ss (iproute2) not usable: %v; backlog not checked", err)
			return -1
		}
		t.Fatalf("ss (iproute2) is required in CI: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) < 3 {
		t.Fatalf("ss printed %q", out)
	}
	n, _ := strconv.Atoi(f[2])
	return n
}

// Each listen option is set on the socket as nginx sets it, and accepted
// connections keep the listening socket's keep-alive (Go's accept would
// turn it on for all).
func TestListenOptions(t *testing.T) {
	// The kernel doubles SO_RCVBUF/SO_SNDBUF values.
	plainListen, plainAccepted := sockopts{KeepIdle: 7200, KeepIntvl: 75, KeepCnt: 9}, sockopts{KeepIdle: 7200, KeepIntvl: 75, KeepCnt: 9}
	sys := func(name string, def int) int {
		b, err := os.ReadFile("/proc/sys/net/ipv4/" + name)
		if err != nil {
			return def
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	idle, intvl, cnt := sys("tcp_keepalive_time", 7200), sys("tcp_keepalive_intvl", 75), sys("tcp_keepalive_probes", 9)
	plainListen.KeepIdle, plainListen.KeepIntvl, plainListen.KeepCnt = idle, intvl, cnt
	plainAccepted = plainListen
	tests := []struct {
		name     string
		args     string
		backlog  int
		listen   func(o *sockopts)
		accepted func(o *sockopts)
	}{
		{"defaults", "", 511, nil, nil},
		{"backlog", "backlog=37", 37, nil, nil},
		{"buffers", "rcvbuf=64k sndbuf=32k", 511, func(o *sockopts) { o.RcvBuf, o.SndBuf = 128<<10, 64<<10 }, nil},
		{"reuseport", "reuseport", 511, func(o *sockopts) { o.ReusePort = 1 }, nil},
		{"so_keepalive on", "so_keepalive=on", 511, func(o *sockopts) { o.KeepAlive = 1 }, func(o *sockopts) { o.KeepAlive = 1 }},
		{"so_keepalive off", "so_keepalive=off", 511, nil, nil},
		{"so_keepalive triple", "so_keepalive=30m:10:5", 511,
			func(o *sockopts) { o.KeepAlive, o.KeepIdle, o.KeepIntvl, o.KeepCnt = 1, 1800, 10, 5 },
			func(o *sockopts) { o.KeepAlive, o.KeepIdle, o.KeepIntvl, o.KeepCnt = 1, 1800, 10, 5 }},
		{"so_keepalive idle only", "so_keepalive=1h::", 511,
			func(o *sockopts) { o.KeepAlive, o.KeepIdle = 1, 3600 }, func(o *sockopts) { o.KeepAlive, o.KeepIdle = 1, 3600 }},
		{"deferred", "deferred", 511, func(o *sockopts) { o.DeferAccept = 1 }, nil},
		{"fastopen", "fastopen=3", 511, func(o *sockopts) { o.FastOpen = 3 }, nil},
	}
	for _, tt := range tests {
		for _, inherited := range []bool{false, true} {
			name := tt.name
			if inherited {
				name += " inherited"
			}
			t.Run(name, func(t *testing.T) {
				l := listenOf(t, "127.0.0.1:"+freePort(t)+" "+tt.args)
				ln, err := ListenSocket(l)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				if inherited {
					// A worker's socket: the master's, by descriptor.
					ln = inheritListener(t, ln)
					defer ln.Close()
				}
				base := readSockopts(t, ln.(syscall.Conn))
				want := plainListen
				want.RcvBuf, want.SndBuf = base.RcvBuf, base.SndBuf
				if tt.listen != nil {
					tt.listen(&want)
				}
				if diff := cmp.Diff(want, base); diff != "" {
					t.Errorf("listening socket (-want +got):\n%s", diff)
				}
				if b := backlogOf(t, ln.Addr().(*net.TCPAddr).Port); b >= 0 && b != tt.backlog {
					t.Errorf("backlog %d, want %d", b, tt.backlog)
				}
				lst := &listener{ln: ln, ka: readKeepalive(ln)}
				if !lst.ka.inherits {
					// Go's accept sets keep-alive, four system calls per
					// connection nginx does not make.
					t.Error("accept is not told to leave keep-alive alone")
				}
				client, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer client.Close()
				if tt.args == "deferred" {
					client.Write([]byte("x")) // TCP_DEFER_ACCEPT waits for data
				}
				nc, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				lst.ka.apply(nc)
				got := readSockopts(t, nc.(syscall.Conn))
				wantAcc := plainAccepted
				wantAcc.RcvBuf, wantAcc.SndBuf, wantAcc.DeferAccept, wantAcc.FastOpen = got.RcvBuf, got.SndBuf, got.DeferAccept, got.FastOpen
				wantAcc.ReusePort = got.ReusePort
				if tt.accepted != nil {
					tt.accepted(&wantAcc)
				}
				if diff := cmp.Diff(wantAcc, got); diff != "" {
					t.Errorf("accepted socket (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// inheritListener is ln as a worker gets it: a descriptor from the
// master, made a listener again by FileListener.
func inheritListener(t *testing.T, ln net.Listener) net.Listener {
	t.Helper()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, err := FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// setfib is FreeBSD's: nginx on Linux does not know the parameter.
func TestListenSetfibRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	os.WriteFile(path, []byte("events {}\nhttp {\nserver {\nlisten 127.0.0.1:8080 setfib=1;\n}\n}\n"), 0o644)
	cfg, err := nginxconf.Load(path, nginxconf.Options{})
	if err == nil {
		_, err = location.Compile(cfg, location.Options{})
	}
	got := ""
	if err != nil {
		got = err.Error()
	}
	if diff := cmp.Diff(`invalid parameter "setfib=1" in `+path+`:4`, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// ipv6only as nginx: on by default for an IPv6 socket, off when asked
// (the wildcard then takes IPv4 too).
func TestListenIPv6Only(t *testing.T) {
	for _, tc := range []struct {
		args string
		want int
	}{{"", 1}, {"ipv6only=on", 1}, {"ipv6only=off", 0}} {
		l := listenOf(t, "[::]:"+freePort(t)+" "+tc.args)
		ln, err := ListenSocket(l)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := ln.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		got := -1
		rc.Control(func(fd uintptr) { got, _ = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY) })
		ln.Close()
		if got != tc.want {
			t.Errorf("%q: IPV6_V6ONLY %d, want %d", tc.args, got, tc.want)
		}
	}
}
