package main

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// The grpc-unary and php rows: a gRPC-style h2c backend of the bench's own
// (unary calls answered with the message they carry, grpc-status 0 in the
// trailers) behind grpc_pass, and one php-fpm pool behind fastcgi_pass
// (keep-alive with fastcgi_keep_conn), the same for both servers.

const phpFPMBin = "/usr/sbin/php-fpm8.2"

// errSkipRow: a row whose backend is not on this machine; the bench says
// so and goes on.
var errSkipRow = errors.New("skipped")

type extraBackends struct {
	grpcAddr string
	grpcSrv  *http.Server
	fpmAddr  string // "" without php-fpm
	fpm      *exec.Cmd
	fpmDone  chan struct{}
	phpRoot  string
	fpmLog   logTail // read as server.errLog is (diag.go)
	keep     bool    // a row failed: phpRoot (fpm.log) is kept
}

var extra *extraBackends

func startExtraBackends() (*extraBackends, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &extraBackends{grpcAddr: ln.Addr().String()}
	e.grpcSrv = &http.Server{Handler: h2c.NewHandler(http.HandlerFunc(grpcEcho), &http2.Server{MaxConcurrentStreams: 1000})}
	go e.grpcSrv.Serve(ln)
	if err := e.startFPM(); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// grpcEcho answers a unary call with the message it carries.
func grpcEcho(w http.ResponseWriter, r *http.Request) {
	msg, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status")
	w.Write(msg)
	w.Header().Set("Grpc-Status", "0")
}

// startFPM runs a php-fpm pool on a free port serving hello.php, when
// php-fpm is installed.
func (e *extraBackends) startFPM() error {
	if _, err := os.Stat(phpFPMBin); err != nil {
		return nil
	}
	dir, err := os.MkdirTemp("", "bench-php-")
	if err != nil {
		return err
	}
	e.phpRoot = dir
	os.Chmod(dir, 0o755) // the pool runs as nobody when the bench is root
	body := "<?php $b = \"hello \" . ($_GET['n'] ?? '') . \"\\n\"; header('Content-Length: ' . strlen($b)); echo $b;\n"
	if err := os.WriteFile(filepath.Join(dir, "hello.php"), []byte(body), 0o644); err != nil {
		return err
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user = nobody\ngroup = nogroup\n"
	}
	e.fpmAddr = freeAddr()
	listen, network := e.fpmAddr, "tcp"
	if fpmUnix {
		// The pool on a Unix socket, as php-fpm is most often deployed.
		listen, network = filepath.Join(dir, "fpm.sock"), "unix"
		e.fpmAddr = "unix:" + listen
		if os.Geteuid() == 0 {
			user += "listen.mode = 0666\n"
		}
	}
	conf := fmt.Sprintf("[global]\npid = %[1]s/fpm.pid\nerror_log = %[1]s/fpm.log\ndaemonize = no\n[bench]\n%[2]slisten = %[3]s\n"+
		"pm = static\npm.max_children = 48\n", dir, user, listen)
	if err := os.WriteFile(filepath.Join(dir, "fpm.conf"), []byte(conf), 0o644); err != nil {
		return err
	}
	e.fpmLog.path = filepath.Join(dir, "fpm.log")
	e.fpm = exec.Command(phpFPMBin, "--nodaemonize", "--fpm-config", filepath.Join(dir, "fpm.conf"), "-n", "-R")
	if err := e.fpm.Start(); err != nil {
		return err
	}
	e.fpmDone = make(chan struct{})
	go func() { e.fpm.Wait(); close(e.fpmDone) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial(network, listen); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "fpm.log"))
			return fmt.Errorf("php-fpm does not listen on %s: %s", e.fpmAddr, log)
		}
	}
}

func (e *extraBackends) close() {
	e.grpcSrv.Close()
	if e.fpm != nil {
		// SIGTERM: the master stops its workers before it exits.
		e.fpm.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.fpmDone:
		case <-time.After(10 * time.Second):
			e.fpm.Process.Kill()
			<-e.fpmDone
		}
	}
	if e.phpRoot != "" && (!e.keep || interrupted.Load()) {
		os.RemoveAll(e.phpRoot)
	}
}

