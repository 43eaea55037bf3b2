package referer

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type re struct{ *regexp.Regexp }

func (r re) Test(b []byte) bool { return r.Match(b) }

func TestInvalid(t *testing.T) {
	l := &List{None: true}
	for _, h := range []string{"exact.test", "other.test/gallery/", ".dot.test", "*.head.test", "*.x.head.test", "www.tail.*", "a.b.c.*"} {
		host, uri := h, ""
		for i := range h {
			if h[i] == '/' {
				host, uri = h[:i], h[i:]
				break
			}
		}
		if err := l.AddHost(host, uri); err != nil {
			t.Fatalf("AddHost(%q): %v", h, err)
		}
	}
	l.Regexes = []Regex{re{regexp.MustCompile(`(?i)\.example\.org/pics`)}}
	m := Compile(l, []Regex{re{regexp.MustCompile(`^re\d+\.site$`)}}, nil)
	tests := []struct {
		ref     string
		absent  bool
		invalid bool
	}{
		{absent: true},
		{ref: "", invalid: true},
		{ref: "http://i.r", invalid: true}, // shorter than "http://i.ru": blocked, not allowed here
		{ref: "http://exact.test"},
		{ref: "HTTPS://EXACT.TEST:443/x"},
		{ref: "http://exact.testx/", invalid: true},
		{ref: "http://other.test/gallery/1"},
		{ref: "http://other.test:99/gallery/"},
		{ref: "http://other.test/Gallery/", invalid: true},
		{ref: "http://other.test", invalid: true},
		{ref: "http://dot.test/"},
		{ref: "http://a.b.dot.test/"},
		{ref: "http://head.test/", invalid: true},
		{ref: "http://a.head.test/"},
		{ref: "http://a.x.head.test/"},
		{ref: "http://x.head.test/"},
		{ref: "http://www.tail.com/"},
		{ref: "http://www.tail.co.uk/"},
		{ref: "http://www.tail/", invalid: true},
		{ref: "http://a.b.c.d/"},
		{ref: "http://a.b.c/", invalid: true},
		{ref: "http://re12.site/"},
		{ref: "http://re.site/", invalid: true},
		{ref: "http://www.example.org/pics"},
		{ref: "http://" + string(make([]byte, 256)) + "/", invalid: true},
	}
	var buf [256]byte
	for _, tt := range tests {
		got := m.Invalid([]byte(tt.ref), !tt.absent, &buf)
		if diff := cmp.Diff(tt.invalid, got); diff != "" {
			t.Errorf("Invalid(%q, present=%v) (-want +got):\n%s", tt.ref, !tt.absent, diff)
		}
	}
}

func TestAddHostErrors(t *testing.T) {
	tests := []struct {
		hosts []string
		want  error
	}{
		{[]string{"a.*.b"}, ErrInvalid},
		{[]string{"*"}, ErrInvalid},
		{[]string{"a..b"}, ErrInvalid},
		{[]string{"**.a"}, ErrInvalid},
		{[]string{"a.test", "A.TEST"}, ErrConflict},
		{[]string{".a.test", "a.test"}, ErrConflict},
		{[]string{"a.test", ".a.test"}, ErrConflict},
		{[]string{"*.a.test", ".a.test"}, ErrConflict},
		{[]string{"www.a.*", "www.a.*"}, ErrConflict},
		{[]string{"*.a.test", "a.test", "www.a.*"}, nil},
	}
	for _, tt := range tests {
		var l List
		var err error
		for _, h := range tt.hosts {
			if err = l.AddHost(h, ""); err != nil {
				break
			}
		}
		if err != tt.want {
			t.Errorf("%q: got %v, want %v", tt.hosts, err, tt.want)
		}
	}
}

// FuzzReferer: any Referer value, no panic, and a referer equal to a
// valid exact host is valid.
func FuzzReferer(f *testing.F) {
	for _, s := range []string{"http://a.b.c/", "https://x.head.test:1/", "http://", "http://../", "HTTP://WWW.TAIL.X"} {
		f.Add(s)
	}
	l := &List{Blocked: true}
	for _, h := range []string{"exact.test", ".dot.test", "*.head.test", "*.x.head.test", "www.tail.*", "a.b.c.*", "tail.*"} {
		l.AddHost(h, "")
	}
	m := Compile(l, nil, nil)
	var buf [256]byte
	f.Fuzz(func(t *testing.T, ref string) {
		m.Invalid([]byte(ref), true, &buf)
		if m.Invalid([]byte("http://exact.test/"+ref), true, &buf) {
			t.Fatal("exact host invalid")
		}
	})
}

// TestEmptyName: the empty name (server_names in a server named "", or
// with no server_name) is an exact key, as ngx_hash_add_key takes it:
// it compiles (it panicked) and a real host does not match it.
func TestEmptyName(t *testing.T) {
	l := &List{None: true}
	if err := l.AddHost("", ""); err != nil {
		t.Fatal(err)
	}
	if !l.HasHosts() {
		t.Fatal("the empty name is no host")
	}
	m := Compile(l, nil, nil)
	var buf [256]byte
	for _, tt := range []struct {
		ref     string
		present bool
		invalid bool
	}{{"", false, false}, {"http://a.test/", true, true}} {
		if got := m.Invalid([]byte(tt.ref), tt.present, &buf); got != tt.invalid {
			t.Errorf("Invalid(%q, present=%v) = %v, want %v", tt.ref, tt.present, got, tt.invalid)
		}
	}
}
