package filecache

import (
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// The cache manager and loader, as nginx's cache manager process: the
// files found on disk when a process starts using the zone are known
// (the loader), entries not used for "inactive" are removed, and the
// least recently used go while the cache is over max_size or the file
// system has less than min_free. Each serving process runs its own, over
// its own view of which entries were used.

// managerTick is how often the manager looks.
const managerTick = time.Second

// start runs the manager once, on the zone's first use.
func (z *Zone) start() {
	z.startOnce.Do(func() {
		z.mu.Lock()
		if z.stop == nil {
			z.stop = make(chan struct{})
		}
		stop := z.stop
		z.mu.Unlock()
		go z.manage(stop)
	})
}

// Stop ends the zone's manager (a reload retires the configuration).
func (z *Zone) Stop() {
	z.mu.Lock()
	if z.stop == nil {
		z.stop = make(chan struct{})
	}
	select {
	case <-z.stop:
	default:
		close(z.stop)
	}
	z.mu.Unlock()
}

func (z *Zone) manage(stop chan struct{}) {
	z.load()
	t := time.NewTicker(managerTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			z.expire(now)
		}
	}
}

// load is nginx's cache loader: every cache file under the path becomes
// a known entry, as if just used.
func (z *Zone) load() {
	now := time.Now()
	filepath.WalkDir(z.Path, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".tmp-") || len(name) != 32 {
			return nil
		}
		var k Key
		if _, err := hex.Decode(k[:], []byte(name)); err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		z.mu.Lock()
		n := z.nodeOf(k)
		if n.size == 0 {
			n.size = fi.Size()
			z.size += n.size
			n.lastUse = now
		}
		z.mu.Unlock()
		return nil
	})
}

// expire removes what inactive, max_size and min_free say must go.
func (z *Zone) expire(now time.Time) {
	var victims []Key
	type lru struct {
		k    Key
		used time.Time
		size int64
	}
	var files []lru
	z.mu.Lock()
	for k, n := range z.nodes {
		if n.updating {
			continue
		}
		if z.Inactive > 0 && now.Sub(n.lastUse) > z.Inactive {
			if n.size > 0 {
				victims = append(victims, k)
				z.size -= n.size
			}
			z.setErr(n, 0)
			delete(z.nodes, k)
			continue
		}
		if n.size > 0 {
			files = append(files, lru{k, n.lastUse, n.size})
		}
	}
	over := int64(0)
	if z.MaxSize > 0 && z.size > z.MaxSize {
		over = z.size - z.MaxSize
	}
	if z.MinFree > 0 {
		var st syscall.Statfs_t
		if syscall.Statfs(z.Path, &st) == nil {
			if free := int64(st.Bavail) * int64(st.Bsize); free < z.MinFree {
				over = max(over, z.MinFree-free)
			}
		}
	}
	if over > 0 {
		sort.Slice(files, func(i, j int) bool { return files[i].used.Before(files[j].used) })
		for _, f := range files {
			if over <= 0 {
				break
			}
			victims = append(victims, f.k)
			over -= f.size
			z.size -= f.size
			if n := z.nodes[f.k]; n != nil {
				z.setErr(n, 0)
			}
			delete(z.nodes, f.k)
		}
	}
	z.mu.Unlock()
	for _, k := range victims {
		os.Remove(z.FileName(k))
	}
}
