package upstream

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// Putting a finished file in place, shared by proxy_store and the DAV
// module (package location): nginx's ngx_ext_rename_file and
// ngx_conf_set_access_slot.

// ParseAccess reads "user:rw group:r all:r" as ngx_conf_set_access_slot:
// the user has rw unless user: says otherwise.
func ParseAccess(args []string) (os.FileMode, error) {
	var access os.FileMode
	user := os.FileMode(0o600)
	for _, a := range args {
		var shift uint
		var right string
		switch {
		case strings.HasPrefix(a, "user:"):
			shift, right, user = 6, a[5:], 0
		case strings.HasPrefix(a, "group:"):
			shift, right = 3, a[6:]
		case strings.HasPrefix(a, "all:"):
			shift, right = 0, a[4:]
		default:
			return 0, fmt.Errorf(`invalid value "%s"`, a)
		}
		switch right {
		case "rw":
			access |= 6 << shift
		case "r":
			access |= 4 << shift
		default:
			return 0, fmt.Errorf(`invalid value "%s"`, a)
		}
	}
	return access | user, nil
}

// DirAccess is ngx_dir_access: a file mode with x bits where r ones are.
func DirAccess(a os.FileMode) os.FileMode { return a | a&0o444>>2 }

// RenameOptions are ngx_ext_rename_file_t's fields.
type RenameOptions struct {
	Access     os.FileMode // set on the file first; 0 keeps its mode
	PathAccess os.FileMode // for directories CreatePath makes (DirAccess of it)
	MTime      int64       // set on the file first; -1 keeps it
	CreatePath bool        // make the missing directories of dst
}

// FileError is a failure to put a file in place: nginx logs it at crit.
type FileError struct{ msg string }

func (e *FileError) Error() string    { return e.msg }
func (e *FileError) LogLevel() string { return "crit" }

// ExtRename is ngx_ext_rename_file: src gets the mode and time, then is
// renamed to dst, the directories made when missing and allowed, copied
// when dst is on another file system. src is left where it was on
// failure (the caller removes a temporary one).
func ExtRename(src, dst string, o RenameOptions) error {
	if o.Access != 0 {
		if err := os.Chmod(src, o.Access); err != nil {
			return &FileError{fmt.Sprintf(`chmod() "%s" failed (%s)`, src, nginxconf.ErrnoText(err))}
		}
	}
	if o.MTime >= 0 {
		t := time.Unix(o.MTime, 0)
		if err := os.Chtimes(src, t, t); err != nil {
			return &FileError{fmt.Sprintf(`utimes() "%s" failed (%s)`, src, nginxconf.ErrnoText(err))}
		}
	}
	err := rename(src, dst)
	if errors.Is(err, syscall.ENOENT) && o.CreatePath {
		if merr := os.MkdirAll(filepath.Dir(dst), DirAccess(o.PathAccess)); merr != nil {
			return &FileError{fmt.Sprintf(`mkdir() "%s" failed (%s)`, dst, nginxconf.ErrnoText(merr))}
		}
		err = rename(src, dst)
	}
	if errors.Is(err, syscall.EXDEV) {
		err = copyAcross(src, dst, o)
	}
	if err != nil {
		return &FileError{fmt.Sprintf(`rename() "%s" to "%s" failed (%s)`, src, dst, nginxconf.ErrnoText(err))}
	}
	return nil
}

func rename(src, dst string) error {
	err := os.Rename(src, dst)
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

var renameCopies atomic.Uint32

// copyAcross copies src next to dst ("dst.0000000001") and renames it
// into place, as ngx_ext_rename_file does across file systems.
func copyAcross(src, dst string, o RenameOptions) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	access := o.Access
	if access == 0 {
		access = 0o600
		if fi, err := in.Stat(); err == nil {
			access = fi.Mode().Perm()
		}
	}
	name := fmt.Sprintf("%s.%010d", dst, renameCopies.Add(1))
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, access)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && o.MTime >= 0 {
		t := time.Unix(o.MTime, 0)
		err = os.Chtimes(name, t, t)
	}
	if err == nil {
		err = rename(name, dst)
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}
