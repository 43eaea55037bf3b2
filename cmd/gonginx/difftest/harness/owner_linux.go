//go:build linux

package harness

import (
	"os"
	"strconv"
	"strings"
)

// listenersOwned reports whether the TCP sockets listening on port are
// the process group pgid's (the server, started with Setpgid: its master
// and workers), at least one. A port free a moment ago (freePort) is free
// for every test running at once: another one's listener may hold it
// while the server starts, and the readiness dial then reaches that
// listener, whose queued connections are reset when it closes.
func listenersOwned(pgid, port int) bool {
	inodes, ok := listenInodes(port)
	if !ok {
		return true // no /proc to tell: the dial decides
	}
	if len(inodes) == 0 {
		return false
	}
	owned := groupSockets(pgid)
	for _, in := range inodes {
		if !owned[in] {
			return false
		}
	}
	return true
}

// listenInodes lists the inodes of the TCP sockets listening on port,
// from /proc/net/tcp and tcp6 ("0A" is TCP_LISTEN).
func listenInodes(port int) ([]string, bool) {
	var out []string
	read := false
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		read = true
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 10 || fields[3] != "0A" {
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				out = append(out, fields[9])
			}
		}
	}
	return out, read
}

// groupSockets is the set of socket inodes the processes of group pgid
// hold open.
func groupSockets(pgid int) map[string]bool {
	owned := map[string]bool{}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces and ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 3 || fields[2] != strconv.Itoa(pgid) {
			continue
		}
		fds, _ := os.ReadDir("/proc/" + p.Name() + "/fd")
		for _, fd := range fds {
			link, _ := os.Readlink("/proc/" + p.Name() + "/fd/" + fd.Name())
			if in, ok := strings.CutPrefix(link, "socket:["); ok {
				owned[strings.TrimSuffix(in, "]")] = true
			}
		}
	}
	return owned
}
