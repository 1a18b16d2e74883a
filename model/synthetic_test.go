package model_test

import (
	"testing"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/model/modeltest"
)

// TestSyntheticHistoryIsWhatItClaims: the benchmarks' history holds
// unknown outcomes, failed commits and overlapping acquires, and is clean.
func TestSyntheticHistoryIsWhatItClaims(t *testing.T) {
	h := modeltest.Synthetic(20_000, 20)
	var unknown, failed, overlapping int
	claimed := map[string]int64{} // sync -> when its next claim was sent
	for _, e := range h.Events {
		switch {
		case e.Kind == model.Commit && e.Outcome == model.Unknown:
			unknown++
		case e.Kind == model.Commit && e.Outcome == model.Failed:
			failed++
		case e.Kind == model.ClaimStart:
			claimed[e.Sync] = e.Time
		case e.Kind == model.ReleaseDone && claimed[e.Sync] > 0:
			overlapping++ // the next owner's claim was sent before this release was done
			delete(claimed, e.Sync)
		case e.Kind == model.WorkStart:
			delete(claimed, e.Sync)
		}
	}
	if unknown == 0 || failed == 0 || overlapping == 0 {
		t.Errorf("unknown outcomes %d, failed commits %d, overlapping acquires %d: want each > 0", unknown, failed, overlapping)
	}
	if v := model.Check(h, model.Options{Expect: []model.Property{model.ExclusiveWork, model.FencedEffects, model.StopMeansStop}}); v.Status != model.Pass {
		t.Fatalf("the synthetic history must be clean: %s: %s", v, v.First().Summary)
	}
	t.Logf("%d events: %d unknown outcomes, %d failed commits, %d overlapping acquires", len(h.Events), unknown, failed, overlapping)
}
