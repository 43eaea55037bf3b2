package process

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/gonginx/gonginx/nginxconf"
)

// inheritEnv is nginx's NGINX_VAR: the listening sockets a new binary
// inherits from the master that started it (SIGUSR2), as descriptor
// numbers each followed by ';' (or ':'), so nginx and gonginx can upgrade
// into each other.
const inheritEnv = "NGINX"

// ExecNewBinary starts exe as a new master with this master's arguments,
// handing it listeners at descriptors 3, 4, ... and naming them in
// NGINX=, as ngx_exec_new_binary does. The new master is this one's
// child; its pid is returned.
func ExecNewBinary(exe string, listeners []*os.File) (int, error) {
	fds := []uintptr{0, 1, 2}
	var list strings.Builder
	for _, f := range listeners {
		fd, err := rawFd(f) // not Fd(): it would put the shared socket in blocking mode
		if err != nil {
			return 0, err
		}
		list.WriteString(strconv.Itoa(len(fds)) + ";")
		fds = append(fds, fd)
	}
	env := slices.DeleteFunc(os.Environ(), func(s string) bool {
		return strings.HasPrefix(s, inheritEnv+"=") || strings.HasPrefix(s, daemonEnv+"=") || strings.HasPrefix(s, workerEnv+"=")
	})
	env = append(env, inheritEnv+"="+list.String())
	pid, err := syscall.ForkExec(exe, os.Args, &syscall.ProcAttr{Env: env, Files: fds})
	runtime.KeepAlive(listeners)
	if err != nil {
		return 0, fmt.Errorf("execve() failed while executing new binary process %q (%s)", exe, nginxconf.ErrnoText(err))
	}
	return pid, nil
}

// InheritedSockets returns the listening sockets a master that upgraded
// into this one handed over (NGINX=), and forgets the variable so that
// workers and a later upgrade do not see it. nil: a fresh start.
func InheritedSockets() ([]*os.File, error) {
	v, ok := os.LookupEnv(inheritEnv)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(inheritEnv)
	var files []*os.File
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ':' }) {
		fd, err := strconv.Atoi(s)
		if err != nil || fd < 3 {
			return files, errors.New("invalid socket number \"" + s + "\" in " + inheritEnv + " environment variable, ignoring the rest of the variable")
		}
		files = append(files, os.NewFile(uintptr(fd), "inherited socket"))
	}
	return files, nil
}
