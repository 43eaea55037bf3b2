package upstream

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/upstream/poller"
)

// blockInput is an input handler that holds the poller's goroutine
// until released.
type blockInput struct {
	entered chan struct{}
	release chan struct{}
}

func (b blockInput) Ready(uint32) {
	b.entered <- struct{}{}
	<-b.release
}

// ownTunnel is a pooled tunnel between two of the server's own Conns
// (both directions hooked on their input, as a WebSocket's), running;
// client and backend are the far ends. run's result comes on done.
func ownTunnel(a *poller.Acceptor, addr string, idle time.Duration) (tn *tunnel, client, backend net.Conn, done chan error, err error) {
	proxyClient, client, err := ownPair(a, addr)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	proxyUp, backend, err := ownPair(a, addr)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	tn, _ = newTunnel()
	tn.client, tn.upstream, tn.idle, tn.bufs = proxyClient, proxyUp, idle, tunnelPool(4096)
	done = make(chan error, 1)
	go func() { done <- tn.run(nil, nil) }()
	return tn, client, backend, done, nil
}

var ownPairMu sync.Mutex // one dial and its accept at a time

// ownPair is an accepted Conn and the socket dialed to it.
func ownPair(a *poller.Acceptor, addr string) (*poller.Conn, net.Conn, error) {
	ownPairMu.Lock()
	defer ownPairMu.Unlock()
	far, err := net.Dial("tcp4", addr)
	if err != nil {
		return nil, nil, err
	}
	c, err := a.Accept(nil)
	if err != nil {
		far.Close()
		return nil, nil, err
	}
	return c, far, nil
}

func newAcceptor(t *testing.T) (*poller.Acceptor, string) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := poller.NewAcceptor(ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, ln.Addr().String()
}

