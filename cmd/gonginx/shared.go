package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"github.com/gonginx/gonginx/location/server"
	"github.com/gonginx/gonginx/nginxconf"
)

// countersName is the file of the counters all workers share.
const countersName = "counters"

// sharedSize is one page, more than server.Counters needs.
const sharedSize = 4096

// newSharedCounters makes the memory nginx would allocate in its master
// for ngx_connection_counter and the ngx_stat_* counters: an unlinked file
// each worker maps, kept across reloads (so $connection goes on counting
// and stub_status adds every worker up, as under nginx).
func newSharedCounters() (*os.File, error) {
	if unsafe.Sizeof(server.Counters{}) > sharedSize {
		return nil, fmt.Errorf("server.Counters outgrew the shared page")
	}
	fh, err := os.CreateTemp("", "gonginx-counters-")
	if err != nil {
		return nil, err
	}
	os.Remove(fh.Name())
	if err := fh.Truncate(sharedSize); err != nil {
		fh.Close()
		return nil, err
	}
	return fh, nil
}

// mapSharedCounters maps the master's counters into this worker. The
// mapping lives as long as the process; the atomics work across processes
// as across threads.
func mapSharedCounters(fh *os.File) (*server.Counters, error) {
	defer fh.Close()
	mem, err := syscall.Mmap(int(fh.Fd()), 0, sharedSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap(MAP_SHARED) failed (%s)", nginxconf.ErrnoText(err))
	}
	return (*server.Counters)(unsafe.Pointer(&mem[0])), nil
}
