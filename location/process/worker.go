package process

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Worker is a worker process's side: the files its master passed and the
// channel to it.
type Worker struct {
	Slot  int
	Files map[string]*os.File // by the names of the master's Spec
	ctl   *net.UnixConn
}

// Command is what the master asks of a running worker.
type Command struct {
	Quit      bool                // finish in-flight requests, then exit
	Terminate bool                // exit at once
	Reopen    map[string]*os.File // log files reopened by the master, by name
}

// Inherit returns the descriptors of a worker process, or nil when this
// process was not started as one.
func Inherit() (*Worker, error) {
	desc, ok := os.LookupEnv(workerEnv)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(workerEnv)
	lines := strings.Split(desc, "\n")
	slot, err := strconv.Atoi(lines[0])
	if err != nil {
		return nil, fmt.Errorf("invalid %s", workerEnv)
	}
	w := &Worker{Slot: slot, Files: map[string]*os.File{}}
	for i, name := range lines[1:] {
		w.Files[name] = os.NewFile(uintptr(4+i), name)
	}
	f := os.NewFile(3, "channel")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("channel: %w", err)
	}
	w.ctl = c.(*net.UnixConn)
	return w, nil
}

// Ready tells the master this worker has loaded its configuration and
// dropped its privileges, then waits until the master says the whole
// generation is ready. An error means the master gave up on it: exit.
func (w *Worker) Ready() error {
	if _, err := w.ctl.Write([]byte{msgReady}); err != nil {
		return err
	}
	var b [1]byte
	n, err := w.ctl.Read(b[:])
	if n == 1 && b[0] == msgGo {
		return nil
	}
	if err == nil {
		err = errors.New("unexpected message from the master process")
	}
	return err
}

// Commands delivers the master's commands. When the master goes away the
// worker is told to quit (nginx's workers would run on unsupervised; a
// gonginx worker never outlives its master), then the channel closes.
// One goroutine, parked on the poller while idle.
func (w *Worker) Commands() <-chan Command {
	out := make(chan Command, 4)
	go func() {
		defer close(out)
		defer w.ctl.Close()
		buf := make([]byte, 4096)
		oob := make([]byte, syscall.CmsgSpace(64*4))
		for {
			n, oobn, _, _, err := w.ctl.ReadMsgUnix(buf, oob)
			if err != nil || n == 0 {
				out <- Command{Quit: true}
				return
			}
			switch buf[0] {
			case cmdQuit:
				out <- Command{Quit: true}
			case cmdTerminate:
				out <- Command{Terminate: true}
			case cmdReopen:
				out <- Command{Reopen: receiveFiles(buf[1:n], oob[:oobn])}
			}
		}
	}()
	return out
}

// receiveFiles pairs the names of a reopen message with its descriptors.
func receiveFiles(names []byte, oob []byte) map[string]*os.File {
	var fds []int
	if msgs, err := syscall.ParseSocketControlMessage(oob); err == nil {
		for _, m := range msgs {
			if got, err := syscall.ParseUnixRights(&m); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	files := map[string]*os.File{}
	for i, name := range strings.Split(string(names), "\n") {
		if i < len(fds) {
			syscall.CloseOnExec(fds[i])
			files[name] = os.NewFile(uintptr(fds[i]), name)
		}
	}
	for _, fd := range fds[min(len(fds), len(files)):] {
		syscall.Close(fd)
	}
	return files
}
