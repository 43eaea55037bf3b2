//go:build linux

package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// warmCPUs keeps every CPU out of its idle state while the rows run: a
// process per CPU, pinned there, that sleeps 20 µs at a time. An idle
// CPU (a virtual one above all, which the host deschedules when it
// halts) is slow to wake, and that delay is in every echo's latency; a
// server with a thread of its own that wakes that often (Go's sysmon
// while it polls) hides the delay for itself alone and pays for it in
// CPU. With -warm both servers run on awake CPUs and their latency and
// throughput compare like for like; the warmers' CPU is no server's
// (processes of their own: threads of the bench would take its Ps from
// the clients). It returns the function that stops them.
func warmCPUs() (func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	}
	for cpu := range runtime.NumCPU() {
		c := exec.Command(exe)
		c.Env = append(os.Environ(), warmEnv+"="+strconv.Itoa(cpu))
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			stop()
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}

const warmEnv = "GONGINX_BENCH_WARM_CPU"

// warmLoop is a warmer's process: pinned to its CPU, it wakes every
// 20 µs until killed.
func warmLoop(cpu int) {
	runtime.LockOSThread()
	var mask [16]uint64
	mask[cpu/64%16] = 1 << (cpu % 64)
	syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
	ts := syscall.Timespec{Nsec: 20000}
	for {
		syscall.Nanosleep(&ts, nil)
	}
}

// runWarmer runs warmLoop when this process is a warmer.
func runWarmer() bool {
	v := os.Getenv(warmEnv)
	if v == "" {
		return false
	}
	cpu, _ := strconv.Atoi(v)
	warmLoop(cpu)
	return true
}
