package imagefilter

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/google/go-cmp/cmp"
)

// recHost records what the Filter asks of its response.
type recHost struct {
	events []string
	params Params
}

func (h *recHost) Pass(t Type) error { h.events = append(h.events, "pass "+t.Name()); return nil }
func (h *recHost) Answer(t Type, r *Result) error {
	h.events = append(h.events, fmt.Sprintf("answer %s outcome=%d close=%v", t.Name(), r.Outcome, r.Close))
	return nil
}
func (h *recHost) Params() *Params { return &h.params }
func (h *recHost) Log(msg string)  { h.events = append(h.events, "log "+msg) }

// recNext is the link below: what reaches it.
type recNext struct {
	out  bytes.Buffer
	last bool
}

func (n *recNext) Body(p []byte, flush, last bool) error {
	n.out.Write(p)
	n.last = n.last || last
	return nil
}
func (n *recNext) SetNext(filter.Link) {}

func TestFilterPhases(t *testing.T) {
	gifBody := sample(t, GIF, 100, 120)
	tests := []struct {
		name   string
		mode   Mode
		length int64
		pieces [][]byte
		params Params
		events []string
		out    []byte
	}{
		{"test passes an image as it comes", Test, 1 << 20, [][]byte{gifBody[:5], gifBody[5:40], gifBody[40:]}, Params{},
			[]string{"pass gif"}, gifBody},
		{"test: no image", Test, 1 << 20, [][]byte{[]byte("SEE-THIS")}, Params{},
			[]string{"answer  outcome=0 close=false"}, nil},
		{"size: no image closes", SizeOnly, 1 << 20, [][]byte{[]byte("SEE-THIS")}, Params{},
			[]string{"answer  outcome=1 close=true"}, []byte(EmptyJSON)},
		{"size of an image", SizeOnly, 1 << 20, [][]byte{gifBody}, Params{Mode: SizeOnly},
			[]string{"answer gif outcome=1 close=false"}, AppendJSON(nil, Header{Width: 100, Height: 120}, GIF)},
		{"too big", Resize, 100, [][]byte{gifBody[:60], gifBody[60:]}, Params{},
			[]string{"log image filter: too big response", "answer gif outcome=0 close=false"}, nil},
		{"fits: as is", Resize, 1 << 20, [][]byte{gifBody[:20], gifBody[20:]}, Params{Mode: Resize, MaxWidth: 200, MaxHeight: 200},
			[]string{"answer gif outcome=2 close=false"}, gifBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &recHost{params: tt.params}
			var next recNext
			var f Filter
			f.SetNext(&next)
			f.Reset(h, tt.mode, tt.length)
			for _, p := range tt.pieces {
				if err := f.Body(p, false, false); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Body(nil, false, true); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.events, h.events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if !bytes.Equal(next.out.Bytes(), tt.out) {
				t.Errorf("out %q, want %q", next.out.Bytes(), tt.out)
			}
		})
	}
}
