// Command bench runs nginx and gonginx side by side on this machine with
// the same configuration, the same number of workers and the same
// backend, and prints each workload's result for both and their ratio
// (gonginx/nginx) with its spread over the repetitions. Each server runs
// once in each repetition, right after a short unmeasured run of its
// own (-warmup), in an order that turns from one repetition to the next
// (runOrder), so a machine that is busier at one moment weighs on both
// and no server's place in the order favours it; each ratio is taken
// within a repetition. Loopback only; every load is bounded in time.
//
//	go run ./examples/bench                   # all rows, 3 repetitions
//	go run ./examples/bench -rows http,ws-echo -reps 5 -workers 1
//	go run ./examples/bench -rows http -reps 7 -base /tmp/gonginx-before  # A/B of a change
//	go run ./examples/bench -rows idle-ws -idle 5000 -workers 1 -rlimit 20000 -reps 1
//	go run ./examples/bench -rows ws-echo -warm  # latency on CPUs kept awake
//	go run ./examples/bench -rows http,cache-hit,php -instr 300 -base /tmp/gonginx-before  # instructions per request
//	go run ./examples/bench -rows php -reps 1 -d 3s -sched  # system calls, context switches and wake-ups per request
//	go run ./examples/bench -rows http -reps 1 -d 6s -kprof /tmp/kp  # and kernel time per request by cause (perf record)
//
// The -instr run counts user-space instructions per request under
// valgrind's callgrind instead of timing (instr.go): a count the
// machine's load barely moves (runs differ by up to ~5%: whether a reply
// is there before the read changes the scheduler's path), for an A/B of
// a change on a busy machine.
//
// A run whose clients met an error is reported with what the servers
// and php-fpm logged meanwhile (diag.go: lines above notice, a worker's
// exit and its trace; -errlog info adds clients' hang-ups and 499s),
// and the server's directory is kept for its logs.
//
// The idle-ws line above is the descriptor check: 5,000 idle WebSocket tunnels in
// one worker under worker_rlimit_nofile 20000 (nginx holds them with two
// descriptors each; a server needing four or more runs out).
//
// Rows: http (100 B through the proxy, keep-alive), cache-hit (the same
// 100 B as a proxy_cache HIT), http-1m (1 MiB),
// https (100 B over TLS), h2 (100 B over TLS with ALPN h2, 16 streams
// at a time on each of 4 connections), tls-full and tls-resumed (TLS 1.2 handshakes,
// new and resumed by ticket, then close), ws-echo (64 B messages on 200 WebSockets),
// ws-1m (1 MiB messages), ws-connect (connect, echo, close), grpc-unary
// (unary calls through grpc_pass to an h2c backend of the bench's own,
// 32 at a time on 4 connections), php (a small script through
// fastcgi_pass to one php-fpm pool, kept connections; skipped without
// php-fpm), php-close (the same with nginx's defaults: fastcgi_keep_conn
// off, a php-fpm connection per request), idle-ws
// (memory per idle WebSocket tunnel: process and kernel), idle-wss (the
// same through TLS), idle-http and idle-https (memory per idle keep-alive
// connection).
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	if runWarmer() {
		return
	}
	reps := flag.Int("reps", 3, "repetitions (each server runs once in each, the order turning from one to the next)")
	workers := flag.Int("workers", 2, "worker_processes of both servers")
	d := flag.Duration("d", 3*time.Second, "length of each throughput run")
	rowList := flag.String("rows", strings.Join(rowNames(), ","), "rows to run")
	bin := flag.String("gonginx", "", "gonginx binary (default: go build ./cmd/gonginx)")
	base := flag.String("base", "", "a second gonginx binary run alongside (a build before a change): its results and ratio to nginx follow each row's")
	idle := flag.Int("idle", 1000, "connections held by the idle-memory rows")
	flag.IntVar(&rlimitNofile, "rlimit", 65536, "worker_rlimit_nofile of both servers (a hard limit below it caps it)")
	flag.BoolVar(&fpmUnix, "fpm-unix", false, "the php row's php-fpm pool listens on a Unix socket (fastcgi_pass unix:...), not TCP")
	syscalls := flag.Bool("syscalls", false, "also count the workers' system calls per unit with strace -c (slows both)")
	flag.StringVar(&kprofDir, "kprof", "", "record (with -sched's counts) the workers' time with perf record -e cpu-clock -g into DIR/SERVER.ROW.REP.data (and the units in SERVER.ROW.REP.units; read with perf report -i FILE --sort sym) and print each row's kernel time per unit by cause, over all repetitions")
	flag.BoolVar(&perfSched, "sched", false, "also count the workers' system calls, context switches and wake-ups per unit with perf stat's tracepoints (slows both far less than -syscalls)")
	instr := flag.Int("instr", 0, "instead of timing: count each server's user-space instructions per request under valgrind's callgrind, N requests on each of 4 connections (rows http, cache-hit, php, php-close, https, h2, grpc-unary, ws-echo; ws-connect per connection; tls-full and tls-resumed per handshake)")
	flag.StringVar(&instrKeep, "instr-keep", "", "with -instr: copy each run's callgrind dump into this directory (SERVER.ROW.N, the last repetition's kept) for callgrind_annotate")
	flag.StringVar(&instrArgs, "instr-args", "", `with -instr: more callgrind options, such as "--cache-sim=yes --branch-sim=yes" (first-level cache misses and mispredicted branches per unit beside the instructions, and per function in the -instr-keep dumps: what costs time besides instructions)`)
	flag.StringVar(&errLogLevel, "errlog", "notice", "error_log level of both servers (info also shows clients' hang-ups and 499s; the logs' lines above notice are printed after each run)")
	flag.BoolVar(&freshProcs, "fresh", true, "run each server's every run on new processes (started before it, the last run's stopped); -fresh=false keeps one set for the whole bench (the idle rows' are always new)")
	flag.DurationVar(&warmUp, "warmup", 300*time.Millisecond, "an unmeasured run of the same row right before each measured one (0: none), so that no server's numbers carry the last server's wake")
	flag.BoolVar(&eachRun, "each", false, "also print each run's numbers as it ends (repetition, place in the order, server)")
	warm := flag.Bool("warm", false, "keep every CPU awake (a pinned thread per CPU waking every 20 µs) so that neither server's latency holds CPUs' wake-up from idle")
	flag.Parse()
	perfSched = perfSched || kprofDir != "" // -kprof records beside -sched's counts
	traceCalls = *syscalls || perfSched
	instrN, callgrind = *instr, *instr > 0
	if *warm {
		stop, err := warmCPUs()
		if err != nil {
			log.Fatalf("bench: -warm: %v", err)
		}
		defer stop()
	}
	handleInterrupts()
	if err := run(*reps, *workers, *d, strings.Split(*rowList, ","), *bin, *base, *idle); err != nil {
		log.Fatalf("bench: %v", err)
	}
}

