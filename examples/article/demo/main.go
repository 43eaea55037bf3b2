// Command demo runs the article example in one command: the WebSocket echo backend on
// 127.0.0.1:32000 in-process, and gonginx (built from this checkout) serving
// examples/article/default.conf on port 9000 as a child process, stopped by pid on exit.
//
//	go run ./examples/article/demo                      # WebSocket version (default.conf)
//	go run ./examples/article/demo -c default.rewrite.conf  # the article's first version
//	go run ./examples/article/demo -backend-only        # just the echo backend
//	go run ./examples/article/demo -ws wss://localhost:9000/api/socket/chat  # a WebSocket client:
//	                                                    # each stdin line is sent, the echo printed
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gonginx/gonginx/examples/article/backend"
)

func main() {
	config := flag.String("c", "default.conf", "config file, relative to examples/article/")
	addr := flag.String("backend", "127.0.0.1:32000", "address of the echo backend")
	backendOnly := flag.Bool("backend-only", false, "run only the echo backend")
	wsURL := flag.String("ws", "", "act as a WebSocket client for this ws:// or wss:// URL")
	flag.Parse()
	if *wsURL != "" {
		if err := client(*wsURL); err != nil {
			log.Fatalf("demo: %v", err)
		}
		return
	}
	if err := run(*config, *addr, *backendOnly); err != nil {
		log.Fatalf("demo: %v", err)
	}
}

func run(config, addr string, backendOnly bool) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("echo backend: %w", err)
	}
	defer ln.Close()
	go func() {
		if err := backend.Serve(ln, log.Printf); err != nil {
			log.Printf("echo backend: %v", err)
		}
	}()
	log.Printf("echo backend listening on %s", ln.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	if backendOnly {
		<-stop
		return nil
	}

	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "gonginx-demo-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "gonginx")
	build := exec.Command("go", "build", "-o", bin, "./cmd/gonginx")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/gonginx: %w", err)
	}

	prefix := filepath.Join(root, "examples", "article") + string(filepath.Separator)
	// In the foreground (nginx's default is to detach), with the pid file in the temp dir.
	cmd := exec.Command(bin, "-p", prefix, "-c", filepath.Join(prefix, config),
		"-g", "daemon off; pid "+filepath.Join(tmp, "nginx.pid")+";")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start gonginx: %w", err)
	}
	log.Printf("gonginx (pid %d) serving %s; try:", cmd.Process.Pid, config)
	log.Printf("  curl -k --resolve www.my-api.com:9000:127.0.0.1 https://www.my-api.com:9000/")
	log.Printf("  curl -k https://localhost:9000/api/socket/hello")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		return fmt.Errorf("gonginx exited: %v", err)
	case <-stop:
		_ = cmd.Process.Signal(syscall.SIGTERM) // our own child, by pid
		<-exited
		return nil
	}
}

// moduleRoot finds the directory of go.mod so the demo works from any directory in the checkout.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run the demo from inside the gonginx checkout")
	}
	return filepath.Dir(gomod), nil
}

// client sends each line of stdin as a text frame and prints what comes back.
func client(rawURL string) error {
	c, err := backend.Dial(rawURL)
	if err != nil {
		return err
	}
	defer c.Close()
	log.Printf("connected to %s; type lines, Ctrl-D to quit", rawURL)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if err := c.Send(in.Text()); err != nil {
			return err
		}
		echo, err := c.Receive()
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		fmt.Println(echo)
	}
	return in.Err()
}
