package upstream

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/rewrite"
)

// Datagrams is a UDP client session given to the proxy: its datagrams
// arrive on In (closed when the listener stops), Reply sends one back.
type Datagrams struct {
	First []byte // the datagram that started the session
	In    <-chan Datagram
	// Direct, when set, is given the server socket once the first
	// datagram went out: the listener then writes the client's datagrams
	// itself, in the order they reach it across sessions (nginx's one
	// event loop sends each as it reads it), and In brings them written,
	// to be counted.
	Direct func(up net.Conn)
	// Done unbinds the session once it is over: the client's next
	// datagrams start a new one.
	Done func()
	// Unbind, when set, unbinds the session as Done does if last, asked
	// under the lock the listener writes the client's datagrams under
	// (so none is sent between the two), reports true: the reader's,
	// before it sends the answer that completes the session, as nginx
	// finalizes it in the event that sends that answer (the client's
	// next datagram, sent on receiving it, starts a new session; unbound
	// only after it, the next went to the old server socket, closing).
	Unbind func(last func() bool) bool
	Reply  func(b []byte) (int, error)
	// Requests and Responses count the datagrams each way.
	Requests, Responses int
	// sent counts the datagrams sent to the server, by the session or
	// the listener (Sending), before each goes: the reader decides with
	// it whether an answer completes the session.
	sent atomic.Int64
}

// Sending counts a datagram the listener is about to write through
// Direct's socket.
func (dg *Datagrams) Sending() { dg.sent.Add(1) }

// Datagram is one client datagram given to a UDP session; Written: the
// listener sent it to the server already (Sent bytes, or Err).
type Datagram struct {
	B       []byte
	Written bool
	Sent    int
	Err     error
}

