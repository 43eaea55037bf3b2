package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestServeBinaryUpgrade: SIGUSR2 starts a new master on the same
// sockets (pid file renamed to .oldbin), SIGQUIT to the old one leaves
// the new one serving, and no request fails on the way; a new binary
// that cannot start gives the pid file back to the master that started it.
func TestServeBinaryUpgrade(t *testing.T) {
	addr := "127.0.0.1:" + freePort(t)
	conf := "daemon off;\npid nginx.pid;\nerror_log stderr notice;\nworker_processes 1;\nevents {}\nhttp {\naccess_log off;\nserver {\nlisten " + addr +
		";\nlocation / { return 200 \"worker $pid\"; }\n}\n}\n"
	dir, path := writeConf(t, conf)
	pidFile := filepath.Join(dir, "nginx.pid")
	logFile, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	// A file, not a pipe: the new master inherits it, and exec would wait
	// for it to close too.
	cmd := exec.Command(binary, "-c", path)
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	newMaster := 0
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
		if newMaster > 0 {
			syscall.Kill(newMaster, syscall.SIGTERM)
			waitGone(t, newMaster)
		}
	})
	waitServing(t, addr, "/", "")
	oldMaster := cmd.Process.Pid

	// Requests all along the upgrade.
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
			select {
			case <-stop:
				return
			default:
			}
			got, err := httpGet(addr, "/")
			sent.Add(1)
			if err != nil || !strings.HasPrefix(got, "HTTP/1.1 200 ") {
				failed.Add(1)
			}
		}
	}()

	syscall.Kill(oldMaster, syscall.SIGUSR2)
	newMaster = waitPidFile(t, pidFile, func(pid int) bool { return pid != oldMaster })
	if b, err := os.ReadFile(pidFile + ".oldbin"); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(oldMaster) {
		t.Fatalf(".oldbin: %q %v", b, err)
	}
	// Both generations serve a while, and the new one alone after: a
	// number of requests, however slow the machine.
	awaitRequests := func(n int64) {
		target := sent.Load() + n
		for deadline := time.Now().Add(10 * time.Second); sent.Load() < target && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	awaitRequests(5)
	syscall.Kill(oldMaster, syscall.SIGQUIT)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("old master did not quit")
	}
	awaitRequests(5)
	close(stop)
	<-done
	t.Logf("%d requests during the upgrade", sent.Load())
	if failed.Load() != 0 || sent.Load() < 10 {
		t.Errorf("%d of %d requests failed during the upgrade", failed.Load(), sent.Load())
	}
	if _, err := os.Stat(pidFile + ".oldbin"); !os.IsNotExist(err) {
		t.Errorf(".oldbin left by the old master: %v", err)
	}
	waitServing(t, addr, "/", "")

	// A new binary that fails (its configuration is broken now): the
	// pid file comes back and the master serves on.
	os.WriteFile(path, []byte(conf+"}\n"), 0o644)
	syscall.Kill(newMaster, syscall.SIGUSR2)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, errOld := os.Stat(pidFile + ".oldbin")
		b, _ := os.ReadFile(pidFile)
		if os.IsNotExist(errOld) && strings.TrimSpace(string(b)) == strconv.Itoa(newMaster) &&
			strings.Contains(readFile(t, logFile.Name()), "] "+strconv.Itoa(newMaster)+"#"+strconv.Itoa(newMaster)+": new binary process ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid file not given back after a failed upgrade; log:\n%s", readFile(t, logFile.Name()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitServing(t, addr, "/", "")
	log := readFile(t, logFile.Name())
	for _, want := range []string{"signal 12 (SIGUSR2) received, changing binary", "start new binary process", "unexpected \"}\" in " + path + ":13",
		" exited with code 1"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func waitPidFile(t *testing.T, path string, ok func(int) bool) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && ok(pid) {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid file %s: %q", path, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitGone waits until a process that is not our child has exited.
func waitGone(t *testing.T, pid int) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			return
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("process %d did not exit", pid)
}

func readFile(t *testing.T, name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
