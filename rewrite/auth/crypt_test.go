package auth

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Vectors made with Debian's libxcrypt (perl's crypt), openssl passwd
// and nginx's own test suite.
var vectors = []struct{ password, stored string }{
	{"password", "sa3tHJ3/KuYvI"},
	{"password", "abJnggxhB/yWI"},
	{"x", "abiQ6Ep3EYTHc"},
	{"p\xffassword", "abAqaqfHYK8qc"},
	{"x", "$1$$LP5.V3ajGqHDdXW6XwZQy."},
	{"password", "$1$ab$oKsM6dtDD2L1bKowOBX.7."},
	{"password", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"},
	{"password", "$1$sa#t$OHUdLzsmIFwvIcbGaVM.E1"},
	{"password", "$apr1$salt$Xxd1irWT9ycqoYxGFn4cb."},
	{"password", "$apr1$ab$vZXhMKiOqO1yMl8FLQFrs0"},
	{"password", "$5$rounds=1000$salt$p.wiWs2zrZ7irikO2AL64QDIJo00A3KDq2xWHpLJGgB"},
	{"password", "$5$ab$qeQJSoyiYLyCNJ4nhnpINuEqxziLz7BmT6ldjwrEtl9"},
	{"password", "$5$rounds=5000$ab$qeQJSoyiYLyCNJ4nhnpINuEqxziLz7BmT6ldjwrEtl9"},
	{"password", "$5$saltsaltsaltsalt$WsFBeg1qQ90JL3VkUTuM7xVV/5njhLngIVm6ftSnBR2"},
	{"password", "$6$$bLTg4cpho8PIUrjfsE7qlU08Qx2UEfw..xOc6I1wpGVtyVYToGrr7BzRdAAnEr5lYFr1Z9WcCf1xNZ1HG9qFW1"},
	{"password", "$6$rounds=1000$saltsaltsaltsalt$3.brVxJ/6VAQv6Cd3dm5xeNUkjPvlI9Eao6nz5O6JfSs2klDra/PNNFRXvu4MBsuD1w4JnIFFHaBvPRi2HqVn1"},
	{"pw", "$2b$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q"},
	{"password", "$2y$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu"},
	{"password", "$2a$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu"},
	{strings.Repeat("x", 80), "$2b$04$abcdefghijklmnopqrstuubzadhGtS2zEF.gu0yd0opP6cVzb.e0i"},
	{"password", "$3$$8846f7eaee8fb117ad06bdd830b7586c"},
	{"password", "_J9..saltJW8FtKdEkNM"},
	{"password", "$7$CU..../....salt$r4ckezyK3/Wh7UWRZUCYlbUImq1wt069RwecCCIl6u4"},
	{"password", "$7$06..../....s$OaK0q/KOZ6Ig0AxTJI4fEFaeiLvSbXhF9jliBj9nRpC"},
	{"password", "$7$96..../....s$vhTzaB9I8SmiLVnQE5Fo8661HGFEc7rSGdCZ7R61s3B"},
	{"", "_J9..salt7oN3Rp4tKOo"},
	{"averylongpassword1234567", "_J9..salt5sTub7W3fe2"},
	{"password", "_...0saltiIdc23MCpmU"},
	{"password", "_....saltUT7G1QBPZ9s"},
	{"password", "$sha1$1000$salt$91xEa0TCSk6jnl996QgXUA8913Xy"},
	{"password", "$sha1$0$salt$gMhEgx9CAHre9oEPCTmDy8sy0xcv"},
	{"password", "$sha1$1$s$maRwmY.e4hCyQMOR0V1Hooeplz13"},
	{"p\xe4ss", "$3$$411b68984d6b19bbb302455798320a06"},
	{"", "$3$$31d6cfe0d16ae931b73c59d7e0c089c0"},
	{strings.Repeat("x", 200), "$3$$33564215584c7572e7ba233025d30554"},
	{"password", "{PLAIN}password"},
	{"password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="},
	{"password", "{SSHA}yI6cZwQadOA1e+/f+T+H3eCQQhRzYWx0"},
	{"password\x00ignored", "{PLAIN}password"},
	{"password", "{PLAIN}password\x00ignored"},
}

func TestVerifyVectors(t *testing.T) {
	for _, v := range vectors {
		if got := Verify([]byte(v.password), []byte(v.stored)); got != Match {
			t.Errorf("Verify(%q, %q) = %v, want Match", v.password, v.stored, got)
		}
		if got := Verify([]byte("1"+v.password), []byte(v.stored)); got != Mismatch {
			t.Errorf("Verify(1+%q, %q) = %v, want Mismatch", v.password, v.stored, got)
		}
	}
}

func TestVerifyMismatch(t *testing.T) {
	tests := []struct {
		name, password, stored string
		want                   Result
	}{
		{"broken md5", "1", "$1$", Mismatch},
		{"broken apr1", "1", "$apr1$", Mismatch},
		{"ssha short", "1", "{SSHA}Zm9vCg==", Mismatch},
		{"ssha bad base64", "1", "{SSHA}_____wQadOA1e+/f+T+H3eCQQhRzYWx0", Mismatch},
		{"sha bad", "1", "{SHA}Zm9vCg==", Mismatch},
		{"empty", "", "", Mismatch},
		{"des one char", "", "a", Mismatch},
		{"des bad salt", "password", "a#", Mismatch},
		{"bad char in md5 salt", "password", "$1$sa!t$x", Mismatch},
		{"rounds too small", "password", "$5$rounds=10$s$", Mismatch},
		{"rounds leading zero", "password", "$5$rounds=01000$s$", Mismatch},
		{"bcrypt minor c", "password", "$2c$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu", Mismatch},
		{"bcrypt unused salt bits", "password", "$2b$05$abcdefghijklmnopqrstuvWG29KuyeAicPCJODk1zjyGvyQUU2awu", Mismatch},
		{"bcrypt cost 3", "password", "$2b$03$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu", Mismatch},
		{"bcrypt trailing", "password", "$2b$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awux", Mismatch},
		{"unknown method", "password", "$9$abc", Mismatch},
		{"yescrypt other hash", "password", "$y$j9T$salt$NneOCo6fmVy5/hoXxiGz4R6rrxBZUTXv4oi35IMCx.1", Mismatch},
		{"sunmd5", "password", "$md5,rounds=904$salt$x", Unsupported},
		{"failure token", "x", "*0", Mismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify([]byte(tt.password), []byte(tt.stored)); got != tt.want {
				t.Errorf("Verify(%q, %q) = %v, want %v", tt.password, tt.stored, got, tt.want)
			}
		})
	}
}

