package scenarios

import (
	"context"
	"testing"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/sim"
)

// testOptions runs the reference agent on the tests' clock and keeps the
// reports of failed runs, or of every run with SYNCSIM_KEEP_REPORTS=1. On
// the simulated clock t's bubbles run them.
func testOptions(t *testing.T) Options {
	t.Helper()
	if testClock == sim.SimClock {
		if err := sim.SimulateIn(t); err != nil {
			t.Fatalf("SYNCSIM_CLOCK=sim: %v", err)
		}
	}
	return Options{Reports: reportsDir, KeepPassing: reports.KeepEvery(), Clock: testClock}
}

func TestCatalogueDecodes(t *testing.T) {
	cat := Catalogue()
	if len(cat) < 2 {
		t.Fatalf("catalogue has %d scenarios", len(cat))
	}
	// A scenario copied in from a report keeps its old name until edited.
	for i := 1; i < len(cat); i++ {
		if cat[i].Name == cat[i-1].Name {
			t.Errorf("two catalogue scenarios are named %q; give the copy a name of its own", cat[i].Name)
		}
	}
}

// TestCatalogue runs every scripted scenario against the reference agent.
// Each must pass, and must really have exercised its faults: every step
// injected one.
func TestCatalogue(t *testing.T) {
	for _, sc := range Catalogue() {
		t.Run(sc.Name, func(t *testing.T) {
			parallelOnRealClock(t)
			mustPassAsWritten(t, sc)
		})
	}
}

// mustPassAsWritten runs sc against the reference agent, which must keep
// every property and carry out every step.
func mustPassAsWritten(t *testing.T, sc *Scenario) {
	t.Helper()
	out, err := Run(context.Background(), sc, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if out.Verdict.Status != model.Pass {
		t.Fatalf("%s\n%s\nreport: %s", out.Verdict, out.Verdict.First().Summary, out.Report)
	}
	assertExercised(t, sc, out.History)
}

// assertExercised fails a run that passed without doing what it set out to.
func assertExercised(t *testing.T, sc *Scenario, h model.History) {
	t.Helper()
	faults := 0
	for _, e := range h.Events {
		switch e.Kind {
		case model.Skipped:
			t.Errorf("the run skipped something: %s", e.Detail)
		case model.FaultStart:
			faults++
		}
	}
	if faults != len(sc.Steps) {
		t.Errorf("%d of %d steps injected a fault", faults, len(sc.Steps))
	}
}
