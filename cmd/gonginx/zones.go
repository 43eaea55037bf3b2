package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/location/limit"
	"github.com/gonginx/gonginx/location/process"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream"
)

// zones are this process's limit zones, kept across reloads; a worker's
// are the master's files mapped.
var zones = limit.NewRegistry()

// upstreamZones are the upstream{} zones a worker mapped.
var upstreamZones = upstream.NewZoneRegistry()

// zoneName names a zone file a worker inherits: + its limit.ZoneID
// (module, size, name).
const zoneName = "zone "

// makeZones creates the memory of rt's zones that the master has not
// made yet (or made with another size): unlinked files every worker maps,
// as nginx's shared memory, kept across reloads.
func (m *master) makeZones(rt *location.Router) error {
	for _, z := range rt.Zones {
		key := z.ID
		if m.zones[key] != nil {
			continue
		}
		fh, err := os.CreateTemp("", "gonginx-zone-")
		if err != nil {
			return err
		}
		os.Remove(fh.Name())
		if err := fh.Truncate(int64(z.Size)); err != nil {
			fh.Close()
			return err
		}
		if m.zones == nil {
			m.zones = map[string]*os.File{}
		}
		m.zones[key] = fh
	}
	// An upstream zone's ID names its layout: one the configuration no
	// longer has is only the old workers' (who mapped it already).
	for key, fh := range m.zones {
		if _, ok := upstream.ZoneSize(key); ok && !slices.ContainsFunc(rt.Zones, func(z location.ZoneSpec) bool { return z.ID == key }) {
			fh.Close()
			delete(m.zones, key)
		}
	}
	return nil
}

// addZones passes rt's zone files to a generation of workers.
func (m *master) addZones(sp *process.Spec, rt *location.Router) {
	for _, z := range rt.Zones {
		key := z.ID
		if fh := m.zones[key]; fh != nil {
			sp.Names = append(sp.Names, zoneName+key)
			sp.Files = append(sp.Files, fh)
		}
	}
}

// adoptZones maps the zone files a worker inherited.
func adoptZones(files map[string]*os.File) error {
	for name, fh := range files {
		id, ok := strings.CutPrefix(name, zoneName)
		if !ok {
			continue
		}
		delete(files, name)
		// The id is "use size name" (limit.ZoneID).
		_, rest, _ := strings.Cut(id, " ")
		sizeText, zone, _ := strings.Cut(rest, " ")
		size, _ := strconv.Atoi(sizeText)
		mem, err := syscall.Mmap(int(fh.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		fh.Close()
		if err != nil {
			return fmt.Errorf("mmap(MAP_SHARED) failed (%s)", nginxconf.ErrnoText(err))
		}
		if _, ok := upstream.ZoneSize(id); ok {
			upstreamZones.Adopt(id, mem)
			continue
		}
		if err := zones.Adopt(id, zone, mem); err != nil {
			return err
		}
	}
	return nil
}
