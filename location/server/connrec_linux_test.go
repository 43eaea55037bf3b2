package server

import (
	"net"
	"sync"
	"testing"

	"github.com/gonginx/gonginx/rewrite/http2"
	"github.com/gonginx/gonginx/upstream/poller"
)

// pollerConn is an accepted *poller.Conn (a served socket's kind), and
// its client.
func pollerConn(t *testing.T) (*poller.Conn, net.Conn) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := poller.NewAcceptor(ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	pc, err := a.Accept(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); pc.Close() })
	return pc, client
}

// TestConnRecordParkRef: a connection ended (endConn's unref) while a
// park that gave it away still reads it keeps its record until that
// park lets go, and the record goes back zeroed once, by whichever
// lets go last. The two run at once (-race sees a park's read of the
// record against its zeroing for reuse when the park's reference is
// not counted). A round whose end found the poller busy (other tests'
// sockets: InputQuiet false) leaves the record to the GC, untouched;
// enough rounds must give it back for the race to be looked for.
func TestConnRecordParkRef(t *testing.T) {
	pc, _ := pollerConn(t)
	pooled := 0
	for i := 0; i < 5000 && pooled < 200; i++ {
		sc := &serverConn{nc: pc}
		sc.flags.Or(connSlot | connLive)
		sc.flags.Add(connParkRef) // park's, before its waker parks
		var wg sync.WaitGroup
		wg.Add(2)
		var seen net.Conn
		go func() { // park, after Park: reads sc, then lets go
			defer wg.Done()
			seen = sc.nc
			_ = sc.hasSlot()
			sc.unref(connParkRef)
		}()
		go func() { // the connection's end, by its waker's new owner
			defer wg.Done()
			sc.unref(connLive)
		}()
		wg.Wait()
		if seen != pc {
			t.Fatalf("round %d: park read a reused record", i)
		}
		switch {
		case sc.nc == nil && sc.flags.Load() == 0:
			pooled++
		case sc.nc != pc || sc.flags.Load() != connSlot:
			t.Fatalf("round %d: record half given back (flags %#x)", i, sc.flags.Load())
		}
	}
	if pooled < 200 {
		t.Fatalf("%d of the rounds gave the record back, want 200", pooled)
	}
}

// TestConnRecordOverlappingParks: a connection woken parks again while
// the park before has not returned: the count holds the record until
// both have let go and the connection ended.
func TestConnRecordOverlappingParks(t *testing.T) {
	pc, _ := pollerConn(t)
	sc := &serverConn{nc: pc}
	sc.flags.Or(connSlot | connLive)
	sc.flags.Add(connParkRef) // the first park
	sc.flags.Add(connParkRef) // the second, by the goroutine it woke
	sc.unref(connParkRef)
	sc.unref(connLive)
	if sc.nc == nil {
		t.Fatal("record given back while the second park held it")
	}
	sc.unref(connParkRef)
	if sc.nc != nil {
		t.Fatal("record not given back after the last reference")
	}
}

// TestConnRecordNotPooled: records another holder may still read are
// left to the GC: an HTTP/2 connection's, a TLS one's, an ordered
// one's, one whose socket is not a poller.Conn.
func TestConnRecordNotPooled(t *testing.T) {
	pc, client := pollerConn(t)
	cases := map[string]func(sc *serverConn){
		"ordered":    func(sc *serverConn) { sc.ext.Store(&connExt{order: &orderedConn{}}) },
		"not-poller": func(sc *serverConn) { sc.nc = client },
		"tls-addr":   func(sc *serverConn) { sc.h1.set(h1TLSAddr, true) },
		"h2":         func(sc *serverConn) { sc.setH2(new(http2.Conn)) },
		"hooked":     func(sc *serverConn) { sc.nc.(*poller.Conn).OnInput(nopHandler{}) },
	}
	for name, set := range cases {
		sc := &serverConn{nc: pc}
		set(sc)
		sc.flags.Or(connLive)
		sc.unref(connLive)
		if sc.nc == nil {
			t.Errorf("%s: record given back", name)
		}
		pc.OnInput(nil)
	}
}

type nopHandler struct{}

func (nopHandler) Ready(uint32) {}
