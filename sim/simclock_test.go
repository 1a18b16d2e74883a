//go:build simclock

package sim

import (
	"context"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
)

// TestSimulatedRun runs a world of three members and three agents through
// an owner crash, a member crash and a partition on the simulated clock,
// and checks that the run is whole and its properties hold.
func TestSimulatedRun(t *testing.T) {
	if err := SimulateIn(t); err != nil {
		t.Fatal(err)
	}
	setup := Setup{Members: 3, Agents: 3, Syncs: 6, LeaseTTL: Duration(time.Second), SafetyMargin: Duration(200 * time.Millisecond), Quiet: Duration(3 * time.Second), Seed: 7}
	steps := []Step{
		{At: Duration(time.Second), Fault: "crash", Target: "owner of sync-1"},
		{At: Duration(3 * time.Second), Fault: "member-crash", Target: "etcd leader", For: Duration(2 * time.Second)},
		{At: Duration(6 * time.Second), Fault: "isolate", Target: "leader", For: Duration(3 * time.Second)},
	}
	wall := time.Now()
	res, err := Run(context.Background(), setup, steps, Options{Clock: SimClock})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events, %v simulated in %v of wall time", len(res.History.Events), time.Duration(res.History.Events[len(res.History.Events)-1].Time), time.Since(wall))
	if res.History.Clock != string(SimClock) {
		t.Errorf("history clock %q, want %q", res.History.Clock, SimClock)
	}
	if v := model.Check(res.History, model.Options{LeaseTTL: time.Second}); v.Status != model.Pass {
		t.Errorf("properties do not hold:\n%s", v)
	}
}
