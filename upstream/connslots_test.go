package upstream

import (
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/google/go-cmp/cmp"
)

func TestConnSlotsTake(t *testing.T) {
	drains := 0
	var c *ConnSlots
	c = NewConnSlots(32, func() {
		drains++
		c.Release() // the drain frees one
	})
	var got []bool
	for range 32 {
		got = append(got, c.Take())
	}
	// 32 slots: a sixteenth is 2, so taking with 2 or fewer free
	// drains first (each drain here frees one).
	if drains != 2 {
		t.Errorf("drains after 32 takes = %d, want 2", drains)
	}
	if c.Used() != 30 {
		t.Errorf("used = %d, want 30", c.Used())
	}
	c.SetLimit(29)
	noDrain := NewConnSlots(1, nil)
	got = append(got, noDrain.Take(), noDrain.Take())
	noDrain.Release()
	got = append(got, noDrain.Take())
	want := make([]bool, 32)
	for i := range want {
		want[i] = true
	}
	want = append(want, true, false, true)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("takes (-want +got):\n%s", diff)
	}
	var unlimited *ConnSlots
	if !unlimited.Take() {
		t.Error("a nil ConnSlots refused")
	}
	unlimited.Release()
	if msg := c.ReusingMessage(); msg != "29 worker_connections are not enough, reusing connections" {
		t.Errorf("message %q", msg)
	}
}

func TestDrainCount(t *testing.T) {
	var got []int
	for _, n := range []int{1, 7, 8, 16, 100, 256, 257, 10000} {
		got = append(got, DrainCount(n))
	}
	if diff := cmp.Diff([]int{1, 1, 1, 2, 12, 32, 32, 32}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestConnSlotsWarnOncePerSecond(t *testing.T) {
	c := NewConnSlots(4, nil)
	at := time.Unix(1000, 0)
	got := []bool{c.ShouldWarn(at), c.ShouldWarn(at.Add(500 * time.Millisecond)), c.ShouldWarn(at.Add(time.Second))}
	if diff := cmp.Diff([]bool{true, false, true}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Every way a backend connection ends gives its slot back: closed after
// its request, kept in the pool (holding it), reused, closed when
// keepalive_requests is reached, closed with the pool; with no
// slot free a new connection is refused and the request ends with 500.
func TestConnSlotsBackends(t *testing.T) {
	be := newBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	ps := newProxyServer(t, "upstream u { server "+be.addr()+"; keepalive 4; keepalive_requests 2; }",
		`proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection "";`, "/")
	slots := NewConnSlots(1, nil)
	ps.proxy.groups.Slots = slots
	ps.served = make(chan int, 1)
	var got []string
	for i := 0; i < 3; i++ {
		resp := roundTrip(t, ps.ln.Addr().String(), "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
		status, _, _ := strings.Cut(resp, "\r\n")
		<-ps.served
		got = append(got, status+" used "+strconv.Itoa(slots.Used()))
	}
	// keepalive_requests 2: the second request's connection closed, the
	// third's is pooled until the pool closes.
	ps.proxy.groups.CloseIdle()
	if slots.Used() != 0 {
		t.Errorf("slots used after the pool closed: %d", slots.Used())
	}
	slots.SetLimit(0)
	resp := roundTrip(t, ps.ln.Addr().String(), "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	status, _, _ := strings.Cut(resp, "\r\n")
	got = append(got, status+" used "+strconv.Itoa(slots.Used()))
	want := []string{"HTTP/1.1 200 OK used 1", "HTTP/1.1 200 OK used 0", "HTTP/1.1 200 OK used 1",
		"HTTP/1.1 500 Internal Server Error used 0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if be.connCount() != 2 {
		t.Errorf("backend connections: %d, want 2", be.connCount())
	}
}

// The pool's own closes give slots back: the least recently used one
// evicted, one found stale, the sweep.
func TestConnSlotsPool(t *testing.T) {
	slots := NewConnSlots(10, nil)
	g := &Group{Servers: []*Server{{}}, Keepalive: 1, KeepaliveTimeout: time.Minute,
		KeepaliveRequests: 100, KeepaliveTime: time.Hour}
	defer g.closeIdle(false)
	put := func(since time.Time) {
		slots.Take()
		c, _ := newPipeConn(t)
		g.putIdle(c, 0, &connLife{expires: since.Add(time.Hour), requests: 1, fd: -1, slots: slots}, since)
	}
	now := time.Now()
	var got []int
	put(now)
	put(now) // evicts the first
	got = append(got, slots.Used())
	if nc, _ := getIdleOf(g, 0, now.Add(2*time.Minute)); nc != nil { // stale
		t.Error("a stale connection was reused")
	}
	got = append(got, slots.Used())
	put(now.Add(-2 * time.Minute))
	g.sweepIdle()
	got = append(got, slots.Used())
	if diff := cmp.Diff([]int{1, 0, 0}, got); diff != "" {
		t.Errorf("used (-want +got):\n%s", diff)
	}
}

// Out of file descriptors, a backend's socket() fails: 500, logged as
// nginx's alert, and the server is not counted as failed.
func TestConnectOutOfFiles(t *testing.T) {
	be := newBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	ps := newProxyServer(t, "", "proxy_pass http://"+be.addr()+";", "/")
	ps.served = make(chan int, 1)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	highest := 0
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > highest {
			highest = n
		}
	}
	// Two above the highest open descriptor: with no holes below it the
	// fill would otherwise find nothing to free.
	lim := old
	lim.Cur = uint64(highest + 3)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	// Fill every free descriptor, then free two: the client's socket and
	// the one the proxy accepts; the backend's socket() finds none.
	var fillers []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		fillers = append(fillers, f)
	}
	if len(fillers) < 2 {
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
		t.Fatalf("only %d free descriptors under limit %d", len(fillers), lim.Cur)
	}
	for _, f := range fillers[len(fillers)-2:] {
		f.Close()
	}
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err == nil {
		io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	}
	status := 0
	if err == nil {
		status = <-ps.served
		c.Close()
	}
	for _, f := range fillers[:len(fillers)-2] {
		f.Close()
	}
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	if err != nil {
		t.Fatal(err)
	}
	if status != 500 || be.connCount() != 0 {
		t.Errorf("status %d, backend connections %d; want 500, 0", status, be.connCount())
	}
	if !outOfFiles(&net.OpError{Op: "dial", Err: os.NewSyscallError("socket", syscall.EMFILE)}) {
		t.Error("EMFILE from socket() not recognized")
	}
	e := &slotsError{msg: "socket() failed (" + nginxconf.ErrnoText(syscall.EMFILE) + ")"}
	if got := e.Error(); got != "socket() failed (24: Too many open files) while connecting to upstream" {
		t.Errorf("message %q", got)
	}
}
