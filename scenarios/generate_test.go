package scenarios

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim"
)

// TestGeneratedScenariosRunAsWritten draws many timelines (without running
// them) and checks what the executor relies on: each is a valid scenario,
// keeps a majority of members (one, when quorum loss is allowed) and at
// least one agent in at every instant,
// targets only syncs that exist, and gives up P1 and P4 exactly when it
// pauses an agent.
func TestGeneratedScenariosRunAsWritten(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sp := Space{
			Members: rapid.SampledFrom([]int{1, 3, 5}).Draw(t, "members"),
			Agents:  rapid.IntRange(1, 5).Draw(t, "agents"),
			Syncs:   rapid.IntRange(1, 8).Draw(t, "syncs"),

			AllowQuorumLoss: rapid.Bool().Draw(t, "allow quorum loss"),
		}
		sc := sp.Generator().Draw(t, "scenario")
		if err := sc.Validate(); err != nil {
			t.Fatalf("drawn scenario is invalid: %v\n%s", err, sc.Encode())
		}
		if most, at := sim.MostMembersDown(sc.Members, sc.Steps); most >= sc.Members {
			t.Fatalf("every member is down at %v\n%s", at, sc.Encode())
		}
		if sc.AllowQuorumLoss && !sp.AllowQuorumLoss {
			t.Fatal("the timeline takes a quorum down although the space does not allow it")
		}
		if len(sc.Steps) == 0 {
			t.Fatal("no steps")
		}
		if out, at := mostAgentsOut(sc); out >= sc.Agents+joins(sc, at) {
			t.Fatalf("%d agents out at %v, all of them\n%s", out, at, sc.Encode())
		}
		pauses := slices.ContainsFunc(sc.Steps, func(s sim.Step) bool { return s.Fault == sim.Pause })
		if slices.Contains(sc.Expect, model.ExclusiveWork) == pauses || slices.Contains(sc.Expect, model.StopMeansStop) == pauses {
			t.Fatalf("expect %v with pauses=%v", sc.Expect, pauses)
		}
		for i := 1; i < len(sc.Steps); i++ {
			if sc.Steps[i].At < sc.Steps[i-1].At {
				t.Fatalf("steps out of order at %d", i)
			}
		}
	})
}

// mostAgentsOut is the largest number of agents cut off, paused or down at
// once, and when; an open-ended fault lasts until the timeline ends.
func mostAgentsOut(sc *Scenario) (int, time.Duration) {
	most, when := 0, time.Duration(0)
	for _, probe := range sc.Steps {
		at, out := probe.At.Std(), 0
		for _, s := range sc.Steps {
			switch s.Fault {
			case sim.Isolate, sim.Crash, sim.Stop, sim.Pause:
				if s.At.Std() <= at && (s.For == 0 || at < s.At.Std()+s.For.Std()) {
					out++
				}
			}
		}
		if out > most {
			most, when = out, at
		}
	}
	return most, when
}

func joins(sc *Scenario, by time.Duration) int {
	n := 0
	for _, s := range sc.Steps {
		if s.Fault == sim.Join && s.At.Std() <= by {
			n++
		}
	}
	return n
}

func TestDrawnIsReproducible(t *testing.T) {
	sp := Space{}
	for seed := int64(0); seed < 50; seed++ {
		a, b := sp.Drawn(seed), sp.Drawn(seed)
		if !bytes.Equal(a.Encode(), b.Encode()) {
			t.Fatalf("seed %d drew two different scenarios:\n%s\n%s", seed, a.Encode(), b.Encode())
		}
		if a.Seed != seed || a.Name == "" {
			t.Fatalf("seed %d: scenario %q has seed %d", seed, a.Name, a.Seed)
		}
	}
	if bytes.Equal(sp.Drawn(1).Encode(), sp.Drawn(2).Encode()) {
		t.Fatal("seeds 1 and 2 drew the same scenario")
	}
}

// TestDrawnCoversTheLanguage checks that exploration can reach every fault
// of the scenario language, and heals and waits between them.
func TestDrawnCoversTheLanguage(t *testing.T) {
	seen := map[sim.Fault]bool{}
	healed := false
	for seed := int64(0); seed < 300; seed++ {
		for _, s := range (Space{}).Drawn(seed).Steps {
			seen[s.Fault] = true
			if s.For > 0 && !slices.Contains(drawFors, s.For) {
				healed = true // a heal action ended it
			}
		}
	}
	for _, f := range sim.Registry() {
		if f.Weight() > 0 && !seen[f.Name()] {
			t.Errorf("300 drawn scenarios never used %s", f.Name())
		}
	}
	if !healed {
		t.Error("no drawn fault was healed by a heal action")
	}
}

// TestNoLeaderDrawsNoLeaderTargets: for an agent that elects no leader a
// campaign draws no step it could not fill; the reference's still does.
func TestNoLeaderDrawsNoLeaderTargets(t *testing.T) {
	leaders := func(sp Space) int {
		n := 0
		for seed := int64(0); seed < 200; seed++ {
			for _, s := range sp.Drawn(seed).Steps {
				if s.Target == sim.LeaderAgent {
					n++
				}
			}
		}
		return n
	}
	if n := leaders(Space{}); n == 0 {
		t.Fatal("200 drawn scenarios never targeted the leader")
	}
	if n := leaders(Space{NoLeader: true}); n > 0 {
		t.Fatalf("with NoLeader, %d steps targeted the leader", n)
	}
	if (Options{System: lockAgent}).declared(&Scenario{}).Leads {
		t.Fatal("a System that declares nothing is taken to elect a leader")
	}
}
