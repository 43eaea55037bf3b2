package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The -instr mode counts the user-space instructions each server runs
// per request, under valgrind's callgrind: one process (master_process
// off) with one Go P, as a worker of a 2-worker run on 2 CPUs has. A
// count barely moves with the machine's load (runs differ by up to ~5%:
// whether a reply is there before the read changes the scheduler's
// path), so an A/B of a change (-base, a few repetitions) reads what the
// timed rows' 10-40% swings hide; the kernel's part (the system calls)
// is not counted (-syscalls counts those).

// instrRows are the rows -instr measures and what each does n times on
// each of 4 connections (4 clients for the handshake rows).
var instrRows = map[string]func(s *server, n int) error{
	"http":        func(s *server, n int) error { return countRun(s, "/small", false, 4, n) },
	"cache-hit":   func(s *server, n int) error { return countRun(s, "/cached", false, 4, n) },
	"php":         func(s *server, n int) error { return countRun(s, "/hello.php?n=1", false, 4, n) },
	"php-close":   func(s *server, n int) error { return countRun(s, "/close/hello.php?n=1", false, 4, n) },
	"https":       func(s *server, n int) error { return countRun(s, "/small", true, 4, n) },
	"tls-full":    func(s *server, n int) error { return countHandshakes(s, false, 4, n) },
	"tls-resumed": func(s *server, n int) error { return countHandshakes(s, true, 4, n) },
	// The stream rows: each connection (WebSocket, h2c to grpc_pass, h2
	// over TLS) is opened for the run, so its setup is in the count,
	// spread over its n units.
	"ws-echo":    func(s *server, n int) error { return countEchoes(s, 4, n) },
	"ws-connect": func(s *server, n int) error { return countConnects(s, 4, n) },
	"grpc-unary": func(s *server, n int) error { return countCalls(s, 4, n) },
	"h2": func(s *server, n int) error {
		var wg sync.WaitGroup
		var firstErr firstError
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var took []time.Duration
				for left := int64(n); left > 0; {
					got, err := h2Conn(s, 4, time.Now().Add(time.Minute), left, &took)
					left -= got
					if err != nil {
						firstErr.set(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return firstErr.get()
	},
}

// callgrind is set by -instr: servers start under callgrind, and each
// row's run makes instrN requests on each connection.
var (
	callgrind bool
	instrN    int
	instrKeep string // -instr-keep: where each run's dumps are copied for callgrind_annotate
	instrArgs string // -instr-args: more callgrind options (its cache and branch simulation)

	instrRowName string // the row being counted, in the kept dumps' names
)

// runInstr prints the instructions per request of each row in rows that
// -instr measures, the servers alternating in each repetition.
func runInstr(servers []*server, rows []string, reps int) error {
	fmt.Printf("user-space instructions per request (callgrind, one process, GOMAXPROCS=1), %d repetitions of %d requests on 4 connections\n", reps, 4*instrN)
	fmt.Printf("%-34s %16s %16s %8s %15s\n", "row", "nginx", "gonginx", "ratio", "spread")
	for _, name := range rows {
		work, ok := instrRows[name]
		if !ok || strings.HasPrefix(name, "php") && extra.fpmAddr == "" {
			continue
		}
		// got[event][server]: the per-unit counts of each repetition.
		got := map[string]map[string][]float64{}
		instrRowName = name
		for rep := 0; rep < reps; rep++ {
			order := slices.Clone(servers)
			if rep%2 == 1 {
				slices.Reverse(order)
			}
			for _, s := range order {
				v, err := instrRun(s, work, instrN)
				s.report(name, err != nil)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", name, s.name, err)
				}
				for ev, x := range v {
					if got[ev] == nil {
						got[ev] = map[string][]float64{}
					}
					got[ev][s.name] = append(got[ev][s.name], x)
				}
			}
		}
		unit := "request"
		switch {
		case strings.HasPrefix(name, "tls-"):
			unit = "handshake"
		case name == "ws-echo":
			unit = "message"
		case name == "ws-connect":
			unit = "connection"
		case name == "grpc-unary":
			unit = "call"
		}
		for _, ev := range instrEvents {
			byServer := got[ev.name]
			if len(byServer["nginx"]) < reps || len(byServer["gonginx"]) < reps {
				continue // not simulated (no --cache-sim or --branch-sim)
			}
			ratios := func(of string) []float64 {
				var r []float64
				for i, v := range byServer[of] {
					r = append(r, v/byServer["nginx"][i])
				}
				slices.Sort(r)
				return r
			}
			r := ratios("gonginx")
			fmt.Printf("%-34s %16s %16s %8.2f %15s\n", name+": "+ev.label+"/"+unit, format(median(byServer["nginx"])), format(median(byServer["gonginx"])),
				median(r), fmt.Sprintf("%.2f–%.2f", r[0], r[len(r)-1]))
			if len(byServer["base"]) == reps {
				fmt.Printf("%-34s %16s %16s %8.2f\n", "  base", "", format(median(byServer["base"])), median(ratios("base")))
			}
		}
	}
	return nil
}

// instrEvents are the rows -instr prints per unit, from callgrind's
// summary: instructions, and with -instr-args "--cache-sim=yes
// --branch-sim=yes" the first-level cache misses and mispredicted
// branches, which cost time the instruction count does not show (a
// request's code larger than the 32 KiB instruction cache misses on
// nearly every line it touches).
var instrEvents = []struct {
	name, label string
	of          []string // callgrind's events summed
}{
	{"Ir", "instructions", []string{"Ir"}},
	{"I1", "I1 misses", []string{"I1mr"}},
	{"D1", "D1 misses", []string{"D1mr", "D1mw"}},
	{"B", "mispredicts", []string{"Bcm", "Bim"}},
}

// dumpEvents adds the summary line of one callgrind dump to sum, by
// instrEvents' names; events names the summary's columns.
func dumpEvents(events, summary []string, sum map[string]float64) {
	col := map[string]float64{}
	for i, e := range events {
		if i < len(summary) {
			x, _ := strconv.ParseFloat(summary[i], 64)
			col[e] = x
		}
	}
	for _, ev := range instrEvents {
		for _, e := range ev.of {
			if x, ok := col[e]; ok {
				sum[ev.name] += x
			}
		}
	}
}

// callgrindCmd wraps a server's command line in callgrind, its counts
// dumped into dir.
func callgrindCmd(bin, dir string, args ...string) *exec.Cmd {
	vargs := []string{"--tool=callgrind", "--callgrind-out-file=" + filepath.Join(dir, "cg.out")}
	vargs = append(vargs, strings.Fields(instrArgs)...)
	vargs = append(append(vargs, bin), args...)
	cmd := exec.Command("valgrind", vargs...)
	// GODEBUG: callgrind does not take the runtime's preemption signals.
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "GODEBUG=asyncpreemptoff=1")
	return cmd
}

// instrRun is the instructions per unit of s for work (and the misses
// instrEvents names, when simulated): n units on each
// of 4 connections after a warm-up, counted between a zeroing and a dump
// of callgrind's counters.
func instrRun(s *server, work func(*server, int) error, n int) (map[string]float64, error) {
	if err := work(s, 50); err != nil {
		return nil, err
	}
	pid := strconv.Itoa(s.cmd.Process.Pid)
	if out, err := exec.Command("callgrind_control", "-z", pid).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("callgrind_control -z: %v: %s", err, out)
	}
	old, _ := filepath.Glob(filepath.Join(s.dir, "cg.out.*"))
	for _, f := range old {
		os.Remove(f)
	}
	if err := work(s, n); err != nil {
		return nil, err
	}
	if out, err := exec.Command("callgrind_control", "-d", pid).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("callgrind_control -d: %v: %s", err, out)
	}
	dumps, _ := filepath.Glob(filepath.Join(s.dir, "cg.out.*"))
	sum := map[string]float64{}
	for i, f := range dumps {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if instrKeep != "" {
			keep := filepath.Join(instrKeep, fmt.Sprintf("%s.%s.%d", s.name, instrRowName, i))
			if err := os.WriteFile(keep, b, 0o644); err != nil {
				return nil, err
			}
		}
		var events []string
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "events: "); ok {
				events = strings.Fields(v)
			}
			if v, ok := strings.CutPrefix(line, "summary: "); ok {
				dumpEvents(events, strings.Fields(v), sum)
			}
		}
	}
	if sum["Ir"] == 0 {
		return nil, fmt.Errorf("no callgrind dump in %s", s.dir)
	}
	for ev := range sum {
		sum[ev] /= float64(4 * n)
	}
	return sum, nil
}

