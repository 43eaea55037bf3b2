//go:build linux

package harness

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartGuardedEndsWithTest: a process started with StartGuarded (in
// its own process group, as the servers are) ends when the test binary
// that started it dies, as when go test -timeout kills it; it does not
// end before, when the goroutine that started it ran locked to a thread
// that exited.
func TestStartGuardedEndsWithTest(t *testing.T) {
	if os.Getenv("HARNESS_GUARD_CHILD") == "1" {
		guardChild()
		return
	}
	child := exec.Command(os.Args[0], "-test.run=^TestStartGuardedEndsWithTest$")
	child.Env = append(os.Environ(), "HARNESS_GUARD_CHILD=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "pid "))
	if err != nil || perr != nil {
		t.Fatalf("child said %q (%v)", line, err)
	}
	defer syscall.Kill(pid, syscall.SIGKILL) // never left behind
	if !running(pid) {
		t.Fatal("the guarded process ended while the test binary runs")
	}
	child.Process.Kill() // the test binary dies
	child.Wait()
	for deadline := time.Now().Add(10 * time.Second); running(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) { // failsafe only
			t.Fatal("the guarded process still runs 10s after the test binary died")
		}
	}
}

// guardChild is the test binary that dies: it starts a process from a
// goroutine locked to a thread that then ends, says the process's pid
// and waits to be killed.
func guardChild() {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tid := 0
	for tid == 0 {
		started := make(chan int)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			if syscall.Gettid() == syscall.Getpid() {
				// The main thread never ends: hold it, so that the next
				// goroutine runs on another.
				started <- 0
				select {}
			}
			if err := StartGuarded(cmd); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			started <- syscall.Gettid()
		}()
		tid = <-started
	}
	// A parent death signal tied to that thread fires as it ends.
	for i := 0; i < 1000; i++ { // bounded: 10s
		if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(tid)); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	fmt.Printf("pid %d\n", cmd.Process.Pid)
	time.Sleep(30 * time.Second) // killed long before
	os.Exit(1)
}

// running reports whether pid is a live process (not gone, not a zombie
// no one reaped).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}