// TestVerifyOpenSSL checks hashes openssl passwd makes, when it is here.
func TestVerifyOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl: TestVerifyVectors holds its vectors")
	}
	for _, alg := range []string{"-1", "-apr1", "-5", "-6"} {
		for _, pw := range []string{"password", "a", strings.Repeat("long", 20), "ünï"} {
			out, err := exec.Command("openssl", "passwd", alg, "-salt", "s4lt.x", pw).Output()
			if err != nil {
				t.Fatalf("openssl passwd %s: %v", alg, err)
			}
			stored := strings.TrimSpace(string(out))
			if got := Verify([]byte(pw), []byte(stored)); got != Match {
				t.Errorf("Verify(%q, %q) = %v, want Match", pw, stored, got)
			}
		}
	}
}

// TestVerifyLibc compares Verify with the crypt(3) nginx calls (perl's
// crypt is the same libxcrypt): for random passwords and settings, crypt's
// output must verify, and a setting verifies exactly when crypt gives it
// back unchanged.
func TestVerifyLibc(t *testing.T) {
	if _, err := exec.LookPath("perl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("perl is missing")
		}
		t.Skip("no perl: TestVerifyVectors holds vectors it made")
	}
	r := rand.New(rand.NewPCG(1, 2))
	const chars = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$#!:=-_"
	str := func(max int, alphabet string) string {
		b := make([]byte, r.IntN(max+1))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	var pws, settings []string
	for i := range 400 {
		pw := str(20, chars+"\x80\xff ")
		var s string
		switch i % 8 {
		case 0:
			s = str(3, chars) + str(11, itoa64)
		case 1:
			s = "$1$" + str(10, chars)
		case 2:
			s = "$5$" + str(18, chars)
		case 3:
			s = "$6$" + str(18, chars)
		case 4:
			s = fmt.Sprintf("$%d$rounds=%s$%s", 5+i%2, []string{"1000", "999", "01000", "1001", "", "x"}[r.IntN(6)], str(5, itoa64))
		case 5:
			s = "$2" + string("abxyc"[r.IntN(5)]) + "$0" + string("3456"[r.IntN(4)]) + "$" + str(22, itoa64)
		case 6:
			s = "$apr1$" + str(10, chars)
		case 7:
			switch r.IntN(6) {
			case 5:
				pick := func(opts ...string) string { return opts[r.IntN(len(opts))] }
				s = "$7$" + pick(".", "/", "0", "1", "3", "x") + pick("6....", "/....", ".....", "a.../") +
					pick("/....", "0....", ".....") + str(6, chars)
			case 4:
				s = "_" + str(2, itoa64) + ".." + str(5, chars) // counts below 4096
				if r.IntN(3) == 0 {
					s = "_...." + str(5, chars) // count 0
				}
				pw += str(20, chars)
			case 0:
				s = "$3$" + str(3, chars)
			case 1:
				s = "$sha1$" + str(3, "0123456789x") + "$" + str(12, chars)
			default:
				s = str(2, itoa64)
				if r.IntN(2) == 0 {
					s += str(30, itoa64) // bigcrypt
					pw += str(40, chars)
				}
			}
		}
		pws, settings = append(pws, pw), append(settings, s)
	}
	var in bytes.Buffer
	for i := range pws {
		fmt.Fprintf(&in, "%x %x\n", pws[i], settings[i])
	}
	cmd := exec.Command("perl", "-ne", `chomp; my ($p, $s) = map { pack("H*", $_) } split / /, $_, -1; my $h = crypt($p, $s); print defined $h ? unpack("H*", $h) : "-", "\n"`)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for i := 0; sc.Scan(); i++ {
		var h []byte
		if sc.Text() != "-" {
			fmt.Sscanf(sc.Text(), "%x", &h)
		}
		pw, s := []byte(pws[i]), []byte(settings[i])
		if strings.HasPrefix(settings[i], "$apr1$") {
			continue // nginx's own, not crypt(3)'s
		}
		wantSame := bytes.Equal(h, s)
		if got := Verify(pw, s) == Match; got != wantSame {
			t.Errorf("Verify(%q, %q) matches = %v; crypt gives %q", pw, s, got, h)
		}
		if len(h) > 0 && h[0] != '*' {
			got := Verify(pw, h)
			if got == Unsupported {
				continue
			}
			if diff := cmp.Diff(Match, got); diff != "" {
				t.Errorf("Verify(%q, crypt = %q) (-want +got):\n%s", pw, h, diff)
			}
		}
	}
}

// The cost of each format's check, for comparison with crypt(3)'s.
func BenchmarkVerify(b *testing.B) {
	for _, v := range []struct{ name, stored string }{
		{"des", "Xy66mTkgaWMYA"}, {"md5", "$1$SaLt$mAht8d4ruTHcl5CWW3suL/"},
		{"sha512", "$6$s6$MC93XOZK.SA4XYrBZo4wmdQjQNC52hkEmB78QBWoBDldcHtHf6eEVBdL82X2zgCSk3aqy0g4WOQWIRVj0BdW/0"},
		{"bsdi725", "_J9..saltJW8FtKdEkNM"}, {"plain", "{PLAIN}secret"},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				Verify([]byte("secret"), []byte(v.stored))
			}
		})
	}
}
