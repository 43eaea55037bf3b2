package auth

import "testing"

// BenchmarkYescrypt is Debian's default cost ("j9T": N=4096, r=32, 4 MiB):
// what one auth_basic check of such a hash costs.
func BenchmarkYescrypt(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := yescryptCrypt([]byte("password"), "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$"); !ok {
			b.Fatal("failed")
		}
	}
}

// BenchmarkGostYescrypt: the same cost, with GOST's HMACs after.
func BenchmarkGostYescrypt(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := gostYescryptCrypt([]byte("password"), "$gy$j9T$F5Jx5fExrKuPp53xLKQ..1$"); !ok {
			b.Fatal("failed")
		}
	}
}
