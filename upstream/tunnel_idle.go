package upstream

import "github.com/gonginx/gonginx/upstream/poller"

// tunnelIdle is the idle limit (proxy_read_timeout, stream's
// proxy_timeout) of the process's parked tunnels: one heap and one
// runtime timer (poller.Deadlines). A runtime timer per tunnel (kept in
// a pool, Reset and Stopped) cost each WebSocket connection ~900
// instructions, and each idle tunnel the timer's memory. checkIdle
// runs with the heap's reference to the tunnel.
var tunnelIdle poller.Deadlines[*tunnel]

// Set in init: checkIdle refers to tunnelIdle.
func init() { tunnelIdle.Expire = (*tunnel).checkIdle }

// DueAt and HeapSlot make a tunnel an item of tunnelIdle: due at idleAt,
// placed at idleIdx.
func (t *tunnel) DueAt() int64     { return t.idleAt }
func (t *tunnel) HeapSlot() *int32 { return &t.idleIdx }
