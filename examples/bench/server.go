package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is nginx or gonginx running the bench configuration.
type server struct {
	name      string
	cmd       *exec.Cmd
	dir       string
	http, tls string // addresses
	h2c       string // the gRPC row's listener (http2 without TLS)
	exited    chan struct{}
	// errLog and outLog are read on from where the last run's report
	// left them (diag.go); keep leaves dir in place at stop.
	errLog, outLog logTail
	keep           bool
	forget         func() // drops stop from what an interrupt runs
	// startReports: the reports whose error.log lines are its start's
	// (startSeen).
	startReports int
}

// benchConf is the same for both servers: a proxy with keep-alive to the
// backend for HTTP and WebSocket locations, plain and TLS (HTTP/2 for a
// client that asks for it by ALPN, HTTP/1.1 for the https row's).
const benchConf = `worker_processes WORKERS;
worker_rlimit_nofile RLIMIT;
pid DIR/nginx.pid;
error_log DIR/error.log LEVEL;
events { worker_connections 32768; }
http {
    access_log off;
    upstream backend { server 127.0.0.1:BACKEND; keepalive 64; }
    proxy_cache_path DIR/cache levels=1:2 keys_zone=bench:1m;
    server {
        listen HTTP;
        listen TLS ssl http2;
        ssl_certificate DIR/cert.pem;
        ssl_certificate_key DIR/key.pem;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /cached {
            proxy_pass http://backend/small;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
            proxy_cache_valid 200 1h;
        }
        location /ws {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 1h;
        }
        EXTRA_LOCATIONS
    }
    EXTRA_SERVERS
}
`

func startServer(name, bin string, workers, backendPort, idle int) (*server, error) {
	dir, err := os.MkdirTemp("", "bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	if err := writeCert(dir); err != nil {
		return nil, err
	}
	// Workers started as root run as nobody: they must reach the cache.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	s := &server{name: name, dir: dir, http: freeAddr(), tls: freeAddr(), h2c: freeAddr(), exited: make(chan struct{}), startReports: 2}
	conf := strings.NewReplacer("EXTRA_LOCATIONS", extra.httpConf(), "EXTRA_SERVERS", extra.serversConf(s.h2c),
		"WORKERS", strconv.Itoa(workers), "DIR", dir, "BACKEND", strconv.Itoa(backendPort), "RLIMIT", strconv.Itoa(rlimitNofile),
		"LEVEL", errLogLevel, "HTTP", s.http, "TLS", s.tls).Replace(benchConf)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "-p", dir+"/", "-c", path, "-g", "daemon off;")
	wait := 10 * time.Second
	if callgrind {
		s.cmd, wait = callgrindCmd(bin, dir, "-p", dir+"/", "-c", path, "-g", "daemon off; master_process off;"), time.Minute
	}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The master's and workers' stderr and stdout (a worker's panic
	// trace goes there) are kept in a file of dir, not /dev/null.
	s.errLog.path, s.outLog.path = filepath.Join(dir, "error.log"), filepath.Join(dir, "stderr.log")
	out, err := os.Create(s.outLog.path)
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	err = s.cmd.Start()
	out.Close()
	if err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	s.forget = atInterrupt(s.stop)
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", s.http); err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(s.errLog.path)
			out, _ := os.ReadFile(s.outLog.path)
			return nil, fmt.Errorf("%s exited: %s%s", name, log, out)
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s not listening", name)
		}
	}
}

// stop ends the server and its workers (its own process group).
func (s *server) stop() {
	if s.forget != nil {
		s.forget()
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	if !s.keep || interrupted.Load() {
		os.RemoveAll(s.dir)
	}
}

// pids are the master and its workers.
func (s *server) pids() []int {
	pids := []int{s.cmd.Process.Pid}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(pid); len(f) > 1 && f[1] == strconv.Itoa(s.cmd.Process.Pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cpu is the user+system time of the master and workers.
func (s *server) cpu() time.Duration {
	u, k := s.cpuTimes()
	return u + k
}

// cpuTimes is the user and the system (kernel) time of the master and
// workers, apart: the kernel's share is mostly the system calls, which
// strace -c counts, the user share is the server's own code.
func (s *server) cpuTimes() (user, kernel time.Duration) {
	for _, p := range s.pids() {
		if f := statFields(p); len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			k, _ := strconv.ParseInt(f[12], 10, 64)
			user += time.Duration(u) * 10 * time.Millisecond
			kernel += time.Duration(k) * 10 * time.Millisecond
		}
	}
	return user, kernel
}

// rssKB is the resident memory of the master and workers.
func (s *server) rssKB() float64 {
	var total float64
	for _, p := range s.pids() {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/status")
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				total += kb
			}
		}
	}
	return total
}

// fds counts the descriptors of the master and workers.
func (s *server) fds() float64 {
	n := 0
	for _, p := range s.pids() {
		e, _ := os.ReadDir("/proc/" + strconv.Itoa(p) + "/fd")
		n += len(e)
	}
	return float64(n)
}

func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// slabKB is the kernel's slab memory (socket buffers, pipes, epoll
// entries): what idle connections cost beyond the processes.
func slabKB() float64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Slab:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb
		}
	}
	return 0
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeCert makes a self-signed P-256 certificate for the TLS row.
func writeCert(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench.test"},
		DNSNames: []string{"bench.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}
