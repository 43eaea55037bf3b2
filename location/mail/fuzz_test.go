package mail

import "testing"

// FuzzParse feeds untrusted client bytes to each protocol's command
// parser in two pieces: no panic, and the buffer indices stay in range.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"USER a\r\nPASS b\r\n", "AUTH LOGIN\r\nx\r\n", "APOP a b\r\n", "\r\n\n", "NOOP\rX"} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, in string, cut uint8) {
		for _, p := range protocols {
			s := newTestSession(p, 256)
			if len(in) > 256 {
				in = in[:256]
			}
			k := min(int(cut), len(in))
			for _, part := range []string{in[:k], in[k:]} {
				s.last += copy(s.buf[s.last:], part)
				for i := 0; i < 300; i++ {
					rc := p.parse(s)
					if s.pos < 0 || s.pos > s.last {
						t.Fatalf("pos %d out of [0,%d]", s.pos, s.last)
					}
					if rc == rcAgain {
						break
					}
					s.args = s.args[:0]
					if s.state != 0 {
						s.argStart = s.pos
					}
				}
			}
		}
	})
}