func run(reps, workers int, d time.Duration, rows []string, bin, base string, idle int) error {
	if bin == "" {
		tmp, err := os.MkdirTemp("", "gonginx-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		defer atInterrupt(func() { os.RemoveAll(tmp) })()
		bin = filepath.Join(tmp, "gonginx")
		build := exec.Command("go", "build", "-o", bin, "./cmd/gonginx")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/gonginx: %w", err)
		}
	}
	be, err := startBackend()
	if err != nil {
		return err
	}
	defer be.Close()
	if extra, err = startExtraBackends(); err != nil {
		return err
	}
	defer extra.close()
	defer atInterrupt(extra.close)()
	servers := []*server{}
	list := []struct{ name, bin string }{{"nginx", "/usr/sbin/nginx"}, {"gonginx", bin}}
	if base != "" {
		list = append(list, struct{ name, bin string }{"base", base})
	}
	bins := map[string]string{}
	for _, s := range list {
		bins[s.name] = s.bin
		srv, err := startServer(s.name, s.bin, workers, be.port, idle)
		if err != nil {
			return err
		}
		defer srv.stop()
		servers = append(servers, srv)
	}
	for _, srv := range servers {
		srv.report("start", false) // the start's own warnings apart from any row's
	}
	if callgrind {
		return runInstr(servers, rows, reps)
	}
	fmt.Printf("%d workers each, %d repetitions, %s per throughput run, %d idle connections\n", workers, reps, d, idle)
	fmt.Printf("%-34s %16s %16s %8s %15s\n", "row", "nginx", "gonginx", "ratio", "spread")
rowLoop:
	for _, name := range rows {
		r, ok := rowByName(name)
		if !ok {
			return fmt.Errorf("no row %q (rows: %s)", name, strings.Join(rowNames(), ", "))
		}
		results := map[string][][]float64{} // server → rep → metric values
		calls, perUnit := map[string]map[string]float64{}, map[string]float64{}
		for rep := 0; rep < reps; rep++ {
			for pos, srv := range runOrder(servers, rep) {
				if freshProcs || strings.HasPrefix(name, "idle") {
					// Fresh processes. The idle rows' always: memory an
					// earlier run freed would be taken again and the
					// idle connections' growth read as nothing (or less
					// than nothing). The others' by default (-fresh):
					// a set of processes kept for the whole bench
					// carries a state of its own through every
					// repetition (self-A/Bs of http-1m, -reps 5: the
					// kernel µs per MiB of gonginx/base 0.87 to 1.17
					// over 16 runs, some with every repetition on one
					// side; on new processes each run 0.98 to 1.06 in
					// seven runs of eight, 1.15), and new ones draw it
					// anew each run.
					fresh, err := startServer(srv.name, bins[srv.name], workers, be.port, idle)
					if err != nil {
						return err
					}
					// Its start's lines are the first start's, printed
					// unless none of its reports came yet.
					fresh.startReports = srv.startReports
					srv.stop()
					*srv = *fresh
				}
				if warmUp > 0 && !strings.HasPrefix(name, "idle") {
					// The idle rows warm up on their own (idleRun).
					_, err := r.run(srv, warmUp, idle)
					if errors.Is(err, errSkipRow) {
						fmt.Printf("%-34s %v\n", name, err)
						continue rowLoop
					}
					srv.report(name+" (warm-up)", err != nil)
				}
				var t *tracer
				if traceCalls && !strings.HasPrefix(name, "idle") {
					t = startTracer(srv, fmt.Sprintf("%s.%d", name, rep))
				}
				units = 0
				vals, err := r.run(srv, d, idle)
				if t != nil {
					calls[srv.name] = t.stop()
					perUnit[srv.name] = units
					if kprofDir != "" {
						// The units the recording's samples are per.
						f := fmt.Sprintf("%s.%s.%d.units", srv.name, name, rep)
						os.WriteFile(filepath.Join(kprofDir, f), []byte(fmt.Sprintf("%.0f\n", units)), 0o644)
					}
				}
				srv.report(name, err != nil && !errors.Is(err, errSkipRow))
				if errors.Is(err, errSkipRow) {
					fmt.Printf("%-34s %v\n", name, err)
					continue rowLoop
				}
				if err != nil {
					return fmt.Errorf("%s on %s: %w", name, srv.name, err)
				}
				results[srv.name] = append(results[srv.name], vals)
				if eachRun {
					line := fmt.Sprintf("  %s, repetition %d, #%d %s:", name, rep+1, pos+1, srv.name)
					for i, m := range r.metrics {
						line += fmt.Sprintf(" %s %s;", format(vals[i]), m)
					}
					fmt.Println(strings.TrimSuffix(line, ";"))
				}
			}
		}
		if len(calls) >= 2 {
			syscallLines = append(syscallLines, syscallTable(name, calls, perUnit)...)
			if kprofDir != "" {
				syscallLines = append(syscallLines, kprofTable(name, reps)...)
			}
		}
		for i, m := range r.metrics {
			col := func(srv string) []float64 {
				var v []float64
				for _, vals := range results[srv] {
					v = append(v, vals[i])
				}
				return v
			}
			ratio, spread := pairedRatio(col("gonginx"), col("nginx"))
			fmt.Printf("%-34s %16s %16s %8s %15s\n", r.name+": "+m, format(median(col("nginx"))), format(median(col("gonginx"))),
				ratio, spread)
			if len(servers) > 2 {
				ratio, spread := pairedRatio(col("base"), col("nginx"))
				ab, abSpread := pairedRatio(col("gonginx"), col("base"))
				fmt.Printf("%-34s %16s %16s %8s %15s   gonginx/base %s %s\n", "  base", "", format(median(col("base"))),
					ratio, spread, ab, abSpread)
			}
		}
	}
	fmt.Println("ratio: gonginx/nginx (and base/nginx), each repetition's, median and spread over them; throughput rows want >= 1, cpu, memory and p99 latency rows <= 1")
	for _, l := range syscallLines {
		fmt.Println(l)
	}
	return nil
}

