package scenarios

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
)

// worldSizes are the worlds BenchmarkWorldSize tries: syncs for the
// maxSyncs limit, and one with maxAgents agents.
var worldSizes = []struct{ agents, syncs int }{
	{3, 50}, {3, 100}, {3, 200}, {3, 300}, {3, 400}, {30, 100}, {100, 100},
}

// BenchmarkWorldSize measures how large a world the harness can run against
// the reference agent: owner-crash (one owner crash, lease 1s) with quiet 2s
// and more and more syncs, reporting whether it passed and how long it took. The
// limits maxSyncs and maxAgents come from it (docs/limits.md). Each size
// starts a real cluster; run it once, one size at a time:
//
//	go test -run XXX -bench BenchmarkWorldSize -benchtime 1x ./scenarios/
func BenchmarkWorldSize(b *testing.B) {
	for _, size := range worldSizes {
		b.Run(fmt.Sprintf("agents=%d/syncs=%d", size.agents, size.syncs), func(b *testing.B) {
			for b.Loop() {
				runWorldSize(b, size.agents, size.syncs)
			}
		})
	}
}

func runWorldSize(b *testing.B, agents, syncs int) {
	base, err := Find("owner-crash")
	if err != nil {
		b.Fatal(err)
	}
	sc := *base
	sc.Agents, sc.Syncs, sc.Quiet = agents, syncs, dur(2*time.Second)
	// Not validated: the sizes go past maxSyncs and maxAgents, to show where they fail.
	out, err := Run(context.Background(), &sc, Options{})
	if err != nil {
		b.Fatalf("the harness could not run %d agents, %d syncs: %v", agents, syncs, err)
	}
	passed := 0.0
	if out.Verdict.Status == model.Pass {
		passed = 1
	}
	b.ReportMetric(passed, "passed")
	b.ReportMetric(out.Duration.Seconds(), "s/run")
	b.ReportMetric(float64(len(out.History.Events)), "events")
	if first := out.Verdict.First(); first != nil {
		b.Logf("%d agents, %d syncs: %s %s: %s", agents, syncs, first.Property, first.Status, first.Summary)
	}
}