// ServeUDP proxies a UDP session as ngx_stream_proxy_module does: the
// client's datagrams go to one server over a socket of their own, the
// server's come back; the session ends after proxy_responses answers per
// datagram (when set), after proxy_requests datagrams, or when quiet for
// proxy_timeout (502 when answers were still expected).
func (p *StreamProxy) ServeUDP(ss *StreamSession, dg *Datagrams) int {
	g, _, err := p.target(ss)
	if err != nil {
		if err != errStreamStopped {
			ss.Log("error", err.Error()+" while connecting to upstream", ss.logContext("", 0, 0))
		}
		return 500
	}
	var ps pickState
	server, _ := g.pickNext(ss.State, &ps, time.Now(), nil)
	if server < 0 {
		// The balancer names the group itself ($upstream_addr too).
		ss.State.AddUpstream(rewrite.UpstreamTry{Addr: g.Name, ConnectTime: -1, HeaderTime: -1})
		ss.Log("error", "no live upstreams while connecting to upstream", ss.logContext(g.Name, 0, 0))
		return 502
	}
	srv := g.Servers[server]
	ss.Upstream = srv.Name
	start := time.Now()
	if st, ok := p.takeSlot(ss, g, server); !ok {
		return st
	}
	if ss.CountConn != nil {
		ss.CountConn()
	}
	nc, err := p.dial(ss, srv)
	if err != nil {
		p.groups.Slots.Release()
		g.done(server, true, time.Now())
		ss.State.AddUpstream(rewrite.UpstreamTry{Addr: srv.Name, Time: time.Since(start), ConnectTime: -1, HeaderTime: -1})
		ss.Log("error", err.Error(), ss.logContext(srv.Name, 0, 0))
		return 502
	}
	ss.Note("info", "udp proxy "+localName(nc)+" connected to "+srv.Name)
	connectTime := time.Since(start)
	firstByte := time.Duration(-1)
	var usent, urecv int64
	// The reader forwards the server's datagrams and reports each (its
	// size and what reached the client); it ends with the socket.
	type reply struct{ n, sent int }
	got := make(chan reply, 16)
	readErr := make(chan error, 1)
	downRate, upRate := evalSize(p.downloadRate, ss.State), evalSize(p.uploadRate, ss.State)
	var downTotal, upTotal int64
	// release frees the session's server and its socket's slot, once. The answer that
	// completes the session goes out after it, as nginx finalizes the
	// session in the event that sends it: the client's next session is
	// balanced without this one.
	var released sync.Once
	release := func(failed bool) {
		released.Do(func() {
			g.done(server, failed, time.Now())
			p.groups.Slots.Release() // the server socket's
			if ss.Ending != nil {
				ss.Ending()
			}
		})
	}
	// unbound: the reader unbound the session before the answer that
	// completes it (the main loop counts what is left to come).
	var unbound atomic.Bool
	// lastAnswer: answer number replies completes the session.
	lastAnswer := func(replies int64) bool {
		r := dg.sent.Load()
		if p.Requests > 0 {
			r = min(r, int64(p.Requests))
		}
		return p.Responses > 0 && r > 0 && replies >= int64(p.Responses)*r && (p.Requests == 0 || r >= int64(p.Requests))
	}
	readFrom := func() {
		buf := make([]byte, 65536)
		for replies := int64(1); ; replies++ {
			n, err := nc.Read(buf)
			if err != nil {
				readErr <- err
				return
			}
			if lastAnswer(replies) && (dg.Unbind == nil || dg.Unbind(func() bool {
				// Told before In closes: the main loop then waits for
				// this answer.
				last := lastAnswer(replies)
				unbound.Store(last)
				return last
			})) {
				release(false)
			}
			m, _ := dg.Reply(buf[:n])
			got <- reply{n, m}
			if downRate > 0 {
				// nginx delays the next read from the server.
				downTotal += int64(n)
				rateDelay(downRate, downTotal, int64(n), start)
			}
		}
	}
	watchErr := readErr // nil: no reader to watch
	if p.Responses == 0 {
		// No answer is awaited: nginx finishes the session once the
		// datagram is sent, before it would read one.
		readErr <- nil
		watchErr = nil
	} else {
		go readFrom()
	}
	status := 200
	timer := time.NewTimer(p.Timeout)
	defer timer.Stop()
	lastActive := time.Now()
	in := dg.In
	pending, havePending := dg.First, true // the first may be empty
	counts := func() string {
		return ", packets from/to client:" + strconv.Itoa(dg.Requests) + "/" + strconv.Itoa(dg.Responses) +
			", bytes from/to client:" + strconv.FormatInt(ss.Received, 10) + "/" + strconv.FormatInt(ss.Sent, 10) +
			", bytes from/to upstream:" + strconv.FormatInt(urecv, 10) + "/" + strconv.FormatInt(usent, 10)
	}
loop:
	for {
		// ngx_stream_proxy_test_finalize: done once every datagram got
		// its proxy_responses answers (and proxy_requests came).
		if p.Responses >= 0 && dg.Requests > 0 && dg.Responses >= p.Responses*dg.Requests &&
			(p.Requests == 0 || dg.Requests >= p.Requests) {
			ss.Note("info", "udp done"+counts())
			break
		}
		var b []byte
		var fromClient bool
		if havePending {
			b, havePending, fromClient = pending, false, true
		}
		if !fromClient {
			select {
			case d, ok := <-in:
				if !ok {
					in = nil
					if p.Requests > 0 && dg.Requests >= p.Requests || unbound.Load() {
						// The listener unbound the session after its
						// proxy_requests datagrams, or the reader did
						// before the last answer: the answers may still come.
						continue
					}
					break loop
				}
				ss.Received += int64(len(d.B))
				if d.Written {
					if p.Requests == 0 || dg.Requests < p.Requests {
						dg.Requests++
					}
					usent += int64(d.Sent)
					lastActive = time.Now()
					if d.Err != nil {
						ss.Log("error", "send() failed ("+errnoText(d.Err)+") while proxying connection", ss.logContext(srv.Name, usent, urecv))
						status = 502
						break loop
					}
					continue
				}
				b, fromClient = d.B, true
			case r := <-got:
				if firstByte < 0 {
					firstByte = time.Since(start)
				}
				urecv += int64(r.n)
				ss.Sent += int64(r.sent)
				dg.Responses++
				lastActive = time.Now()
			case err := <-watchErr:
				readErr <- err
				ss.Log("error", "recv() failed ("+errnoText(err)+") while proxying connection", ss.logContext(srv.Name, usent, urecv))
				status = 502
				break loop
			case <-timer.C:
				if idle := time.Since(lastActive); idle < p.Timeout {
					timer.Reset(p.Timeout - idle)
					continue
				}
				if p.Responses < 0 || dg.Responses >= p.Responses*dg.Requests {
					ss.Note("info", "udp timed out"+counts())
				} else {
					ss.Log("error", "upstream timed out (110: Connection timed out) while proxying connection", ss.logContext(srv.Name, usent, urecv))
					status = 502
				}
				break loop
			}
		}
		if fromClient {
			if p.Requests == 0 || dg.Requests < p.Requests {
				dg.Requests++
				dg.sent.Add(1)
				if upRate > 0 {
					// The datagram waits as nginx's delayed read would.
					upTotal += int64(len(b))
					rateDelay(upRate, upTotal-int64(len(b)), 0, start)
				}
				n, err := nc.Write(b)
				usent += int64(n)
				if upRate > 0 {
					rateDelay(upRate, upTotal, int64(len(b)), start)
				}
				lastActive = time.Now()
				if err != nil {
					ss.Log("error", "send() failed ("+errnoText(err)+") while proxying connection", ss.logContext(srv.Name, usent, urecv))
					status = 502
					break loop
				}
				if dg.Direct != nil && upRate == 0 {
					dg.Direct(nc)
					dg.Direct = nil
				}
			}
		}
	}
	if dg.Done != nil {
		dg.Done()
	}
	nc.Close()
	// Replies the reader forwarded before it saw the close count too.
	for drained := false; !drained; {
		select {
		case r := <-got:
			urecv += int64(r.n)
			ss.Sent += int64(r.sent)
			dg.Responses++
		case <-readErr:
			drained = len(got) == 0
			readErr <- nil
			if !drained {
				continue
			}
		}
	}
	release(status != 200)
	ss.UpstreamSent, ss.UpstreamRecv = usent, urecv
	ss.State.AddUpstream(rewrite.UpstreamTry{Addr: srv.Name, Time: time.Since(start), ConnectTime: connectTime,
		HeaderTime: firstByte, BytesSent: usent, BytesReceived: urecv})
	return status
}

// rateDelay waits as ngx_stream_proxy_process's rate limit: after n bytes
// read, n/rate seconds; and no more than rate * (whole seconds since
// start + 1) bytes in total.
func rateDelay(rate, total, n int64, start time.Time) {
	d := time.Duration(n) * time.Second / time.Duration(rate)
	if over := total - rate*(int64(time.Since(start)/time.Second)+1); over >= 0 && n == 0 {
		d = time.Duration(over)*time.Second/time.Duration(rate) + time.Millisecond
	}
	if d > 0 {
		time.Sleep(d)
	}
}
