//go:build !linux

package rewrite

// tcpInfoGetters: nginx has $tcpinfo_* only where TCP_INFO exists; here
// they read empty, as nginx's do on such systems.
func tcpInfoGetters() map[string]Getter {
	none := func(s *State, dst []byte) []byte { return dst }
	return map[string]Getter{"tcpinfo_rtt": none, "tcpinfo_rttvar": none, "tcpinfo_snd_cwnd": none, "tcpinfo_rcv_space": none}
}
