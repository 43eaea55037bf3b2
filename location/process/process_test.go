package process

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The test binary is also the worker: started by a Master under test, it
// finds its descriptors and behaves as PROCTEST_MODE says.
func TestMain(m *testing.M) {
	w, err := Inherit()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	if w != nil {
		os.Exit(helperWorker(w))
	}
	os.Exit(m.Run())
}

func helperWorker(w *Worker) int {
	switch os.Getenv("PROCTEST_MODE") {
	case "fail":
		return 1
	case "fatal":
		return 2
	}
	// A flag file makes a starting worker fail (the configuration changed
	// on disk), or a serving one panic once (Go exits with 2).
	flag := os.Getenv("PROCTEST_FLAG")
	if _, err := os.Stat(flag + ".fail"); flag != "" && err == nil {
		return 1
	}
	if _, err := os.Stat(flag + ".stall"); flag != "" && err == nil {
		// Stalls before its report until killed (a slow start).
		os.WriteFile(fmt.Sprintf("%s.stalled.%d", flag, os.Getpid()), nil, 0o644)
		select {}
	}
	if err := w.Ready(); err != nil {
		return 1
	}
	if flag != "" {
		os.WriteFile(fmt.Sprintf("%s.serving.%d", flag, os.Getpid()), nil, 0o644)
	}
	if _, err := os.Stat(flag + ".panic"); flag != "" && err == nil {
		os.Remove(flag + ".panic")
		panic("worker panics while serving")
	}
	for cmd := range w.Commands() {
		switch {
		case cmd.Quit, cmd.Terminate:
			return 0
		case cmd.Reopen != nil:
			for name, f := range cmd.Reopen {
				fmt.Fprintf(f, "%d reopened %s\n", w.Slot, name)
				f.Close()
			}
		}
	}
	return 0
}

// logBook collects the master's log lines with pids replaced.
type logBook struct {
	mu    sync.Mutex
	lines []string
}

var pidNumber = regexp.MustCompile(`\b\d{2,}\b`)

func (b *logBook) log(level, msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, "["+level+"] "+pidNumber.ReplaceAllString(msg, "N"))
}

func (b *logBook) has(line string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Contains(b.lines, line)
}

