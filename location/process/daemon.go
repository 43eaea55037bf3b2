package process

import (
	"os"
	"syscall"
)

// daemonEnv marks the detached copy of the program ("daemon on").
const daemonEnv = "GONGINX_DAEMON"

// Detach runs this program again in a new session with stdin and stdout
// on /dev/null (stderr is kept, as ngx_daemon keeps it), and waits until
// the copy calls the notifier Daemonized gave it, or exits. It returns the
// exit code for this process: 0 once the copy serves, else the copy's.
func Detach() int {
	exe, err := os.Executable()
	if err != nil {
		return 1
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 1
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 1
	}
	defer null.Close()
	// argv[0] names the process in ps, as nginx's "master process" title.
	argv := append([]string{"gonginx: master process " + os.Args[0]}, os.Args[1:]...)
	p, err := os.StartProcess(exe, argv, &os.ProcAttr{
		Env:   append(os.Environ(), daemonEnv+"=1"),
		Files: []*os.File{null, null, os.Stderr, w},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	w.Close()
	if err != nil {
		r.Close()
		return 1
	}
	var b [1]byte
	n, _ := r.Read(b[:])
	r.Close()
	if n == 1 {
		p.Release()
		return 0
	}
	st, err := p.Wait()
	if err != nil || st.ExitCode() <= 0 {
		return 1
	}
	return st.ExitCode()
}

// Daemonized reports whether this process is the detached copy; its
// notifier tells the waiting parent that it serves.
func Daemonized() (bool, func()) {
	if _, ok := os.LookupEnv(daemonEnv); !ok {
		return false, func() {}
	}
	os.Unsetenv(daemonEnv)
	f := os.NewFile(3, "daemon ready")
	syscall.CloseOnExec(3)
	return true, func() {
		f.Write([]byte{1})
		f.Close()
	}
}
