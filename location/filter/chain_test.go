package filter

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recordWire records what reaches the wire, a flush as "|".
type recordWire struct{ got bytes.Buffer }

func (w *recordWire) WriteOut(p []byte) (int, error) { return w.got.Write(p) }
func (w *recordWire) FlushOut() error                { w.got.WriteByte('|'); return nil }

// wrap is a link that brackets each write with its mark.
type wrap struct {
	open, close byte
	next        Link
}

func (l *wrap) SetNext(n Link) { l.next = n }
func (l *wrap) Body(p []byte, flush, last bool) error {
	var b []byte
	if len(p) > 0 {
		b = append(append(append(b, l.open), p...), l.close)
	}
	if last {
		b = append(b, '$')
	}
	return l.next.Body(b, flush, last)
}

func TestChainOrder(t *testing.T) {
	var w recordWire
	var c Chain
	c.Reset(&w)
	if !c.Empty() {
		t.Fatal("a reset chain is not empty")
	}
	c.Push(&wrap{open: '(', close: ')'})
	c.Push(&wrap{open: '[', close: ']'})
	c.FilterBody([]byte("a"), false, false)
	c.FilterBody(nil, true, false)
	c.FilterBody([]byte("b"), false, true)
	// The first link pushed sees the handler's bytes first.
	if d := cmp.Diff("[(a)]|[(b)$]$", w.got.String()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