// runOrder is the order of the servers in repetition rep: each of the
// n servers first, second, ... in turn (rotations), then the same
// rotations reversed, so over 2n repetitions each has each place and
// runs after each other server equally often. A fixed pair of orders
// (nginx, gonginx, base; then reversed) kept gonginx in the middle,
// after nginx in every other repetition, while base ran twice running
// and never after nginx: an A/B's two slots were not alike.
func runOrder(servers []*server, rep int) []*server {
	n := len(servers)
	order := make([]*server, 0, n)
	for i := range n {
		order = append(order, servers[(rep+i)%n])
	}
	if rep/n%2 == 1 {
		slices.Reverse(order)
	}
	return order
}

// pairedRatio is the median and the spread of a/b taken in each
// repetition (the two runs a moment apart), where b is not 0.
func pairedRatio(a, b []float64) (ratio, spread string) {
	var r []float64
	for i := range min(len(a), len(b)) {
		if b[i] != 0 {
			r = append(r, a[i]/b[i])
		}
	}
	if len(r) == 0 {
		return "-", "-"
	}
	slices.Sort(r)
	return fmt.Sprintf("%.2f", median(r)), fmt.Sprintf("%.2f–%.2f", r[0], r[len(r)-1])
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func format(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

var (
	rlimitNofile int
	traceCalls   bool
	perfSched    bool // -sched: the tracer is perf stat's
	kprofDir     string
	fpmUnix      bool // -fpm-unix
	errLogLevel  string
	warmUp       time.Duration // -warmup
	freshProcs   bool          // -fresh
	eachRun      bool          // -each
	syscallLines []string
)

// syscallTable lists, per unit of the row's last repetition, each
// system call either server made, most frequent first.
func syscallTable(row string, calls map[string]map[string]float64, perUnit map[string]float64) []string {
	names := map[string]bool{}
	for _, c := range calls {
		for n := range c {
			names[n] = true
		}
	}
	list := slices.Collect(maps.Keys(names))
	per := func(srv, n string) float64 {
		if perUnit[srv] == 0 {
			return 0
		}
		return calls[srv][n] / perUnit[srv]
	}
	slices.SortFunc(list, func(a, b string) int {
		return cmp.Compare(per("gonginx", b)+per("nginx", b), per("gonginx", a)+per("nginx", a))
	})
	if perfSched {
		return perfTable(row, calls, per)
	}
	out := []string{fmt.Sprintf("system calls per unit, %s (strace -c on the workers):  %8s %8s", row, "nginx", "gonginx")}
	var tn, tg float64
	for _, n := range list {
		a, b := per("nginx", n), per("gonginx", n)
		tn, tg = tn+a, tg+b
		if a >= 0.01 || b >= 0.01 {
			out = append(out, fmt.Sprintf("  %-20s %8.2f %8.2f", n, a, b))
		}
	}
	return append(out, fmt.Sprintf("  %-20s %8.2f %8.2f", "total", tn, tg))
}

// perfTable is syscallTable's for -sched: perfEvents' lines in their
// order (their counts overlap: no total).
func perfTable(row string, calls map[string]map[string]float64, per func(srv, n string) float64) []string {
	_, base := calls["base"]
	head := fmt.Sprintf("per unit, %s (perf stat on the workers):  %8s %8s", row, "nginx", "gonginx")
	if base {
		head += fmt.Sprintf(" %8s", "base")
	}
	out := []string{head}
	for _, e := range perfEvents {
		a, b, c := per("nginx", e.name), per("gonginx", e.name), per("base", e.name)
		if a >= 0.01 || b >= 0.01 || c >= 0.01 {
			line := fmt.Sprintf("  %-24s %8.2f %8.2f", e.name, a, b)
			if base {
				line += fmt.Sprintf(" %8.2f", c)
			}
			out = append(out, line)
		}
	}
	return out
}
