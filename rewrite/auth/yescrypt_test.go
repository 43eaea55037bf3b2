package auth

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testdata/yescrypt.txt: what libxcrypt's crypt(3) gives (perl's crypt
// on Debian), for Debian's default cost and for the other flavors,
// p, t and salt forms, and the settings crypt refuses ("*0"); "$y$"
// and "$gy$".
func TestYescryptVectors(t *testing.T) {
	f, err := os.Open("testdata/yescrypt.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 {
			t.Fatalf("bad line %q", line)
		}
		pw, setting, want := parts[0], parts[1], parts[2]
		n++
		if prm, _, _ := parseYescryptSetting("$y$" + strings.TrimPrefix(strings.TrimPrefix(setting, "$y$"), "$gy$")); raceEnabled && prm.n*uint64(prm.r) > 1<<14 {
			continue
		}
		crypt := yescryptCrypt
		if strings.HasPrefix(setting, "$gy$") {
			crypt = gostYescryptCrypt
		}
		got, ok := crypt([]byte(pw), setting)
		gotText := string(got)
		if !ok {
			gotText = "*0"
		}
		if diff := cmp.Diff(want, gotText); diff != "" {
			t.Errorf("crypt(%q, %q) (-want +got):\n%s", pw, setting, diff)
			continue
		}
		if prm, _, _ := parseYescryptSetting("$y$" + strings.TrimPrefix(strings.TrimPrefix(want, "$y$"), "$gy$")); want == "*0" || prm.n*uint64(prm.r) > 1<<14 {
			continue // Debian's default cost once is enough (-race is slow)
		}
		// As auth_basic checks: the stored hash as the setting.
		if r := Verify([]byte(pw), []byte(want)); r != Match {
			t.Errorf("Verify(%q, %q) = %v, want a match", pw, want, r)
		}
		if r := Verify([]byte(pw+"x"), []byte(want)); r != Mismatch {
			t.Errorf("Verify(wrong, %q) = %v, want a mismatch", want, r)
		}
	}
	if n < 30 {
		t.Errorf("only %d vectors", n)
	}
}

// The same as perl's crypt (libxcrypt) on this machine, for random
// passwords and salts at small costs, "$y$" and "$gy$".
func TestYescryptAgainstLibxcrypt(t *testing.T) {
	if _, err := exec.LookPath("perl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("perl is required in CI")
		}
		t.Skip("no perl: the checked-in vectors still ran")
	}
	var settings, passwords []string
	for i := 0; i < 12; i++ {
		var b [20]byte
		rand.Read(b[:])
		salt := encodeYescrypt64(nil, b[:1+i])
		params := []string{"j75", "j65", "j85..", "j75/.", "/65", ".65", "j6.", "jA5"}[i%8]
		method := "$y$"
		if i%3 == 2 {
			method = "$gy$"
		}
		settings = append(settings, method+params+"$"+string(salt)+"$")
		passwords = append(passwords, fmt.Sprintf("%x", b[i:]))
	}
	script := `while (<STDIN>) { chomp; my ($p, $s) = split /\t/; print crypt($p, $s), "\n"; }`
	cmd := exec.Command("perl", "-e", script)
	var in strings.Builder
	for i := range settings {
		in.WriteString(passwords[i] + "\t" + settings[i] + "\n")
	}
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(want) != len(settings) {
		t.Fatalf("perl gave %d lines for %d settings", len(want), len(settings))
	}
	for i, s := range settings {
		if !strings.HasPrefix(want[i], "$y$") && !strings.HasPrefix(want[i], "$gy$") {
			t.Fatalf("this perl's crypt has no yescrypt: %q", want[i])
		}
		crypt := yescryptCrypt
		if strings.HasPrefix(s, "$gy$") {
			crypt = gostYescryptCrypt
		}
		got, ok := crypt([]byte(passwords[i]), s)
		if diff := cmp.Diff(want[i], string(got)); !ok || diff != "" {
			t.Errorf("crypt(%q, %q) ok=%v (-libxcrypt +ours):\n%s", passwords[i], s, ok, diff)
		}
	}
}

// The parameter encoding: a round trip of yescrypt's variable-length
// numbers, and refusals.
func TestYescryptSettingParse(t *testing.T) {
	tests := []struct {
		in   string
		want yescryptParams
		ok   bool
	}{
		{"$y$j9T$", yescryptParams{flags: ycRW | ycRWFlavor, n: 4096, r: 32, p: 1}, true},
		{"$y$.75$", yescryptParams{flags: 0, n: 1024, r: 8, p: 1}, true},
		{"$y$/75$", yescryptParams{flags: ycWORM, n: 1024, r: 8, p: 1}, true},
		{"$y$j750..$", yescryptParams{flags: ycRW | ycRWFlavor, n: 1024, r: 8, p: 2, t: 1}, true},
		{"$y$j75", yescryptParams{}, false},
		{"$y$j754.$", yescryptParams{}, false}, // g: no upgrades
		{"$y$j758.$", yescryptParams{}, false}, // a ROM
		{"$y$z75$", yescryptParams{}, false},
	}
	for _, tt := range tests {
		got, _, ok := parseYescryptSetting(tt.in)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("%q: got %+v %v, want %+v %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