// httpConf is what the plain and TLS server gets: the PHP locations,
// the php row's with kept FastCGI connections and the php-close row's
// with nginx's defaults (fastcgi_keep_conn off, no keepalive: a
// connection per request, closed by php-fpm after its answer).
func (e *extraBackends) httpConf() string {
	if e.fpmAddr == "" {
		return ""
	}
	return `location = /close/hello.php {
            fastcgi_pass fpmclose;
            fastcgi_param SCRIPT_FILENAME ` + e.phpRoot + `/hello.php;
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_param SCRIPT_NAME /hello.php;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_param HTTP_HOST $host;
        }
        location ~ \.php$ {
            root ` + e.phpRoot + `;
            fastcgi_pass fpm;
            fastcgi_keep_conn on;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_param HTTP_HOST $host;
        }`
}

// serversConf is the upstreams and the h2c server in front of the gRPC
// backend.
func (e *extraBackends) serversConf(h2cAddr string) string {
	c := `upstream grpcbe { server ` + e.grpcAddr + `; keepalive 64; }
    server {
        listen ` + h2cAddr + ` http2;
        location / { grpc_pass grpc://grpcbe; }
    }`
	if e.fpmAddr != "" {
		c += "\n    upstream fpm { server " + e.fpmAddr + "; keepalive 8; }"
		c += "\n    upstream fpmclose { server " + e.fpmAddr + "; }"
	}
	return c
}

func phpRun(s *server, d time.Duration) ([]float64, error) {
	if extra.fpmAddr == "" {
		return nil, fmt.Errorf("%w: no php-fpm at %s", errSkipRow, phpFPMBin)
	}
	// A php-fpm child serves one kept connection at a time
	// (fastcgi_keep_conn), and both servers share the pool, each keeping
	// up to 8 idle connections per worker while the other runs: 48
	// children leave the running one free children beside them (with 16,
	// a server's 9th connection waited in php-fpm's backlog for a child
	// the other server's idle connections held).
	return httpRun(s, false, "/hello.php?n=1", 8, d)
}

// phpCloseRun is phpRun through nginx's default FastCGI settings: a new
// connection to php-fpm per request.
func phpCloseRun(s *server, d time.Duration) ([]float64, error) {
	if extra.fpmAddr == "" {
		return nil, fmt.Errorf("%w: no php-fpm at %s", errSkipRow, phpFPMBin)
	}
	return httpRun(s, false, "/close/hello.php?n=1", 8, d)
}

// grpcRun makes unary calls for d on conns h2c connections, streams
// concurrent calls on each: calls/s and CPU µs per call.
func grpcRun(s *server, conns, streams int, d time.Duration) ([]float64, error) {
	framed := grpcFramed
	url := "http://" + s.h2c + "/bench.Echo/Say"
	var calls atomic.Int64
	var firstErr firstError
	var lat latencies
	cpu0, start := s.cpu(), time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		client, done := grpcClient()
		defer done()
		for j := 0; j < streams; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var took []time.Duration
				defer func() { lat.merge(took) }()
				for t0 := time.Now(); t0.Before(deadline); t0 = time.Now() {
					if err := grpcCall(client, url, framed); err != nil {
						firstErr.set(err)
						return
					}
					calls.Add(1)
					took = append(took, time.Since(t0))
				}
			}()
		}
	}
	wg.Wait()
	if err := firstErr.get(); err != nil {
		return nil, err
	}
	elapsed, cpu := time.Since(start).Seconds(), s.cpu()-cpu0
	n := float64(calls.Load())
	units = n
	return []float64{n / elapsed, float64(cpu.Microseconds()) / n, lat.p99()}, nil
}

// grpcFramed is the unary call's message in gRPC's length-prefixed frame.
var grpcFramed = func() []byte {
	msg := []byte("bench unary call message")
	framed := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(framed[1:5], uint32(len(msg)))
	copy(framed[5:], msg)
	return framed
}()

// grpcClient is an h2c client of its own connection; done closes it.
func grpcClient() (*http.Client, func()) {
	tr := &http2.Transport{AllowHTTP: true, DialTLS: func(network, addr string, _ *tls.Config) (net.Conn, error) {
		return net.DialTimeout(network, addr, 5*time.Second)
	}}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, tr.CloseIdleConnections
}

func grpcCall(client *http.Client, url string, framed []byte) error {
	req, err := http.NewRequest("POST", url, bytes.NewReader(framed))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || !bytes.Equal(got, framed) || resp.Trailer.Get("Grpc-Status") != "0" {
		return fmt.Errorf("gRPC call: status %d, %d bytes, grpc-status %q %s", resp.StatusCode, len(got),
			resp.Trailer.Get("Grpc-Status"), strings.TrimSpace(resp.Header.Get("Grpc-Message")))
	}
	return nil
}