// countRun sends n GETs of path on each of conns keep-alive connections
// (a new connection when the server closes one), over TLS with useTLS.
func countRun(s *server, path string, useTLS bool, conns, n int) error {
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: bench.test\r\n\r\n")
	var wg sync.WaitGroup
	var firstErr firstError
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c net.Conn
			var br *bufio.Reader
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for k := 0; k < n; k++ {
				if c == nil {
					var err error
					if c, err = dial(s, useTLS); err != nil {
						firstErr.set(err)
						return
					}
					br = bufio.NewReader(c)
				}
				if _, err := c.Write(req); err != nil {
					firstErr.set(err)
					return
				}
				_, closing, err := readBody(br)
				if err != nil {
					firstErr.set(err)
					return
				}
				if closing {
					c.Close()
					c = nil
				}
			}
		}()
	}
	wg.Wait()
	return firstErr.get()
}

// countHandshakes makes n TLS handshakes (then closes) on each of
// clients clients, each resuming its last session with resume.
func countHandshakes(s *server, resume bool, clients, n int) error {
	var wg sync.WaitGroup
	var firstErr firstError
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "bench.test"}
			if resume {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			}
			for k := 0; k < n; k++ {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", s.tls, cfg)
				if err != nil {
					firstErr.set(err)
					return
				}
				c.Close()
			}
		}()
	}
	wg.Wait()
	return firstErr.get()
}