func (b *logBook) count(line string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, l := range b.lines {
		if l == line {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// workerPids lists the live children of this process.
func workerPids() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == fmt.Sprint(os.Getpid()) && f[0] != "Z" {
			var pid int
			fmt.Sscan(e.Name(), &pid)
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// TestMasterCycle runs the master over the test binary as its workers:
// start, a killed worker respawned, a reload whose workers fail (nothing
// changes), a good reload (a new generation), reopen and quit.
func TestMasterCycle(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "log")
	openLog := func() *os.File {
		f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	spec := func(mode string) *Spec {
		return &Spec{Workers: 2, Names: []string{"log"}, Files: []*os.File{openLog()}, Env: []string{"PROCTEST_MODE=" + mode}}
	}
	book := &logBook{}
	var mu sync.Mutex
	var commits []bool
	nextMode := "fail"
	m := &Master{Log: book.log, Exe: exe, Args: []string{"-test.run=^$"}}
	m.Hooks = Hooks{
		Reload: func() (*Spec, func(bool), error) {
			mu.Lock()
			sp := spec(nextMode)
			mu.Unlock()
			return sp, func(ok bool) {
				mu.Lock()
				commits = append(commits, ok)
				mu.Unlock()
			}, nil
		},
		Reopen: func(sp *Spec) []int {
			sp.Files[0].Close()
			sp.Files[0] = openLog()
			return []int{0}
		},
		StopListening: func() {},
	}
	ready := make(chan struct{})
	done := make(chan int, 1)
	go func() {
		done <- m.Run(spec("ok"), func() error { close(ready); return nil })
	}()
	t.Cleanup(func() {
		for _, pid := range workerPids() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("master exited with %d: %q", code, book.lines)
	case <-time.After(10 * time.Second):
		t.Fatal("workers never ready")
	}
	first := workerPids()
	if len(first) != 2 {
		t.Fatalf("workers: %v", first)
	}
	self := syscall.Getpid()

	syscall.Kill(first[0], syscall.SIGKILL)
	waitFor(t, "respawn", func() bool {
		now := workerPids()
		return len(now) == 2 && !slices.Contains(now, first[0])
	})
	if !book.has("[alert] worker process N exited on signal 9") {
		t.Errorf("no alert for the killed worker: %q", book.lines)
	}
	second := workerPids()

	syscall.Kill(self, syscall.SIGHUP) // the new workers fail: nothing changes
	waitFor(t, "failed reload", func() bool { mu.Lock(); defer mu.Unlock(); return len(commits) == 1 })
	// The failed generation's workers exit on their own; wait until both are reaped.
	waitFor(t, "failed workers reaped", func() bool { return book.count("[notice] worker process N exited with code 1") == 2 })
	if now := workerPids(); !slices.Equal(now, second) {
		t.Errorf("workers changed on a failed reload: %v -> %v", second, now)
	}

	mu.Lock()
	nextMode = "ok"
	mu.Unlock()
	syscall.Kill(self, syscall.SIGHUP)
	waitFor(t, "good reload", func() bool {
		now := workerPids()
		return len(now) == 2 && !slices.Contains(now, second[0]) && !slices.Contains(now, second[1])
	})

	syscall.Kill(self, syscall.SIGUSR1)
	waitFor(t, "reopened", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Count(string(b), "reopened log") == 2
	})

	syscall.Kill(self, syscall.SIGQUIT)
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("master did not exit on SIGQUIT")
	}
	if left := workerPids(); len(left) != 0 {
		t.Errorf("workers left behind: %v", left)
	}
	mu.Lock()
	if diff := cmp.Diff([]bool{false, true}, commits); diff != "" {
		t.Errorf("commits (-want +got):\n%s", diff)
	}
	mu.Unlock()
	for line, n := range map[string]int{
		"[notice] start worker processes":              3,
		"[notice] start worker process N":              7, // 2 + 1 respawned + 2 failed + 2
		"[notice] reconfiguring":                       2,
		"[notice] reopening logs":                      1,
		"[notice] worker process N exited with code 1": 2,
		"[notice] worker process N exited with code 0": 4,
	} {
		if got := book.count(line); got != n {
			t.Errorf("%d × %q, want %d; log:\n%s", got, line, n, strings.Join(book.lines, "\n"))
		}
	}
}

// TestMasterFatalWorker: a worker that exits with code 2 at start-up
// fails the start, and the master reports it.
func TestMasterStartFails(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	book := &logBook{}
	m := &Master{Log: book.log, Exe: exe, Args: []string{"-test.run=^$"}}
	code := m.Run(&Spec{Workers: 1, Env: []string{"PROCTEST_MODE=fatal"}}, func() error {
		t.Error("ready called")
		return nil
	})
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !book.has("[emerg] worker process N failed to start") {
		t.Errorf("log: %q", book.lines)
	}
	if left := workerPids(); len(left) != 0 {
		t.Errorf("workers left behind: %v", left)
	}
}

// TestResolveUser follows ngx_set_user and nginx's defaults.
func TestResolveUser(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no nobody user on this system")
	}
	var nobodyGroup string
	for _, g := range []string{"nobody", "nogroup"} {
		if gr, err := user.LookupGroup(g); err == nil {
			nobodyGroup = gr.Gid
			break
		}
	}
	tests := []struct {
		name    string
		args    []string
		wantUID string
		wantGID string
		wantErr string
	}{
		{"default", nil, nobody.Uid, nobodyGroup, ""},
		{"user and group", []string{"nobody", "root"}, nobody.Uid, "0", ""},
		{"root", []string{"root"}, "0", "0", ""},
		{"unknown user", []string{"no-such-user-x"}, "", "", `getpwnam("no-such-user-x") failed`},
		{"unknown group", []string{"nobody", "no-such-group-x"}, "", "", `getgrnam("no-such-group-x") failed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ResolveUser(tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{fmt.Sprint(id.UID), fmt.Sprint(id.GID), fmt.Sprint(id.Groups[0])}
			if diff := cmp.Diff([]string{tt.wantUID, tt.wantGID, tt.wantGID}, got); diff != "" {
				t.Errorf("uid, gid, first group (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMasterRespawnRules: a worker that panics while serving is
// respawned; one that fails before it is ready is not (no respawn loop).
func TestMasterRespawnRules(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	flag := filepath.Join(t.TempDir(), "flag")
	book := &logBook{}
	m := &Master{Log: book.log, Exe: exe, Args: []string{"-test.run=^$"}, Hooks: Hooks{StopListening: func() {}}}
	ready := make(chan struct{})
	done := make(chan int, 1)
	go func() {
		done <- m.Run(&Spec{Workers: 1, Env: []string{"PROCTEST_FLAG=" + flag, "GOTRACEBACK=none"}},
			func() error { close(ready); return nil })
	}()
	t.Cleanup(func() {
		for _, pid := range workerPids() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	<-ready
	first := workerPids()
	if len(first) != 1 {
		t.Fatalf("workers: %v", first)
	}

	os.WriteFile(flag+".panic", nil, 0o644) // the next worker panics once it serves
	syscall.Kill(first[0], syscall.SIGKILL)
	var third []int
	waitFor(t, "the panicking worker respawned and serving", func() bool {
		// The log first: a worker listed before it was read may be the
		// one that panicked.
		if !book.has("[notice] worker process N exited with code 2") {
			return false
		}
		if third = workerPids(); len(third) != 1 {
			return false
		}
		_, err := os.Stat(fmt.Sprintf("%s.serving.%d", flag, third[0]))
		return err == nil
	})

	os.WriteFile(flag+".fail", nil, 0o644) // the next worker fails to start
	syscall.Kill(third[0], syscall.SIGKILL)
	waitFor(t, "the failed respawn reaped", func() bool { return book.count("[notice] worker process N exited with code 1") == 1 })
	if left := workerPids(); len(left) != 0 {
		t.Errorf("workers: %v", left)
	}
	if got := book.count("[notice] start worker process N"); got != 4 {
		t.Errorf("%d workers started, want 4 (first, respawned twice, the failed one): %q", got, book.lines)
	}
	if !book.has("[alert] worker process N failed to start") {
		t.Errorf("log: %q", book.lines)
	}
	syscall.Kill(os.Getpid(), syscall.SIGQUIT)
	if code := <-done; code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// A worker killed by a signal before it reported ready is started again
// in its slot, at start-up as later, as nginx's master respawns a worker
// a signal ended (it does not wait for its workers to start).
func TestMasterRespawnsWorkerKilledEarly(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	flag := filepath.Join(t.TempDir(), "flag")
	os.WriteFile(flag+".stall", nil, 0o644)
	book := &logBook{}
	m := &Master{Log: book.log, Exe: exe, Args: []string{"-test.run=^$"}, Hooks: Hooks{StopListening: func() {}}}
	ready := make(chan struct{})
	done := make(chan int, 1)
	go func() {
		done <- m.Run(&Spec{Workers: 1, Env: []string{"PROCTEST_FLAG=" + flag}},
			func() error { close(ready); return nil })
	}()
	t.Cleanup(func() {
		for _, pid := range workerPids() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	var stalled []string
	waitFor(t, "a worker stalled before its report", func() bool {
		stalled, _ = filepath.Glob(flag + ".stalled.*")
		return len(stalled) == 1
	})
	os.Remove(flag + ".stall")
	var pid int
	fmt.Sscan(strings.TrimPrefix(stalled[0], flag+".stalled."), &pid)
	syscall.Kill(pid, syscall.SIGKILL)
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("master exited with %d: %q", code, book.lines)
	case <-time.After(10 * time.Second):
		t.Fatalf("no worker ready: %q", book.lines)
	}
	want := []string{"[notice] start worker processes", "[notice] start worker process N",
		"[alert] worker process N exited on signal 9", "[notice] start worker process N"}
	book.mu.Lock()
	// The SIGCHLD's own line comes when the master's loop reads it.
	got := slices.DeleteFunc(slices.Clone(book.lines), func(l string) bool { return strings.Contains(l, "(SIGCHLD)") })
	book.mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	syscall.Kill(os.Getpid(), syscall.SIGQUIT)
	if code := <-done; code != 0 {
		t.Errorf("exit code %d", code)
	}
}
