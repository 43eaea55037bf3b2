package upstream

import (
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gonginx/gonginx/rewrite"
)

// Two workers compiling the same configuration over the memory the
// master made share their groups' state: a connection one counts is the
// other's max_conns too; groups sharing a zone get their own regions.
func TestZoneSharedByWorkers(t *testing.T) {
	conf := parseConf(t, `upstream a { zone z 64k; server 127.0.0.1:1 max_conns=1; server 127.0.0.2:1 max_conns=1; }
upstream b { zone z; server 127.0.0.3:1 max_conns=1; }
upstream c { server 127.0.0.4:1 max_conns=1; }`)
	master, err := CompileGroupsVars(conf, rewrite.NewCompiler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(master.ZoneSpecs) != 1 || master.ZoneSpecs[0].Size != 64<<10 {
		t.Fatalf("zone specs %+v", master.ZoneSpecs)
	}
	shared := NewZoneRegistry()
	shared.Adopt(master.ZoneSpecs[0].ID, make([]byte, master.ZoneSpecs[0].Size))
	var workers [2]*Groups
	for i := range workers {
		if workers[i], err = CompileGroupsVars(conf, rewrite.NewCompiler(), shared); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	st := &rewrite.State{}
	var got []int
	for _, name := range []string{"a", "b", "c"} {
		for _, w := range workers {
			got = append(got, w.Lookup(name).pick(st, 0, now))
		}
	}
	// a: one server each; b: the second worker finds it busy; c: no zone.
	want := []int{0, 1, 0, -1, 0, 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("picks (-want +got):\n%s", diff)
	}
	workers[1].Lookup("b").done(0, false, now)
	if i := workers[0].Lookup("b").pick(st, 0, now); i != 0 {
		t.Errorf("after the other worker's release picked %d", i)
	}
}

// A zone lock a dead worker held is taken over.
func TestZoneLockOfDeadProcess(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("no process to outlive: %v", err)
	}
	gs, err := CompileGroups(parseConf(t, "upstream u { zone z 64k; server 127.0.0.1:1; server 127.0.0.2:1; }"))
	if err != nil {
		t.Fatal(err)
	}
	g := gs.Lookup("u")
	*g.zone.lock = uint32(cmd.Process.Pid) // gone, its lock held
	if i := g.pick(&rewrite.State{}, 0, time.Now()); i < 0 {
		t.Errorf("picked %d", i)
	}
	if *g.zone.lock != 0 {
		t.Errorf("lock left %d", *g.zone.lock)
	}
}
