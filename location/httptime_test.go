package location

import (
	"testing"
	"time"
)

func TestParseHTTPTime(t *testing.T) {
	want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Unix()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"Tue, 02 Jan 2024 03:04:05 GMT", want, true},
		{"Tue, 02 Jan 2024 03:04:05 GMT; length=11", want, true}, // old browsers' suffix
		{"Mon, 02 Jan 2024 03:04:05 GMT", want, true},            // the weekday is not checked
		{"Tue, 02 Jan 2024 03:04:05", want, true},                // nor the zone
		{"Tuesday, 02-Jan-24 03:04:05 GMT", want, true},
		{"Tue Jan  2 03:04:05 2024", want, true},
		{"Tue Jan 02 03:04:05 2024", want, true},
		{"Thu, 01 Jan 1970 00:00:01 GMT", 1, true},
		{"Friday, 31-Dec-99 23:59:59 GMT", time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC).Unix(), true},
		{"Thu, 29 Feb 2024 00:00:00 GMT", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC).Unix(), true},
		{"Thu, 29 Feb 2023 00:00:00 GMT", 0, false},
		{"Thu, 31 Apr 2024 00:00:00 GMT", 0, false},
		{"Tue, 02 Jan 2024 24:04:05 GMT", 0, false},
		{"Tue, 02 Xyz 2024 03:04:05 GMT", 0, false},
		{"Tue, 2 Jan 2024 03:04:05 GMT", 0, false},
		{"yesterday", 0, false},
		{"", 0, false},
		{"Tue, 02 Jan 2024 03:04", 0, false},
		{"Tue Jan  2 03:04:05", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseHTTPTime([]byte(tt.in))
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("parseHTTPTime(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzParseHTTPTime: any header value, no panic; a date Go formats
// reads back as itself.
func FuzzParseHTTPTime(f *testing.F) {
	f.Add([]byte("Tue, 02 Jan 2024 03:04:05 GMT"), int64(0))
	f.Add([]byte("Tue Jan  2 03:04:05 2024"), int64(1e9))
	f.Add([]byte("Tuesday, 02-Jan-24 03:04:05"), int64(-1))
	f.Fuzz(func(t *testing.T, b []byte, sec int64) {
		parseHTTPTime(b)
		if sec < 0 || sec > 1<<35 {
			return
		}
		s := time.Unix(sec, 0).UTC().Format(time.RFC1123)
		if got, ok := parseHTTPTime([]byte(s)); !ok || got != sec {
			t.Errorf("parseHTTPTime(%q) = %d, %v; want %d", s, got, ok, sec)
		}
	})
}