// countEchoes echoes n 64-byte messages on each of conns WebSockets.
func countEchoes(s *server, conns, n int) error {
	payload := []byte(strings.Repeat("m", 64))
	var wg sync.WaitGroup
	var firstErr firstError
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, br, err := wsDial(s, false)
			if err != nil {
				firstErr.set(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Minute))
			for k := 0; k < n; k++ {
				if err := harness.WriteFrame(c, harness.Frame{Op: harness.OpBinary, Payload: payload}, mask); err != nil {
					firstErr.set(err)
					return
				}
				if _, err := harness.ReadFrame(br); err != nil {
					firstErr.set(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr.get()
}

// countConnects opens a WebSocket, echoes one message and closes, n
// times on each of conns clients (the ws-connect row's unit).
func countConnects(s *server, conns, n int) error {
	var wg sync.WaitGroup
	var firstErr firstError
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < n; k++ {
				c, br, err := wsDial(s, false)
				if err != nil {
					firstErr.set(err)
					return
				}
				c.SetDeadline(time.Now().Add(time.Minute))
				err = harness.WriteFrame(c, harness.Frame{Op: harness.OpText, Payload: []byte("hello")}, mask)
				if err == nil {
					_, err = harness.ReadFrame(br)
				}
				c.Close()
				if err != nil {
					firstErr.set(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr.get()
}

// countCalls makes n unary gRPC calls, one at a time, on each of conns
// h2c connections.
func countCalls(s *server, conns, n int) error {
	var wg sync.WaitGroup
	var firstErr firstError
	for i := 0; i < conns; i++ {
		client, done := grpcClient()
		defer done()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < n; k++ {
				if err := grpcCall(client, "http://"+s.h2c+"/bench.Echo/Say", grpcFramed); err != nil {
					firstErr.set(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr.get()
}
