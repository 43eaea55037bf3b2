package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/location/process"
	"github.com/gonginx/gonginx/nginxconf"
)

// The binary upgrade, as nginx's: SIGUSR2 renames the pid file to
// ".oldbin" and starts the binary (the file at the same path, replaced
// or not) as a new master on the same listening sockets; the old master
// goes on serving until it is told to quit. When the new one exits, the
// old one takes its pid file back.

const oldbinSuffix = ".oldbin"

// upgrade is SIGUSR2's hook (ngx_exec_new_binary).
func (m *master) upgrade(exe string) (int, error) {
	if m.pid == "" || strings.HasSuffix(m.pid, oldbinSuffix) {
		return 0, fmt.Errorf("no pid file to hand over")
	}
	old := m.pid + oldbinSuffix
	if err := os.Rename(m.pid, old); err != nil {
		return 0, fmt.Errorf("rename() %q to %q failed (%s), the new binary is not started", m.pid, old, nginxconf.ErrnoText(err))
	}
	addrs := m.addrs()
	slices.Sort(addrs)
	files := make([]*os.File, len(addrs))
	for i, a := range addrs {
		files[i] = m.socks[a].file
	}
	pid, err := process.ExecNewBinary(exe, files)
	if err != nil {
		os.Rename(old, m.pid)
		return 0, err
	}
	m.pid = old // what this master removes when it exits
	return pid, nil
}

// upgradeFailed gives the pid file back once the new binary has exited.
func (m *master) upgradeFailed() {
	cur, ok := strings.CutSuffix(m.pid, oldbinSuffix)
	if !ok {
		return
	}
	if err := os.Rename(m.pid, cur); err != nil {
		m.log.Log("alert", fmt.Sprintf("rename() %q to %q failed (%s)", m.pid, cur, nginxconf.ErrnoText(err)))
		return
	}
	m.pid = cur
}

// adoptInherited takes the sockets an old master handed over for the
// addresses rt listens on (so nothing is bound twice and no connection
// is refused during the upgrade) and closes the others, as
// ngx_set_inherited_sockets and ngx_init_cycle do.
func (m *master) adoptInherited(rt *location.Router) {
	for _, f := range m.f.inherited {
		// A TCP or unix listener, or a stream{} UDP socket.
		var c io.Closer
		var local net.Addr
		if ln, err := net.FileListener(f); err == nil {
			c, local = ln, ln.Addr()
		} else if pc, perr := net.FilePacketConn(f); perr == nil {
			c, local = pc, pc.LocalAddr()
		} else {
			m.log.Log("alert", fmt.Sprintf("inherited socket: %v", err))
			f.Close()
			continue
		}
		key := ""
		for _, l := range rt.Listens() {
			if sameAddr(l, local) {
				key = l.Key()
				break
			}
		}
		if key == "" || m.socks[key] != nil {
			c.Close()
			f.Close()
			continue
		}
		m.socks[key] = &boundSocket{ln: c, file: f}
	}
	m.f.inherited = nil
}

// sameAddr reports whether a listen directive's address is a.
func sameAddr(l *location.Listen, a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return l.Network != "unix" && !l.UDP && l.Port == a.Port && l.IP.Equal(a.IP)
	case *net.UDPAddr:
		return l.UDP && l.Port == a.Port && l.IP.Equal(a.IP)
	case *net.UnixAddr:
		return l.Network == "unix" && l.Path == a.Name
	}
	return false
}
