package upstream

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/google/go-cmp/cmp"
)

// streamProxyTo compiles "proxy_pass u" with u's one server at addr.
func streamProxyTo(t *testing.T, addr string, extra string) (*StreamProxy, *Group) {
	t.Helper()
	gs, err := CompileGroups(parseConf(t, "upstream u { server "+addr+"; }"))
	if err != nil {
		t.Fatal(err)
	}
	pass := &nginxconf.Directive{Name: "proxy_pass", Args: []string{"u"}, File: "/test.conf", Line: 1}
	p, err := CompileStreamProxy(pass, [][]*nginxconf.Directive{parseConf(t, extra)}, gs, rewrite.NewCompiler())
	if err != nil {
		t.Fatal(err)
	}
	return p, gs.Lookup("u")
}

// What a session holds (its server's connection count, the Ending hook)
// is let go before the client sees the end, as nginx ends the session in
// the event that closes it: the client's next session finds neither.
func TestStreamSessionEndsFirst(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("bye"))
			c.Close()
		}
	}()
	p, g := streamProxyTo(t, ln.Addr().String(), "")
	type seen struct {
		Conns  int
		Ending bool
	}
	client, proxyClient := tcpPair(t)
	var atEOF seen
	ended := false
	ss := &StreamSession{Client: proxyClient, State: &rewrite.State{}, Log: func(string, string, string) {},
		Note: func(string, string) {}, Ending: func() { ended = true }}
	done := make(chan int, 1)
	go func() { done <- p.Serve(ss, NewTunnels()) }()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(client)
	g.mu.Lock()
	atEOF.Conns = g.Servers[0].conns
	g.mu.Unlock()
	<-done
	atEOF.Ending = ended
	if diff := cmp.Diff(seen{Conns: 0, Ending: true}, atEOF); diff != "" || string(got) != "bye" {
		t.Errorf("at the client's EOF (got %q) (-want +got):\n%s", got, diff)
	}
}

// The UDP answer that completes a session (proxy_responses) goes out
// once the session let go of its server and its limits, and was unbound
// from its client (the client's next datagram starts another).
func TestStreamUDPSessionEndsFirst(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 100)
		for {
			n, a, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], a)
			pc.WriteTo(buf[:n], a)
		}
	}()
	p, g := streamProxyTo(t, pc.LocalAddr().String(), "proxy_responses 2; proxy_timeout 5s;")
	type seen struct {
		Replies []string
		Conns   []int
		Ended   []bool
		Unbound []bool
	}
	var got seen
	ended, unbound := false, false
	in := make(chan Datagram)
	dg := &Datagrams{First: []byte("ping"), In: in}
	dg.Unbind = func(last func() bool) bool {
		if !last() {
			return false
		}
		unbound = true
		close(in)
		return true
	}
	dg.Reply = func(b []byte) (int, error) {
		g.mu.Lock()
		got.Conns = append(got.Conns, g.Servers[0].conns)
		g.mu.Unlock()
		got.Replies = append(got.Replies, string(b))
		got.Ended = append(got.Ended, ended)
		got.Unbound = append(got.Unbound, unbound)
		return len(b), nil
	}
	var notes []string
	ss := &StreamSession{State: &rewrite.State{}, UDP: true, Log: func(string, string, string) {},
		Note: func(_, msg string) { notes = append(notes, msg) }, Ending: func() { ended = true }}
	if status := p.ServeUDP(ss, dg); status != 200 {
		t.Errorf("status %d", status)
	}
	// The session ends as done, not as its input's end (In closed at
	// the unbinding, before the last answer was counted).
	if len(notes) == 0 || !strings.HasPrefix(notes[len(notes)-1], "udp done") {
		t.Errorf("notes %q, want the last \"udp done...\"", notes)
	}
	want := seen{Replies: []string{"ping", "ping"}, Conns: []int{1, 0}, Ended: []bool{false, true}, Unbound: []bool{false, true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("at each answer (-want +got):\n%s", diff)
	}
}

// A session whose backend connection finds no worker_connections slot
// ends with 500 and nginx's alert, its server freed and not counted as
// failed, the try recorded without an address.
func TestStreamNoSlotForBackend(t *testing.T) {
	p, g := streamProxyTo(t, "127.0.0.1:1", "")
	p.groups.Slots = NewConnSlots(0, nil)
	var logged []string
	ss := &StreamSession{State: &rewrite.State{}, Note: func(string, string) {},
		Log: func(level, msg, _ string) { logged = append(logged, level+" "+msg) }}
	status := p.Serve(ss, NewTunnels())
	type outcome struct {
		Status      int
		Logged      []string
		Conns, Fail int
		Tries       int
		Addr        string
	}
	got := outcome{status, logged, g.Servers[0].conns, g.Servers[0].fails, len(ss.State.UpstreamTries), ss.State.UpstreamAddr}
	want := outcome{Status: 500, Logged: []string{"alert 0 worker_connections are not enough while connecting to upstream"}, Tries: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
