package autoindex

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// 2024-01-02 03:04:05 UTC.
const when = 1704164645

func entry(name string, dir, file bool, size int64) Entry {
	return Entry{Name: []byte(name), Dir: dir, File: file, Mtime: when, Size: size}
}

func TestSort(t *testing.T) {
	es := []Entry{entry("b", false, true, 0), entry("z", true, false, 0), entry("B", false, true, 0),
		entry("a", true, false, 0), entry("\xd1\x84", false, true, 0), entry("_", false, false, 0)}
	Sort(es)
	var got []string
	for _, e := range es {
		got = append(got, string(e.Name))
	}
	want := []string{"a", "z", "B", "_", "b", "\xd1\x84"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
}

// htmlLine renders one entry's line of the html listing.
func htmlLine(e Entry, o HTMLOptions) string {
	out := string(AppendHTML(nil, []byte("/"), []Entry{e}, o))
	start := strings.Index(out, "../</a>\r\n") + len("../</a>\r\n")
	end := strings.Index(out, "</pre>")
	return out[start:end]
}

func TestHTMLEntry(t *testing.T) {
	pad := func(n int) string { return strings.Repeat(" ", n) }
	date := " 02-Jan-2024 03:04 "
	f := strings.Repeat("\xd1\x84", 45) // 45 two-byte characters
	tests := []struct {
		name string
		e    Entry
		o    HTMLOptions
		want string
	}{
		{"file", entry("a", false, true, 7), HTMLOptions{ExactSize: true},
			`<a href="a">a</a>` + pad(49) + date + pad(18) + "7\r\n"},
		{"dir gets a slash", entry("d", true, false, 4096), HTMLOptions{ExactSize: true},
			`<a href="d/">d/</a>` + pad(48) + date + pad(18) + "-\r\n"},
		{"dir of 49 keeps its slash", entry(strings.Repeat("d", 49), true, false, 0), HTMLOptions{},
			`<a href="` + strings.Repeat("d", 49) + `/">` + strings.Repeat("d", 49) + `/</a>` + date + pad(6) + "-\r\n"},
		{"dir of 50 loses it", entry(strings.Repeat("d", 50), true, false, 0), HTMLOptions{},
			`<a href="` + strings.Repeat("d", 50) + `/">` + strings.Repeat("d", 50) + `</a>` + date + pad(6) + "-\r\n"},
		{"51 is cut", entry(strings.Repeat("x", 51), false, true, 0), HTMLOptions{},
			`<a href="` + strings.Repeat("x", 51) + `">` + strings.Repeat("x", 47) + `..&gt;</a>` + date + pad(6) + "0\r\n"},
		{"escaped", entry(`a<&>"'b`, false, true, 0), HTMLOptions{},
			`<a href="a%3C%26%3E%22%27b">a&lt;&amp;&gt;&quot;'b</a>` + pad(43) + date + pad(6) + "0\r\n"},
		{"escaped long counts characters before escaping", entry(strings.Repeat("<", 60), false, true, 0), HTMLOptions{},
			`<a href="` + strings.Repeat("%3C", 60) + `">` + strings.Repeat("&lt;", 47) + `..&gt;</a>` + date + pad(6) + "0\r\n"},
		{"uri component", entry("a b:c?d#e%f~g.h-i_j", false, true, 0), HTMLOptions{},
			`<a href="a%20b%3Ac%3Fd%23e%25f~g.h-i_j">a b:c?d#e%f~g.h-i_j</a>` + pad(31) + date + pad(6) + "0\r\n"},
		{"utf-8 by characters", entry(f, false, true, 0), HTMLOptions{UTF8: true},
			`<a href="` + strings.Repeat("%D1%84", 45) + `">` + f + `</a>` + pad(5) + date + pad(6) + "0\r\n"},
		{"utf-8 cut by characters", entry("ab"+f+"cdef", false, true, 0), HTMLOptions{UTF8: true},
			`<a href="ab` + strings.Repeat("%D1%84", 45) + `cdef">ab` + strings.Repeat("\xd1\x84", 45) + `..&gt;</a>` + date + pad(6) + "0\r\n"},
		{"bytes without utf-8", entry(f, false, true, 0), HTMLOptions{},
			`<a href="` + strings.Repeat("%D1%84", 45) + `">` + f[:47] + `..&gt;</a>` + date + pad(6) + "0\r\n"},
		{"invalid utf-8 counts bytes", entry("\xd1\x84\xff", false, true, 0), HTMLOptions{UTF8: true},
			`<a href="%D1%84%FF">` + "\xd1\x84\xff" + `</a>` + pad(47) + date + pad(6) + "0\r\n"},
		{"overlong utf-8 is invalid", entry("\xc0\x80", false, true, 0), HTMLOptions{UTF8: true},
			`<a href="%C0%80">` + "\xc0\x80" + `</a>` + pad(48) + date + pad(6) + "0\r\n"},
		{"localtime offset", Entry{Name: []byte("t"), File: true, Mtime: when}, HTMLOptions{Offset: 3*3600 + 1800},
			`<a href="t">t</a>` + pad(49) + " 02-Jan-2024 06:34 " + pad(6) + "0\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, htmlLine(tt.e, tt.o)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestScaledSize(t *testing.T) {
	tests := []struct {
		size int64
		want string
	}{
		{0, "      0"}, {9999, "   9999"}, {10000, "    10K"}, {10751, "    10K"}, {10752, "    11K"},
		{1024*1024 - 1, "  1024K"}, {1024 * 1024, "     1M"}, {23*1024*1024 + 512*1024 - 1, "    23M"},
		{23*1024*1024 + 512*1024, "    24M"}, {1 << 30, "     1G"}, {5<<30 + 1<<29, "     6G"},
		{1 << 50, "1048576G"},
	}
	for _, tt := range tests {
		if got := string(appendScaledSize(nil, tt.size)); got != tt.want {
			t.Errorf("size %d: got %q, want %q", tt.size, got, tt.want)
		}
	}
}

func TestAppendHTMLPage(t *testing.T) {
	got := string(AppendHTML(nil, []byte("/a<b>/"), nil, HTMLOptions{}))
	want := "<html>\r\n<head><title>Index of /a&lt;b&gt;/</title></head>\r\n<body>\r\n" +
		"<h1>Index of /a&lt;b&gt;/</h1><hr><pre><a href=\"../\">../</a>\r\n</pre><hr></body>\r\n</html>\r\n"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestAppendJSON(t *testing.T) {
	es := []Entry{entry("d", true, false, 4096), entry("q\"\\\n\x01", false, true, 42), entry("l", false, false, 3)}
	const d = "Tue, 02 Jan 2024 03:04:05 GMT"
	want := "[\r\n{ \"name\":\"d\", \"type\":\"directory\", \"mtime\":\"" + d + "\" }," +
		"\r\n{ \"name\":\"q\\\"\\\\\\n\\u0001\", \"type\":\"file\", \"mtime\":\"" + d + "\", \"size\":42 }," +
		"\r\n{ \"name\":\"l\", \"type\":\"other\", \"mtime\":\"" + d + "\" }\r\n]"
	if diff := cmp.Diff(want, string(AppendJSON(nil, es, nil))); diff != "" {
		t.Errorf("json (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("/* callback */\r\ncb([\r\n]);", string(AppendJSON(nil, nil, []byte("cb")))); diff != "" {
		t.Errorf("jsonp (-want +got):\n%s", diff)
	}
}

func TestAppendXML(t *testing.T) {
	es := []Entry{entry("d", true, false, 4096), entry(`<&>"`, false, true, 42), entry("l", false, false, 3)}
	want := "<?xml version=\"1.0\"?>\r\n<list>\r\n" +
		"<directory mtime=\"2024-01-02T03:04:05Z\">d</directory>\r\n" +
		"<file mtime=\"2024-01-02T03:04:05Z\" size=\"42\">&lt;&amp;&gt;&quot;</file>\r\n" +
		"<other mtime=\"2024-01-02T03:04:05Z\">l</other>\r\n</list>\r\n"
	if d := cmp.Diff(want, string(AppendXML(nil, es))); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestValidCallback(t *testing.T) {
	tests := []struct {
		cb   string
		want bool
	}{
		{"", true}, {"foo", true}, {"A.b_9", true}, {"a-b", false}, {"a b", false}, {"a%20", false},
		{strings.Repeat("a", 128), true}, {strings.Repeat("a", 129), false}, {"\xc1", false},
	}
	for _, tt := range tests {
		if got := ValidCallback([]byte(tt.cb)); got != tt.want {
			t.Errorf("ValidCallback(%q) = %v, want %v", tt.cb, got, tt.want)
		}
	}
}

func TestAppendAllocatesNothingWithRoom(t *testing.T) {
	es := []Entry{entry("dir", true, false, 0), entry(strings.Repeat("\xd1\x84", 60), false, true, 1<<40)}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendHTML(buf[:0], []byte("/x/"), es, HTMLOptions{UTF8: true})
		buf = AppendJSON(buf[:0], es, []byte("cb"))
		buf = AppendXML(buf[:0], es)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per listing, want 0", allocs)
	}
}

// FuzzListing renders any name in every format: no panic, and the html
// line keeps its columns (the name column is 50 characters wide).
func FuzzListing(f *testing.F) {
	for _, s := range []string{"a", strings.Repeat("\xd1\x84", 49), "<>&\"", "\xf4\x90\x80\x80", "\xe0\x80", strings.Repeat("x", 60)} {
		f.Add([]byte(s), true, int64(12345))
	}
	f.Fuzz(func(t *testing.T, name []byte, utf8 bool, size int64) {
		if len(name) == 0 || size < 0 {
			return
		}
		es := []Entry{{Name: name, File: true, Mtime: when, Size: size}}
		for _, exact := range []bool{false, true} {
			out := AppendHTML(nil, []byte("/"), es, HTMLOptions{UTF8: utf8, ExactSize: exact})
			if !bytes.HasSuffix(out, []byte("</pre><hr></body>\r\n</html>\r\n")) {
				t.Fatalf("html listing not closed: %q", out)
			}
		}
		AppendJSON(nil, es, []byte("cb"))
		AppendXML(nil, es)
	})
}