// echoOnce sends msg from client through the tunnel, the backend sends
// it back, and the client reads it.
func echoOnce(client, backend net.Conn, msg string) error {
	deadline := time.Now().Add(5 * time.Second)
	client.SetDeadline(deadline)
	backend.SetDeadline(deadline)
	if _, err := io.WriteString(client, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(backend, buf); err != nil || string(buf) != msg {
		return fmt.Errorf("backend read %q, %v; want %q", buf, err, msg)
	}
	if _, err := backend.Write(buf); err != nil {
		return err
	}
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != msg {
		return fmt.Errorf("client read %q, %v; want %q", buf, err, msg)
	}
	return nil
}

// TestTunnelRecordKeptWhilePollerBusy: a pooled tunnel whose last
// reference goes while the poller its directions were hooked on is
// handling events is not reused (the poller may have taken a report for
// one of them before the close unhooked it); once the poller is idle, a
// tunnel's end gives its record back.
func TestTunnelRecordKeptWhilePollerBusy(t *testing.T) {
	a, addr := newAcceptor(t)
	// endTunnel runs a tunnel to its close and its creator's unref, a
	// third Conn's input holding the poller in its handler meanwhile when
	// busy; it reports whether the poller was quiet after the close and
	// whether the record was kept.
	endTunnel := func(busy bool) (tn *tunnel, quiet, kept bool) {
		tn, client, backend, done, err := ownTunnel(a, addr, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		defer backend.Close()
		if err := echoOnce(client, backend, "ping"); err != nil {
			t.Fatal(err)
		}
		block := blockInput{make(chan struct{}), make(chan struct{})}
		if busy {
			hold, _, holdPeer := acceptPair(t, a, addr)
			hold.OnInput(block)
			holdPeer.Write([]byte("x"))
			<-block.entered
			defer close(block.release)
		} else {
			settle(tn.quiet) // the echo's own reports handled
		}
		tn.close() // as a stop's CloseAll or the idle limit: no event needed
		if err := <-done; err != nil {
			t.Fatalf("tunnel ended with %v", err)
		}
		quiet = tn.quiet()
		tn.unref() // the creator's, as the request's end drops it
		return tn, quiet, tn.client != nil
	}

	tn, quiet, kept := endTunnel(true)
	if quiet || !kept {
		t.Errorf("poller busy: quiet %v, record kept %v; want false, true", quiet, kept)
	}
	// What the poller took before the close reaches the ended direction
	// late: it is done, nothing runs.
	tn.dirs[0].Ready(poller.In)
	if got := tn.dirs[0].state.Load(); got != dirDone {
		t.Errorf("direction's state after a late report: %d, want done", got)
	}

	// The poller is the process's: another test's (or this one's
	// earlier) events may turn it at any moment, and a record is then
	// rightly kept. One of a few tries must find it quiet and give the
	// record back (a record given back is zeroed).
	for try := 0; ; try++ {
		_, quiet, kept := endTunnel(false)
		if quiet && !kept {
			break
		}
		if try == 20 {
			t.Fatalf("poller idle: quiet %v, record kept %v after %d tries; want a record given back", quiet, kept, try+1)
		}
	}
}

// TestTunnelRecordReuse: tunnels end from every side at once (the
// client's close, the backend's bytes and close, a stop's close, the idle
// limit) while their records are taken again by the next tunnels; each
// tunnel relays its own bytes only. Run with -race: a record reused while
// a goroutine, the idle timer or a poller's late report still touched it
// shows as a race.
func TestTunnelRecordReuse(t *testing.T) {
	a, addr := newAcceptor(t)
	seen := map[*tunnel]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	const workers, rounds = 3, 60
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				idle := time.Minute
				if i%4 == 3 {
					idle = time.Duration(1+rand.IntN(3)) * time.Millisecond
				}
				tn, client, backend, done, err := ownTunnel(a, addr, idle)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[tn]++
				mu.Unlock()
				if idle == time.Minute {
					if err := echoOnce(client, backend, fmt.Sprintf("w%d-%d", w, i)); err != nil {
						t.Error(err)
						client.Close()
						backend.Close()
						return
					}
				}
				// Every side ends it at once.
				go backend.Write([]byte("late"))
				go client.Write([]byte("late"))
				if i%2 == 0 {
					// As a stop's CloseAll: with a reference.
					tn.ref()
					go func() {
						tn.close()
						tn.unref()
					}()
				}
				go backend.Close()
				client.Close()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Error("tunnel did not end")
					return
				}
				tn.unref()
			}
		}()
	}
	wg.Wait()
	t.Logf("reused %d of %d", workers*rounds-len(seen), workers*rounds)
	if reused := workers*rounds - len(seen); reused == 0 {
		t.Errorf("no record of %d tunnels was reused", workers*rounds)
	}
}

// TestTunnelsList: tunnels leave the set from its head, middle and tail,
// a second remove (or one of a tunnel never added) changes nothing, and
// CloseAll reaches those left.
func TestTunnelsList(t *testing.T) {
	ts := NewTunnels()
	var tns [4]*tunnel
	for i := range tns {
		tns[i] = &tunnel{}
		ts.add(tns[i])
	}
	ts.remove(tns[3]) // the head (added last)
	ts.remove(tns[1]) // the middle
	ts.remove(tns[1])
	ts.remove(&tunnel{})
	ts.remove(tns[0]) // the tail
	if ts.Len() != 1 || ts.head != tns[2] || tns[2].setPrev != nil || tns[2].setNext != nil {
		t.Fatalf("set of %d, head %p (want %p)", ts.Len(), ts.head, tns[2])
	}
	ts.remove(tns[2])
	if ts.Len() != 0 || ts.head != nil {
		t.Fatalf("emptied set: %d, head %p", ts.Len(), ts.head)
	}
}

// endSeen is a detached tunnel's end (onEnd) that does what the proxy's
// EndTunnel does with the record, and tells whether it ran on the
// poller's loop.
type endSeen struct {
	t  *tunnel
	ch chan bool
}

