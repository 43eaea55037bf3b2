package harness

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// holdPort listens on a free loopback port, as another test's listener
// that took the port the server is given.
func holdPort(t *testing.T) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, ln.Addr().(*net.TCPAddr).Port
}

func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "server.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// A listener that is not the server's does not make it ready: a server
// that never listens is reported, however long another holds its port.
func TestStartIgnoresForeignListener(t *testing.T) {
	ln, port := holdPort(t)
	defer ln.Close()
	im := Impl{Name: "silent", Bin: script(t, "sleep 1")}
	p, err := im.start(t.TempDir(), port)
	if err == nil {
		p.stop()
		t.Fatal("start returned ready on a listener of another process")
	}
	if !strings.Contains(err.Error(), "exited before listening") {
		t.Fatalf("start: %v", err)
	}
}

// The server is ready once it listens itself: another's listener that
// held the port before (its queued connections reset when it closed) is
// not taken for it.
func TestStartWaitsForOwnListener(t *testing.T) {
	ln, port := holdPort(t)
	time.AfterFunc(300*time.Millisecond, func() { ln.Close() })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HARNESS_HELPER_PORT", strconv.Itoa(port))
	im := Impl{Name: "helper", Bin: script(t, `sleep 0.5; exec "`+exe+`" -test.run='^TestHelperListener$'`)}
	p, err := im.start(t.TempDir(), port)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := bufio.NewReader(c).ReadString('\n')
	if got != "own\n" {
		t.Fatalf("the ready listener answered %q (%v), want the server's own", got, err)
	}
}

// TestHelperListener is the server of TestStartWaitsForOwnListener, run
// as a process of its own (it does nothing in the test run itself).
func TestHelperListener(t *testing.T) {
	port := os.Getenv("HARNESS_HELPER_PORT")
	if port == "" {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		os.Exit(3)
	}
	time.AfterFunc(20*time.Second, func() { os.Exit(0) }) // bounded if never stopped
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(0)
		}
		c.Write([]byte("own\n"))
		c.Close()
	}
}
