package freelist

import "testing"

func TestList(t *testing.T) {
	l := New[int](2)
	if x := l.Get(); x != nil {
		t.Fatalf("an empty list gave %p", x)
	}
	a, b, c := new(int), new(int), new(int)
	l.Put(a)
	l.Put(b)
	l.Put(c) // full: left to the collector
	if n := l.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	for _, want := range []*int{b, a, nil} {
		if got := l.Get(); got != want {
			t.Fatalf("Get = %p, want %p", got, want)
		}
	}
}

func BenchmarkGetPut(b *testing.B) {
	l := New[[64]byte](64)
	l.Put(new([64]byte))
	b.ReportAllocs()
	for b.Loop() {
		l.Put(l.Get())
	}
}
