package upstream

import (
	"fmt"
	"testing"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// FuzzFastCGIResponse feeds a backend's bytes, cut at any point, through
// the record decoder and the CGI head parser: no panic, no piece longer
// than its input, and the same stdout whatever the cut (and the same
// error, byte by byte).
func FuzzFastCGIResponse(f *testing.F) {
	f.Add(records(out+"Status: 404 x\r\nLocation: /a\r\n\r\nbody", errs+"warn\n.", out, end), 3)
	f.Add(records(out+"Content-Ty", out+"pe: a\r\n\r\n"), 9)
	f.Add([]byte{1, 6, 0, 1, 0xff, 0xff, 0xff, 0}, 4)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		if cut < 0 || cut > len(in) {
			cut = len(in) / 2
		}
		decode := func(parts ...[]byte) (string, error) {
			var d fcgiDecoder
			var stdout []byte
			for _, part := range parts {
				for len(part) > 0 {
					piece, data, used, err := d.next(part)
					if err != nil {
						return string(stdout), err
					}
					if used == 0 || used > len(part) || len(data) > used {
						t.Fatalf("used %d of %d, data %d", used, len(part), len(data))
					}
					part = part[used:]
					switch piece {
					case pieceStdout:
						stdout = append(stdout, data...)
						var h http1.ResponseHead
						if n, err := http1.ParseHeaderLines(stdout, &h); err == nil && n > 0 {
							fcgiStatus(&h)
						}
					case pieceStderr:
						trimStderr(data)
					}
				}
			}
			return string(stdout), nil
		}
		whole, err1 := decode(in)
		split, err2 := decode(in[:cut], in[cut:])
		if (err1 == nil) != (err2 == nil) || whole != split {
			t.Fatalf("whole %q (%v) != split %q (%v)", whole, err1, split, err2)
		}
		// Byte by byte, no record header is ever whole at hand: the
		// same stdout and the same error as a header taken at once.
		bytewise := make([][]byte, len(in))
		for i := range in {
			bytewise[i] = in[i : i+1]
		}
		single, err3 := decode(bytewise...)
		if fmt.Sprint(err1) != fmt.Sprint(err3) || whole != single {
			t.Fatalf("whole %q (%v) != byte by byte %q (%v)", whole, err1, single, err3)
		}
	})
}
