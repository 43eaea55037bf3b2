package harness

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	OpText   byte = 0x1
	OpBinary byte = 0x2
	OpClose  byte = 0x8
	OpPing   byte = 0x9
	OpPong   byte = 0xA
)

// Frame is one final (FIN set) WebSocket frame.
type Frame struct {
	Op      byte
	Payload []byte
}

// String summarizes a frame for diffs: short payloads verbatim, long ones by length and hash.
func (f Frame) String() string {
	names := map[byte]string{OpText: "text", OpBinary: "binary", OpClose: "close", OpPing: "ping", OpPong: "pong", 0: "continuation"}
	name, ok := names[f.Op]
	if !ok {
		name = fmt.Sprintf("op%d", f.Op)
	}
	if len(f.Payload) <= 64 {
		return fmt.Sprintf("%s %q", name, f.Payload)
	}
	sum := sha256.Sum256(f.Payload)
	return fmt.Sprintf("%s len=%d sha256=%s", name, len(f.Payload), hex.EncodeToString(sum[:8]))
}

// maxFrame bounds a frame so a broken peer cannot make the harness allocate without limit.
const maxFrame = 8 << 20

// ReadFrame reads one frame, unmasking it if masked.
func ReadFrame(br *bufio.Reader) (Frame, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return Frame{}, err
	}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return Frame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return Frame{}, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > maxFrame {
		return Frame{}, fmt.Errorf("frame of %d bytes is over the limit", n)
	}
	var mask [4]byte
	masked := hdr[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(br, mask[:]); err != nil {
			return Frame{}, err
		}
	}
	f := Frame{Op: hdr[0] & 0x0F, Payload: make([]byte, n)}
	if _, err := io.ReadFull(br, f.Payload); err != nil {
		return Frame{}, err
	}
	if masked {
		for i := range f.Payload {
			f.Payload[i] ^= mask[i%4]
		}
	}
	return f, nil
}

// WriteFrame writes f as one final frame, masked with mask when it is not nil (clients must mask;
// a fixed key keeps the bytes on the wire identical between runs).
func WriteFrame(w io.Writer, f Frame, mask []byte) error {
	buf := []byte{0x80 | f.Op, 0}
	if mask != nil {
		buf[1] = 0x80
	}
	switch n := len(f.Payload); {
	case n < 126:
		buf[1] |= byte(n)
	case n <= 0xFFFF:
		buf[1] |= 126
		buf = binary.BigEndian.AppendUint16(buf, uint16(n))
	default:
		buf[1] |= 127
		buf = binary.BigEndian.AppendUint64(buf, uint64(n))
	}
	start := len(buf)
	if mask != nil {
		buf = append(buf, mask[:4]...)
		start = len(buf)
	}
	buf = append(buf, f.Payload...)
	if mask != nil {
		for i := range f.Payload {
			buf[start+i] ^= mask[i%4]
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write %s frame: %w", f, err)
	}
	return nil
}
