package process

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"

	"github.com/gonginx/gonginx/nginxconf"
)

// Commands on the control socket, master to worker: one byte each, as
// nginx's channel commands; reopen carries the reopened log files as
// SCM_RIGHTS with their names, one a line.
const (
	cmdQuit      = 'Q' // NGX_CMD_QUIT: stop accepting, finish, exit
	cmdTerminate = 'T' // NGX_CMD_TERMINATE: exit at once
	cmdReopen    = 'O' // NGX_CMD_REOPEN: new log descriptors follow
	msgReady     = 'R' // worker to master: loaded, privileges dropped
	msgGo        = 'G' // master to worker: the whole generation is ready, accept
)

// workerEnv names the environment variable that describes a worker's
// inherited files: its slot, then the names of fds 4, 5, ... one a line.
const workerEnv = "GONGINX_WORKER"

// socketPair returns two connected unix packet sockets (one message per
// read, so a command and the files it carries never run together): the master's end
// as a net.Conn (pollable, no thread parked on it) and the worker's as a
// file to inherit.
func socketPair() (*net.UnixConn, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair() failed (%s)", nginxconf.ErrnoText(err))
	}
	mine := os.NewFile(uintptr(fds[0]), "master channel")
	defer mine.Close()
	c, err := net.FileConn(mine)
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "worker channel"), nil
}

// sendFiles writes cmd with files attached.
func sendFiles(c *net.UnixConn, cmd byte, names []string, files []*os.File) error {
	fds := make([]int, len(files))
	for i, f := range files {
		fd, err := rawFd(f)
		if err != nil {
			return err
		}
		fds[i] = int(fd)
	}
	payload := append([]byte{cmd}, strings.Join(names, "\n")...)
	if len(payload) > 4096 {
		return errors.New("too many files to pass")
	}
	_, _, err := c.WriteMsgUnix(payload, syscall.UnixRights(fds...), nil)
	runtime.KeepAlive(files)
	return err
}

// rawFd is f's descriptor, read without File.Fd's switch to blocking mode.
func rawFd(f *os.File) (uintptr, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var fd uintptr
	if err := rc.Control(func(d uintptr) { fd = d }); err != nil {
		return 0, err
	}
	return fd, nil
}
