package model

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestEveryOverlapIsListed: a run whose timeline shows three overlapping
// workers on one sync says three: every pair overlaps.
func TestEveryOverlapIsListed(t *testing.T) {
	h := history(
		tenure("agent-1", "s", 1, 10, 20, 500, 0),
		tenure("agent-2", "s", 2, 100, 110, 600, 0),
		tenure("agent-3", "s", 3, 200, 210, 700, 0),
	)
	r := Check(h, Options{}).Results[0]
	if r.Property != ExclusiveWork || r.Status != Fail || len(r.Violations) != 3 || r.More != 0 {
		t.Fatalf("want 3 P1 violations, got %s with %d (+%d): %s", r.Status, len(r.Violations), r.More, r.Summary)
	}
	if !strings.HasPrefix(r.Summary, "3 violations; the first: agent-2 started s at 0.110 s") {
		t.Errorf("the summary does not say how many, and the first: %q", r.Summary)
	}
	pairs := map[string]bool{}
	for _, v := range r.Violations {
		pairs[fmt.Sprint(v.Workers)] = true
	}
	for _, want := range []string{"[1 2]", "[1 3]", "[2 3]"} {
		if !pairs[want] {
			t.Errorf("the overlap of workers %s is not listed: %+v", want, r.Violations)
		}
	}
}

// TestViolationsAreBounded: at most MaxViolations are listed; More counts the rest.
func TestViolationsAreBounded(t *testing.T) {
	var parts [][]Event
	for w := 1; w <= MaxViolations+6; w++ { // a worker that never stops, then one overlap each
		parts = append(parts, tenure("agent-1", "s", w, int64(10*w), int64(10*w+1), 0, 0))
	}
	r, _ := CheckExclusiveWork(history(parts...), Options{})
	n := MaxViolations + 6
	if want := n * (n - 1) / 2; len(r.Violations) != MaxViolations || r.Found() != want {
		t.Fatalf("listed %d and found %d, want %d listed of %d", len(r.Violations), r.Found(), MaxViolations, want)
	}
	if !strings.HasPrefix(r.Summary, fmt.Sprintf("%d violations;", n*(n-1)/2)) {
		t.Errorf("summary %q does not count them all", r.Summary)
	}
}

// TestAPanickingCheckerIsUndecided: a checker's bug leaves its property
// undecided, and the others still answer.
func TestAPanickingCheckerIsUndecided(t *testing.T) {
	checkers := []Checker{
		{Property: ExclusiveWork, Check: func(History, Options) (Result, map[string]Picture) { panic("index out of range") }},
		{Property: Complete, Check: withoutPicture(checkComplete)},
	}
	v := checkWith(checkers, history(tenure("agent-1", "s", 1, 10, 20, 0, 0)), Options{})
	if v.Status != Undecided || len(v.Results) != 2 || v.Results[0].Status != Undecided || v.Results[1].Status != Pass {
		t.Fatalf("want P1 undecided and the run undecided, got %s", v)
	}
	if !strings.Contains(v.Results[0].Summary, "panicked") || !strings.Contains(v.Results[0].Summary, "index out of range") {
		t.Errorf("the summary does not say the checker panicked, and why: %q", v.Results[0].Summary)
	}
}

// TestUndecidedReadsOldReports: Undecided is written "undecided"; reports
// written before say "unknown" and a single "violation", and still read.
func TestUndecidedReadsOldReports(t *testing.T) {
	data, _ := json.Marshal(Result{Status: Undecided})
	if !strings.Contains(string(data), `"status":"undecided"`) {
		t.Errorf("Undecided is written %s", data)
	}
	var old []Result
	if err := json.Unmarshal([]byte(`[{"property":"P1","status":"unknown"},{"property":"P2","status":"fail","violation":{"from":1,"to":2,"text":"late"}}]`), &old); err != nil {
		t.Fatal(err)
	}
	if old[0].Status != Undecided || old[1].Status != Fail || old[1].First() == nil || old[1].First().Text != "late" {
		t.Errorf("an old report reads as %+v", old)
	}
}
