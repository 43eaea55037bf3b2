package process

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"

	"github.com/gonginx/gonginx/nginxconf"
)

// Identity is who a worker runs as: nginx's ccf->user, ccf->group and the
// supplementary groups initgroups() gives the user.
type Identity struct {
	User   string
	UID    int
	GID    int
	Groups []int
}

// DefaultUser and defaultGroup are nginx's compiled-in NGX_USER and
// NGX_GROUP: "nobody", and the group "nobody" when /etc/group has one,
// else "nogroup" (auto/unix).
const DefaultUser = "nobody"

func defaultGroup() string {
	if _, err := user.LookupGroup("nobody"); err == nil {
		return "nobody"
	}
	return "nogroup"
}

// ResolveUser looks up the arguments of "user" (nil: not set) as nginx
// does when it runs as root: the group is the second argument, else the
// user's name; without the directive nginx's defaults. Errors read as
// nginx's, "getpwnam("x") failed".
func ResolveUser(args []string) (*Identity, error) {
	name, group := DefaultUser, defaultGroup()
	if len(args) > 0 {
		name, group = args[0], args[0]
		if len(args) > 1 {
			group = args[1]
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("getpwnam(%q) failed", name)
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return nil, fmt.Errorf("getgrnam(%q) failed", group)
	}
	id := &Identity{User: name}
	if id.UID, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("getpwnam(%q) failed", name)
	}
	if id.GID, err = strconv.Atoi(g.Gid); err != nil {
		return nil, fmt.Errorf("getgrnam(%q) failed", group)
	}
	// initgroups(user, group): the group given plus every group that
	// lists the user as a member. GroupIds also returns the passwd
	// primary group, which initgroups adds only when it is the one given.
	id.Groups = []int{id.GID}
	gids, _ := u.GroupIds()
	for _, s := range gids {
		n, err := strconv.Atoi(s)
		if err != nil || n == id.GID || s == u.Gid {
			continue
		}
		id.Groups = append(id.Groups, n)
	}
	return id, nil
}

// Drop switches the process to id as ngx_worker_process_init does:
// setgid, then the supplementary groups, then setuid. Go applies each to
// every thread of the process. Errors read as nginx's.
func (id *Identity) Drop() error {
	if err := syscall.Setgid(id.GID); err != nil {
		return fmt.Errorf("setgid(%d) failed (%s)", id.GID, nginxconf.ErrnoText(err))
	}
	if err := syscall.Setgroups(id.Groups); err != nil {
		return fmt.Errorf("initgroups(%s, %d) failed (%s)", id.User, id.GID, nginxconf.ErrnoText(err))
	}
	if err := syscall.Setuid(id.UID); err != nil {
		return fmt.Errorf("setuid(%d) failed (%s)", id.UID, nginxconf.ErrnoText(err))
	}
	return nil
}
