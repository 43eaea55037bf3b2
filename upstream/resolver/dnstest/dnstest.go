// Package dnstest is a fake name server for tests of the resolver: it
// answers UDP and TCP queries on one loopback port from a table, and counts
// what it was asked.
package dnstest

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Record types.
const (
	A     = 1
	CNAME = 5
	AAAA  = 28
)

// Record is one answer record.
type Record struct {
	Type  uint16
	TTL   uint32
	Addr  string // A or AAAA
	CNAME string
}

// Reply is the server's answer to one "name type" question.
type Reply struct {
	Code      int
	Records   []Record
	Truncate  bool // over UDP: TC set and no records
	Silent    bool // no answer at all
	OnlyFirst bool // answer the first query only, SERVFAIL the others
}

// Server is a running fake name server.
type Server struct {
	Addr    netip.AddrPort
	mu      sync.Mutex
	replies map[string]Reply // by "name TYPE", name in lower case
	asked   map[string]int
	tcp     atomic.Int32
}

// Start serves replies until the test ends. Keys are "name A" or
// "name AAAA"; a question not in the table gets an empty answer.
func Start(t testing.TB, replies map[string]Reply) *Server {
	t.Helper()
	// The same port number for UDP and TCP: a few tries, as another
	// process may hold the TCP side of a free UDP port.
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for range 20 {
		if pc, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp4", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), replies: replies, asked: map[string]int{}}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := s.answer(buf[:n], false); out != nil {
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
			s.tcp.Add(1)
			go s.serveTCP(c)
		}
	}()
	return s
}

func (s *Server) serveTCP(c net.Conn) {
	defer c.Close()
	var size [2]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return
	}
	q := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(c, q); err != nil {
		return
	}
	if out := s.answer(q, true); out != nil {
		c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
	}
}

// Asked is how many queries came for key ("name A").
func (s *Server) Asked(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[key]
}

// TCPConns is how many TCP connections came.
func (s *Server) TCPConns() int { return int(s.tcp.Load()) }

func (s *Server) answer(q []byte, tcp bool) []byte {
	var labels []string
	off := 12
	for off < len(q) && q[off] != 0 {
		n := int(q[off])
		if off+1+n > len(q) {
			return nil
		}
		labels = append(labels, strings.ToLower(string(q[off+1:off+1+n])))
		off += 1 + n
	}
	if off+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off+1:])
	key := strings.Join(labels, ".") + " " + map[uint16]string{A: "A", AAAA: "AAAA"}[qtype]
	s.mu.Lock()
	r := s.replies[key]
	s.asked[key]++
	n := s.asked[key]
	s.mu.Unlock()
	if r.Silent {
		return nil
	}
	if r.OnlyFirst && n > 1 {
		r = Reply{Code: 2}
	}
	records := r.Records
	flags := uint16(0x8180 | r.Code)
	if r.Truncate && !tcp {
		flags |= 0x0200
		records = nil
	}
	out := append([]byte(nil), q[:off+5]...)
	binary.BigEndian.PutUint16(out[2:], flags)
	binary.BigEndian.PutUint16(out[6:], uint16(len(records)))
	for _, rec := range records {
		out = append(out, 0xc0, 12) // the question's name
		out = binary.BigEndian.AppendUint16(out, rec.Type)
		out = binary.BigEndian.AppendUint16(out, 1)
		out = binary.BigEndian.AppendUint32(out, rec.TTL)
		var data []byte
		if rec.Type == CNAME {
			for label := range strings.SplitSeq(rec.CNAME, ".") {
				data = append(data, byte(len(label)))
				data = append(data, label...)
			}
			data = append(data, 0)
		} else {
			data = netip.MustParseAddr(rec.Addr).AsSlice()
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(data)))
		out = append(out, data...)
	}
	return out
}
