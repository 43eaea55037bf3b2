package main

import (
	"bufio"
	"cmp"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// -kprof: where the workers' kernel time goes, per unit, by cause. The
// recording (perf record -e cpu-clock -g, startPerf) is read back with
// perf script and each sample put under the system call it came from
// (read and recvfrom together, the write calls together: each server
// makes its own choice of the same work), a fault or an interrupt, or
// user space; two further lines cut across them: the loopback peer's
// receive path (net_rx_action: on loopback the receiving socket's
// softirq runs in the sender's context, so a server's sends pay its
// client's and backend's receive and ACKs) and the scheduler's
// switches. Samples are cpu-clock ticks, so the numbers follow the
// machine's load (a preempted worker's switch time counts): compare two
// servers within one run, and look at a cause's share, not at µs.

// kprofCause names a system call's entry frame as the table does.
var kprofCause = map[string]string{
	"read": "read/recvfrom", "recvfrom": "read/recvfrom",
	"write": "write/writev/sendto", "writev": "write/writev/sendto", "sendto": "write/writev/sendto",
	"epoll_wait": "epoll_wait/pwait", "epoll_pwait": "epoll_wait/pwait",
	"syscall_trace_enter": "tracing (-sched's own)", "syscall_exit_work": "tracing (-sched's own)",
	"exit_to_user_mode_loop": "exit to user (preempted, signals)",
}

// kprofSplit reads one recording: the period (ns) under each cause.
func kprofSplit(data string) (map[string]float64, error) {
	cmd := exec.Command("perf", "script", "-i", data, "-F", "period,ip,sym")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	by := map[string]float64{}
	var period float64
	var kern []string // the sample's kernel frames, innermost first
	flush := func() {
		if period == 0 {
			return
		}
		if len(kern) == 0 {
			by["(user)"] += period
		} else {
			by["(kernel)"] += period
			by[kprofCauseOf(kern)] += period
			if slices.Contains(kern, "net_rx_action") {
				by["  of which the peer's receive (softirq)"] += period
			}
			if slices.Contains(kern, "__schedule") {
				by["  of which __schedule"] += period
			}
		}
		period, kern = 0, kern[:0]
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			flush()
		case line[0] != '\t' && len(f) == 1:
			flush()
			period, _ = strconv.ParseFloat(f[0], 64)
		case len(f) >= 2:
			// Kernel addresses are the top half's (ffff...).
			if len(f[0]) == 16 && strings.HasPrefix(f[0], "ffff") {
				kern = append(kern, f[1])
			}
		}
	}
	flush()
	return by, cmd.Wait()
}

// kprofCauseOf names a kernel sample's cause from its frames.
func kprofCauseOf(kern []string) string {
	if i := slices.Index(kern, "do_syscall_64"); i >= 0 {
		j := i - 1
		for j >= 0 && kern[j] == "x64_sys_call" {
			j--
		}
		if j < 0 {
			return "system call entry and exit"
		}
		name := kern[j]
		for _, p := range []string{"__x64_sys_", "__do_sys_", "ksys_", "__sys_", "do_"} {
			name = strings.TrimPrefix(name, p)
		}
		if c, ok := kprofCause[name]; ok {
			return c
		}
		return name
	}
	for _, s := range kern {
		switch {
		case s == "asm_exc_page_fault":
			return "page faults"
		case strings.HasPrefix(s, "asm_sysvec_"), s == "asm_common_interrupt":
			return "interrupt: " + strings.TrimPrefix(s, "asm_sysvec_")
		}
	}
	return "other: " + kern[len(kern)-1]
}

// kprofTable is the row's table: µs per unit by cause, each server's
// recordings (one per repetition: a moment's load weighs less) over
// their units.
func kprofTable(row string, reps int) []string {
	servers := []string{"nginx", "gonginx", "base"}
	split := map[string]map[string]float64{}
	perUnit := map[string]float64{}
	for _, s := range servers {
		for rep := range reps {
			name := filepath.Join(kprofDir, fmt.Sprintf("%s.%s.%d", s, row, rep))
			b, err := os.ReadFile(name + ".units")
			if err != nil {
				continue
			}
			units, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
			if err != nil || units == 0 {
				continue
			}
			by, err := kprofSplit(name + ".data")
			if err != nil {
				return []string{fmt.Sprintf("kprof %s.data: %v", name, err)}
			}
			if split[s] == nil {
				split[s] = map[string]float64{}
			}
			for k, v := range by {
				split[s][k] += v
			}
			perUnit[s] += units
		}
	}
	names := map[string]bool{}
	for _, by := range split {
		for n := range by {
			names[n] = true
		}
	}
	per := func(s, n string) float64 { return split[s][n] / 1e3 / perUnit[s] }
	most := func(n string) float64 {
		m := 0.0
		for s := range split {
			m = max(m, per(s, n))
		}
		return m
	}
	list := slices.Collect(maps.Keys(names))
	// Most first, each "of which" line after the kernel's total.
	slices.SortFunc(list, func(a, b string) int { return cmp.Compare(most(b), most(a)) })
	head := fmt.Sprintf("µs per unit by cause, %s (-kprof, perf record on the workers):", row)
	var cols []string
	for _, s := range servers {
		if split[s] != nil {
			head += fmt.Sprintf(" %8s", s)
			cols = append(cols, s)
		}
	}
	out := []string{head}
	for _, n := range list {
		if most(n) < 0.02 {
			continue
		}
		line := fmt.Sprintf("  %-40s", n)
		for _, s := range cols {
			line += fmt.Sprintf(" %8.2f", per(s, n))
		}
		out = append(out, line)
	}
	return out
}