func (e *endSeen) TunnelEnded() {
	buf := make([]byte, 64<<10)
	onLoop := strings.Contains(string(buf[:runtime.Stack(buf, false)]), "poller.(*Poller).loop")
	e.t.result()
	e.t.unref() // the creator's, as EndTunnel drops it
	e.ch <- onLoop
}

// probeInput tells of its Conn's input, on the poller's goroutine.
type probeInput chan struct{}

func (p probeInput) Ready(uint32) {
	select {
	case p <- struct{}{}:
	default:
	}
}

// TestTunnelDetachedEndsOnPoller: the tunnel of a request that returned
// (a WebSocket between the server's own sockets) ends on the goroutine
// of the poller that read the client's end, once its turn is over, as
// nginx's event loop finalizes the request: no goroutine is woken for
// it. Its record goes back to the pool all the same.
func TestTunnelDetachedEndsOnPoller(t *testing.T) {
	a, addr := newAcceptor(t)
	proxyClient, client, err := ownPair(a, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	proxyUp, backend, err := ownPair(a, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	tn, _ := newTunnel()
	tn.client, tn.upstream, tn.idle, tn.bufs = proxyClient, proxyUp, time.Minute, tunnelPool(4096)
	end := &endSeen{t: tn, ch: make(chan bool, 1)}
	tn.onEnd = end
	tn.prepare(0)
	tn.begin()
	if err := echoOnce(client, backend, "ping"); err != nil {
		t.Fatal(err)
	}
	client.Close()
	select {
	case onLoop := <-end.ch:
		if !onLoop {
			t.Error("the tunnel's end ran off the poller's loop")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tunnel did not end")
	}
	// A later turn of the loop: the end's last reference went before.
	probe, _, probePeer := acceptPair(t, a, addr)
	seen := make(probeInput, 1)
	probe.OnInput(seen)
	probePeer.Write([]byte("x"))
	select {
	case <-seen:
	case <-time.After(10 * time.Second):
		t.Fatal("the probe's input was not told")
	}
	probe.OnInput(nil)
	if tn.client != nil {
		t.Error("the record was not given back (a record given back is zeroed)")
	}
}

// TestTunnelFirstBytesCopiedAtBegin: bytes the client sent before its
// tunnel began (a WebSocket's first message, sent on the 101) are in
// the backend's socket when begin returns, copied on begin's caller's
// goroutine (runFirst) rather than handed to another one; the tunnel
// then relays and ends as any.
func TestTunnelFirstBytesCopiedAtBegin(t *testing.T) {
	a, addr := newAcceptor(t)
	proxyClient, client, err := ownPair(a, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	proxyUp, backend, err := ownPair(a, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	if _, err := io.WriteString(client, "first"); err != nil {
		t.Fatal(err)
	}
	tn, _ := newTunnel()
	tn.client, tn.upstream, tn.idle, tn.bufs = proxyClient, proxyUp, time.Minute, tunnelPool(4096)
	end := &endSeen{t: tn, ch: make(chan bool, 1)}
	tn.onEnd = end
	tn.prepare(0)
	// The client's bytes are in proxyClient's socket (loopback delivers
	// a write before it returns), and their report has reached the Conn
	// (as the request's goroutine's 101 took longer than the client's
	// answer): begin finds them there.
	poller.SettleConns()
	tn.begin()
	rc, err := backend.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	var n int
	var rerr error
	rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
		return true
	})
	if rerr != nil || string(buf[:max(n, 0)]) != "first" {
		t.Fatalf("the backend's socket held %q (%v) as begin returned, want %q", buf[:max(n, 0)], rerr, "first")
	}
	if err := echoOnce(client, backend, "ping"); err != nil {
		t.Fatal(err)
	}
	client.Close()
	select {
	case <-end.ch:
	case <-time.After(10 * time.Second):
		t.Fatal("the tunnel did not end")
	}
}
