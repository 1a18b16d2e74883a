package scenarios

import (
	"slices"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim"
)

// TestSmallerCandidates: every candidate is valid and smaller than the
// timeline it came from, the cut after the violation comes first, and the
// shrinker runs out of candidates (it cannot loop forever).
func TestSmallerCandidates(t *testing.T) {
	sc := (Space{}).Drawn(7)
	for len(sc.Steps) < 4 {
		sc.Steps = append(sc.Steps, sim.Step{At: sim.Duration(3 * time.Second), Fault: sim.Compact})
	}
	cut := sc.Steps[1].At.Std()
	cands := smaller(sc, cut)
	if len(cands) == 0 {
		t.Fatal("no candidates")
	}
	if first := cands[0]; slices.ContainsFunc(first.Steps, func(s sim.Step) bool { return s.At.Std() > cut }) {
		t.Errorf("the first candidate keeps steps after the violation at %v: %s", cut, stepsLine(first))
	}
	for _, c := range cands {
		if err := c.Validate(); err != nil {
			t.Errorf("invalid candidate: %v", err)
		}
		if size(c) >= size(sc) {
			t.Errorf("candidate is not smaller: %s", stepsLine(c))
		}
	}
	// Always taking the first candidate reaches a timeline with none.
	for i := 0; ; i++ {
		next := smaller(sc, -1)
		if len(next) == 0 {
			break
		}
		if i > 1000 {
			t.Fatal("shrinking does not end")
		}
		sc = next[0]
	}
}

// size orders scenarios for shrinking: steps, then total fault time and
// offsets, then the world.
func size(sc *Scenario) int64 {
	n := int64(len(sc.Steps)) << 40
	for _, s := range sc.Steps {
		n += int64(s.For.Std()/time.Millisecond) + int64(s.At.Std()/time.Millisecond)
	}
	return n + int64(sc.Agents+sc.Syncs+sc.Members)<<30
}

func TestViolationOffset(t *testing.T) {
	o := &Outcome{
		History: model.History{Events: []model.Event{{Time: 2e9, Kind: model.Ready}}},
		Verdict: model.Verdict{Results: []model.Result{{Property: model.ExclusiveWork, Status: model.Fail, Expected: true,
			Violations: []model.Violation{{From: 5e9}}}}},
	}
	if got := violationOffset(o); got != 3*time.Second {
		t.Fatalf("offset %v, want 3s", got)
	}
	o.Verdict.Results[0].Violations = nil
	if got := violationOffset(o); got != -1 {
		t.Fatalf("offset %v without a violation, want -1", got)
	}
}
