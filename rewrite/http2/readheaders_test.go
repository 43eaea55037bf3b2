package http2

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
)

func headersRaw(flags http2.Flags, id uint32, payload []byte) []byte {
	n := len(payload)
	b := []byte{byte(n >> 16), byte(n >> 8), byte(n), byte(http2.FrameHeaders), byte(flags),
		byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
	return append(b, payload...)
}

// framerHeaders is what the Framer reads of a HEADERS frame.
func framerHeaders(raw []byte) string {
	f, err := http2.NewFramer(nil, bytes.NewReader(raw)).ReadFrame()
	if hf, ok := f.(*http2.HeadersFrame); ok {
		return fmt.Sprintf("%q %s %#v", hf.HeaderBlockFragment(), prioString(hf.Priority), err)
	}
	return fmt.Sprintf("%q %s %#v", []byte(nil), prioString(http2.PriorityParam{}), err)
}

// ownHeaders is what readHeaders reads of it, from the read buffer.
func ownHeaders(raw []byte) string {
	fh, err := http2.ReadFrameHeader(bytes.NewReader(raw))
	if err != nil {
		return err.Error()
	}
	c := &Conn{br: newConnReader(nil, nil, raw[9:]), block: &headerBlock{}}
	if err := c.readHeaders(fh); err != nil {
		return fmt.Sprintf("%q %s %#v", []byte(nil), prioString(http2.PriorityParam{}), err)
	}
	hf := c.block.hf
	return fmt.Sprintf("%q %s %#v", hf.HeaderBlockFragment(), prioString(hf.Priority), error(nil))
}

// prioString is the priority's fields of HTTP/2's HEADERS frame (not
// RFC 9218's, which the Framer leaves unset there).
func prioString(p http2.PriorityParam) string {
	return fmt.Sprintf("{StreamDep:%d Exclusive:%v Weight:%d}", p.StreamDep, p.Exclusive, p.Weight)
}

// A HEADERS frame read from the buffer gives what the Framer gives: the
// fragment and priority, or its error.
func TestReadHeaders(t *testing.T) {
	end, pad, prio := http2.FlagHeadersEndHeaders, http2.FlagHeadersPadded, http2.FlagHeadersPriority
	tests := []struct {
		name    string
		flags   http2.Flags
		id      uint32
		payload string
		want    string
	}{
		{"plain", end, 1, "\x82\x86", `"\x82\x86" {StreamDep:0 Exclusive:false Weight:0} <nil>`},
		{"padded, a priority", end | pad | prio, 3, "\x02\x80\x00\x00\x01\x0f\x82\x00\x00",
			`"\x82" {StreamDep:1 Exclusive:true Weight:15} <nil>`},
		{"no pad byte", pad, 1, "", `"" {StreamDep:0 Exclusive:false Weight:0} &errors.errorString{s:"unexpected EOF"}`},
		{"a short priority", prio, 1, "\x00\x00\x00\x01", `"" {StreamDep:0 Exclusive:false Weight:0} &errors.errorString{s:"unexpected EOF"}`},
		{"padded past the end", pad, 5, "\x03\x82", `"" {StreamDep:0 Exclusive:false Weight:0} http2.StreamError{StreamID:0x5, Code:0x1, Cause:error(nil)}`},
		{"stream 0", end, 0, "\x82", `"" {StreamDep:0 Exclusive:false Weight:0} 0x1`},
	}
	for _, tc := range tests {
		raw := headersRaw(tc.flags, tc.id, []byte(tc.payload))
		if diff := cmp.Diff(framerHeaders(raw), ownHeaders(raw)); diff != "" {
			t.Errorf("%s (-framer +own):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(tc.want, ownHeaders(raw)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// FuzzReadHeaders: readHeaders reads any HEADERS frame as the Framer.
func FuzzReadHeaders(f *testing.F) {
	f.Add(byte(0x2c), uint32(3), []byte("\x02\x80\x00\x00\x01\x0f\x82\x00\x00"))
	f.Fuzz(func(t *testing.T, flags byte, id uint32, payload []byte) {
		if len(payload) > bufSize {
			return
		}
		raw := headersRaw(http2.Flags(flags), id&(1<<31-1), payload)
		if diff := cmp.Diff(framerHeaders(raw), ownHeaders(raw)); diff != "" {
			t.Fatalf("(-framer +own):\n%s", diff)
		}
	})
}

// A wake-up goes to a wait under way only: none is left in the channel
// for nobody (the next wait, or the next stream, would take it).
func TestWakeOnlyAWait(t *testing.T) {
	s := &Stream{readWake: make(chan struct{}, 1), sendWake: make(chan struct{}, 1), bodyWanted: make(chan struct{}, 1)}
	var got []int
	s.wakeLocked(waitRead, s.readWake)
	s.wakeLocked(waitSend, s.sendWake)
	got = append(got, len(s.readWake), len(s.sendWake))
	s.waiting = waitRead | waitBody
	s.wakeLocked(waitRead, s.readWake)
	s.wakeLocked(waitSend, s.sendWake)
	s.wakeLocked(waitBody, s.bodyWanted)
	got = append(got, len(s.readWake), len(s.sendWake), len(s.bodyWanted))
	if diff := cmp.Diff([]int{0, 0, 1, 0, 1}, got); diff != "" {
		t.Errorf("tokens in readWake, sendWake (, bodyWanted) (-want +got):\n%s", diff)
	}
}
