//go:build linux

package harness

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// StartGuarded starts cmd so that it ends with the test process: when
// the test binary dies (a panic, go test -timeout's kill), the kernel
// sends the process SIGTERM (PR_SET_PDEATHSIG), the stop the servers
// get from the harness anyway (nginx and gonginx masters then stop
// their workers). What the process does is not changed: the signal is
// only the one a stop sends.
//
// The parent death signal fires when the thread that forked exits, not
// the process, and the Go runtime ends a thread whose goroutine exits
// locked to it: the fork is made by one goroutine locked to its thread
// for the life of the test binary.
func StartGuarded(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	spawnerOnce.Do(func() {
		spawns = make(chan spawn)
		go spawner()
	})
	done := make(chan error, 1)
	spawns <- spawn{cmd, done}
	return <-done
}

type spawn struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnerOnce sync.Once
	spawns      chan spawn
)

// spawner forks from its own thread, which lives as long as the test
// binary (it never unlocks it).
func spawner() {
	runtime.LockOSThread()
	for s := range spawns {
		s.done <- s.cmd.Start()
	}
}
