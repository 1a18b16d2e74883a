package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports/junit"
	"github.com/syncsim/syncsim/scenarios"
)

// TestKillTableJUnit: mutants' JUnit has a case per agent; a surviving
// mutant and an accused reference fail, a killed mutant passes, and a hunt
// that could not run is an error.
func TestKillTableJUnit(t *testing.T) {
	var out, stderr bytes.Buffer
	table := killTable{w: &out, cases: &junit.Report{}}
	table.reference(scenarios.Kill{Agent: "reference", Violations: 1, Property: model.ExclusiveWork, Scenario: "owner-crash", Report: "/r/owner-crash"}, nil, &stderr)
	table.mutant(scenarios.Kill{Agent: "session-done", Killed: true, Property: model.ExclusiveWork, Scenario: "owner-crash", Runs: 3}, nil, &stderr)
	table.mutant(scenarios.Kill{Agent: "no-fence", Runs: 52}, nil, &stderr)
	table.mutant(scenarios.Kill{Agent: "broken"}, errors.New("build mutant broken: exit 1\nmore"), &stderr)

	table.cases.Count()
	cases := table.cases.Suite(mutantSuite).Cases
	if table.cases.Tests != 4 || table.cases.Failures != 2 || table.cases.Errors != 1 {
		t.Fatalf("%d cases, %d failures, %d errors; want 4, 2, 1: %+v", table.cases.Tests, table.cases.Failures, table.cases.Errors, cases)
	}
	if f := cases[0].Failure; f == nil || !strings.Contains(f.Message, "accused") || !strings.Contains(f.Message, "/r/owner-crash") {
		t.Errorf("the accused reference's case: %+v", cases[0])
	}
	if cases[1].Failure != nil || !strings.Contains(cases[1].SystemOut, "killed by P1 in owner-crash") {
		t.Errorf("the killed mutant's case: %+v", cases[1])
	}
	if f := cases[2].Failure; f == nil || !strings.Contains(f.Message, "no-fence survived 52 runs") {
		t.Errorf("the surviving mutant's case: %+v", cases[2])
	}
	if e := cases[3].Error; e == nil || e.Message != "could not run: build mutant broken: exit 1" {
		t.Errorf("the broken hunt's case: %+v", cases[3])
	}
}
