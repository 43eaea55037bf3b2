package upstream

import (
	"fmt"
	"hash/fnv"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/gonginx/gonginx/nginxconf"
)

// "zone NAME [SIZE]" in upstream{}, as ngx_http_upstream_zone_module: the
// balancer state of the group's servers (connections, failures, the
// round robin weights) lives in memory every worker maps, so workers
// balance and count max_conns together. The master creates the memory
// (ZoneSpecs); a worker adopts it before it compiles (ZoneRegistry).
// Groups sharing a zone get regions in configuration order; a zone's ID
// names that layout, so a reload that changes it gets fresh memory, as
// nginx copies the peers into the zone again.

// ZoneUse is the module part of an upstream zone's ID.
const ZoneUse = "upstream_zone"

// ZoneSpec is an upstream zone the master makes for its workers.
type ZoneSpec struct {
	ID   string // "upstream_zone SIZE NAME LAYOUT"
	Name string
	Size int
}

// ZoneSize reads the size from a zone ID.
func ZoneSize(id string) (int, bool) {
	rest, ok := strings.CutPrefix(id, ZoneUse+" ")
	if !ok {
		return 0, false
	}
	size, _, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(size)
	return n, err == nil
}

// ZoneRegistry holds the zone memory a worker mapped, by ID.
type ZoneRegistry struct {
	mu  sync.Mutex
	mem map[string][]byte
}

func NewZoneRegistry() *ZoneRegistry { return &ZoneRegistry{mem: map[string][]byte{}} }

// Adopt makes mem the memory of the zone id names.
func (r *ZoneRegistry) Adopt(id string, mem []byte) {
	r.mu.Lock()
	r.mem[id] = mem
	r.mu.Unlock()
}

// memory is the zone's shared memory, or memory of this process alone.
func (r *ZoneRegistry) memory(id string, size int) []byte {
	if r != nil {
		r.mu.Lock()
		mem := r.mem[id]
		r.mu.Unlock()
		if len(mem) >= size {
			return mem
		}
	}
	return make([]byte, size)
}

// peerShm is one server's balancer state in a zone.
type peerShm struct {
	conns, fails, checked, accessed, currentWeight, effectiveWeight int64
}

const (
	zoneHeader = 64 // the lock, on a line of its own
	zoneMagic  = 0x6e67787570737472
)

// groupZone is a group's region of a zone.
type groupZone struct {
	mem  []byte
	off  int // of the region: a word set once initialized, then the peers
	lock *uint32
}

func regionSize(g *Group) int { return 8 + len(g.Servers)*int(unsafe.Sizeof(peerShm{})) }

// compileZones lays out the zones the groups name and gives each group
// its region.
func (gs *Groups) compileZones(order []*Group, decl map[*Group]*nginxconf.Directive, zones *ZoneRegistry) error {
	type zone struct {
		size   int
		groups []*Group
		d      *nginxconf.Directive
	}
	byName := map[string]*zone{}
	var names []string
	for _, g := range order {
		d := decl[g]
		if d == nil {
			continue
		}
		z := byName[d.Args[0]]
		if z == nil {
			z = &zone{d: d}
			byName[d.Args[0]] = z
			names = append(names, d.Args[0])
		}
		if len(d.Args) > 1 {
			n, _ := nginxconf.ParseSize(d.Args[1])
			z.size = int(n)
		}
		z.groups = append(z.groups, g)
	}
	for _, name := range names {
		z := byName[name]
		if z.size == 0 {
			// nginx's "zero size shared memory zone", which -t's
			// checks of all zones report.
			continue
		}
		need := zoneHeader
		h := fnv.New64a()
		for _, g := range z.groups {
			need += regionSize(g)
			fmt.Fprintf(h, "%s\x00", g.Name)
			for _, s := range g.Servers {
				fmt.Fprintf(h, "%s %d %v\x00", s.Addr, s.Weight, s.Backup)
			}
		}
		if need > z.size {
			return confErr(z.d, `zone "%s" is too small`, name)
		}
		spec := ZoneSpec{ID: fmt.Sprintf("%s %d %s %x", ZoneUse, z.size, name, h.Sum64()), Name: name, Size: z.size}
		gs.ZoneSpecs = append(gs.ZoneSpecs, spec)
		mem := zones.memory(spec.ID, spec.Size)
		lock := (*uint32)(unsafe.Pointer(&mem[0]))
		off := zoneHeader
		for _, g := range z.groups {
			g.zone = &groupZone{mem: mem, off: off, lock: lock}
			off += regionSize(g)
		}
	}
	return nil
}

// lockOwner is what a process writes in a zone's lock word: its pid.
var lockOwner = uint32(os.Getpid())

// acquire takes the zone's lock (a spin lock: it is held for a few
// hundred nanoseconds) and loads the group's state from the zone. A lock
// a dead process held is taken over, as nginx's master unlocks the zones
// of a worker that died (ngx_unlock_mutexes).
func (z *groupZone) acquire(g *Group) {
	for i := 0; !atomic.CompareAndSwapUint32(z.lock, 0, lockOwner); i++ {
		if i > 100 {
			runtime.Gosched()
		}
		if i%100000 == 99999 {
			if pid := atomic.LoadUint32(z.lock); pid != 0 && pid != lockOwner && !alive(int(pid)) {
				atomic.CompareAndSwapUint32(z.lock, pid, 0)
			}
		}
	}
	magic := (*uint64)(unsafe.Pointer(&z.mem[z.off]))
	if *magic != zoneMagic {
		for i, s := range g.Servers {
			*z.peer(i) = peerShm{effectiveWeight: int64(s.Weight)}
		}
		*magic = zoneMagic
	}
	for i, s := range g.Servers {
		p := z.peer(i)
		s.conns, s.fails = int(p.conns), int(p.fails)
		s.currentWeight, s.effectiveWeight = int(p.currentWeight), int(p.effectiveWeight)
		s.checked, s.accessed = p.checked, p.accessed
	}
}

// release stores the group's state and lets the lock go.
func (z *groupZone) release(g *Group) {
	for i, s := range g.Servers {
		p := z.peer(i)
		p.conns, p.fails = int64(s.conns), int64(s.fails)
		p.currentWeight, p.effectiveWeight = int64(s.currentWeight), int64(s.effectiveWeight)
		p.checked, p.accessed = s.checked, s.accessed
	}
	atomic.StoreUint32(z.lock, 0)
}

func (z *groupZone) peer(i int) *peerShm {
	return (*peerShm)(unsafe.Pointer(&z.mem[z.off+8+i*int(unsafe.Sizeof(peerShm{}))]))
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	return syscall.Kill(pid, 0) != syscall.ESRCH
}
