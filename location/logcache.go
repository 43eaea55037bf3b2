package location

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// Access logs whose path has variables are opened for each line and
// closed again, as ngx_http_log_script_write does, unless
// open_log_file_cache keeps their descriptors: an entry is made at a
// path's first successful open and its descriptor kept from its
// min_uses-th use, for at most "valid" before it is opened again; the
// least recently used entry goes when "max" are held, and an entry unused
// for "inactive" is not reused. A path that fails to open makes no entry,
// so a moved directory is seen at once for paths not kept open.

// logFileCache is one open_log_file_cache directive.
type logFileCache struct {
	max      int
	minUses  int
	inactive time.Duration
	valid    time.Duration

	mu      sync.Mutex
	entries map[string]*cachedLog
}

type cachedLog struct {
	f        *os.File // nil until min_uses
	uses     int
	created  time.Time // when f was opened
	accessed time.Time
}

// compileLogCache reads "open_log_file_cache max=N [inactive=time]
// [min_uses=N] [valid=time] | off" (checked by -t).
func compileLogCache(d *nginxconf.Directive) (*logFileCache, error) {
	if len(d.Args) == 1 && d.Args[0] == "off" {
		return nil, nil
	}
	c := &logFileCache{minUses: 1, inactive: 10 * time.Second, valid: 60 * time.Second, entries: map[string]*cachedLog{}}
	for _, a := range d.Args {
		name, v, _ := strings.Cut(a, "=")
		var ok bool
		switch name {
		case "max":
			c.max, ok = atoiPositive(v)
		case "min_uses":
			c.minUses, ok = atoiPositive(v)
		case "inactive", "valid":
			var ms int64
			ms, ok = nginxconf.ParseTime(v, false)
			dur := time.Duration(ms) * time.Millisecond
			if name == "inactive" {
				c.inactive = dur
			} else {
				c.valid = dur
			}
		}
		if !ok {
			return nil, confErr(d, "invalid \"open_log_file_cache\" parameter \"%s\"", a)
		}
	}
	if c.max == 0 {
		return nil, confErr(d, "\"open_log_file_cache\" must have \"max\" parameter")
	}
	return c, nil
}

// atoiPositive is ngx_atoi: digits only; 0 passes here (max=0 is then
// "must have max", as nginx reads it).
func atoiPositive(s string) (int, bool) {
	n, ok := nginxconf.ParseNumber(s)
	return int(n), ok
}

// writeVarLog writes line to the access log at path (its name evaluated
// from variables), through cache when the location has one.
func (l *Logger) writeVarLog(cache *logFileCache, path string, line []byte) error {
	if cache == nil {
		f, err := openAppend(path)
		if err != nil {
			return err
		}
		_, err = f.Write(line)
		f.Close()
		return err
	}
	return cache.write(path, line)
}

func (c *logFileCache) write(path string, line []byte) error {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[path]
	if e != nil && now.Sub(e.accessed) > c.inactive {
		c.drop(path, e)
		e = nil
	}
	if e != nil && e.f != nil && now.Sub(e.created) < c.valid {
		e.uses++
		e.accessed = now
		_, err := e.f.Write(line)
		return err
	}
	f, err := openAppend(path)
	if err != nil {
		if e != nil {
			c.drop(path, e)
		}
		return err
	}
	if e == nil {
		if len(c.entries) >= c.max {
			c.evictOldest()
		}
		e = &cachedLog{}
		c.entries[path] = e
	}
	e.uses++
	e.accessed = now
	_, err = f.Write(line)
	if e.f != nil {
		e.f.Close()
		e.f = nil
	}
	if e.uses >= c.minUses {
		e.f, e.created = f, now
	} else {
		f.Close()
	}
	return err
}

func (c *logFileCache) drop(path string, e *cachedLog) {
	if e.f != nil {
		e.f.Close()
	}
	delete(c.entries, path)
}

// evictOldest drops the least recently used entry (the caches are
// small: a scan at eviction only).
func (c *logFileCache) evictOldest() {
	var oldest string
	var at time.Time
	for p, e := range c.entries {
		if oldest == "" || e.accessed.Before(at) {
			oldest, at = p, e.accessed
		}
	}
	if oldest != "" {
		c.drop(oldest, c.entries[oldest])
	}
}

// close closes every descriptor held (the configuration is gone).
func (c *logFileCache) close() {
	c.mu.Lock()
	for p, e := range c.entries {
		c.drop(p, e)
	}
	c.mu.Unlock()
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open() \"%s\" failed (%s)", path, nginxconf.ErrnoText(err))
	}
	return f, nil
}
