package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/sim"
)

func TestMutantsApply(t *testing.T) {
	ms := Mutants()
	if len(ms) == 0 {
		t.Fatal("no mutants")
	}
	for _, m := range ms {
		check := exec.Command("git", "apply", "--check", "-")
		check.Dir, check.Stdin = sim.Abs(".."), bytes.NewReader(m.Patch)
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("mutant %s no longer applies to agent/: %v\n%s", m.Name, err, out)
		}
	}
}

// TestSessionDoneAgentIsCaught proves the P1 check bites: an agent that stops
// its workers only when Session.Done() fires keeps working after its lease
// expired, while another agent has taken over. The overlap depends on where
// the client's one-second deadline check falls, so the scenario is tried up
// to five times; it is caught in most single attempts.
func TestSessionDoneAgentIsCaught(t *testing.T) {
	mutant := mutantNamed(t, "session-done")
	dir := t.TempDir()
	bin, err := mutant.Build(context.Background(), sim.Abs(".."), dir)
	if err != nil {
		t.Fatal(err)
	}
	const attempts = 5
	for i := 1; i <= attempts; i++ {
		run, code := runBuilt(t, bin, dir, "owner-isolated-past-ttl")
		if run.Status == model.Pass {
			t.Logf("attempt %d: not caught this time", i)
			continue
		}
		if code != 1 {
			t.Errorf("exit code %d, want 1 for a violation", code)
		}
		p1 := run.Results[0]
		v := p1.First()
		if p1.Property != model.ExclusiveWork || p1.Status != model.Fail || v == nil {
			t.Fatalf("attempt %d: want a P1 violation, got %+v", i, p1)
		}
		if len(v.Agents) != 2 || v.Agents[0] == v.Agents[1] || !(strings.HasPrefix(v.Sync, "sync-") || v.Sync == model.Leadership) || v.To <= v.From {
			t.Fatalf("the violation must name two agents, a sync or leadership, and a positive overlap: %+v", v)
		}
		for _, want := range []string{v.Agents[0], v.Agents[1], "until", "isolate " + v.Agents[0]} {
			if !strings.Contains(v.Text, want) {
				t.Errorf("explanation %q does not mention %q", v.Text, want)
			}
		}
		again, err := reports.Recheck(run.Report)
		if err != nil {
			t.Fatalf("re-check the stored history: %v", err)
		}
		if again.Status != model.Fail || again.Results[0].Summary != p1.Summary {
			t.Errorf("offline re-check says %s / %q; the live run said %q", again.Status, again.Results[0].Summary, p1.Summary)
		}
		t.Logf("caught on attempt %d: %s (report %s)", i, v.Text, run.Report)
		return
	}
	t.Fatalf("the Session.Done() agent survived %d attempts of owner-isolated-past-ttl", attempts)
}

func mutantNamed(t *testing.T, name string) Mutant {
	for _, m := range Mutants() {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no mutant %q", name)
	return Mutant{}
}

// TestQuickKills keeps proving in CI that the checks bite: besides the
// Session.Done() agent above, the three quickest kills, each by one short
// catalogue scenario that kills it every time (tried up to three times
// all the same, as time is real).
func TestQuickKills(t *testing.T) {
	for _, tt := range []struct {
		mutant, scenario string
		property         model.Property
	}{
		{"trust-campaign", "leader-agent-crash", model.ExclusiveWork},
		{"get-then-put-claim", "claim-stalled-while-reassigned", model.ExclusiveWork},
		{"leader-without-term-guard", "leader-stalled-mid-rebalance", model.FencedEffects},
	} {
		t.Run(tt.mutant, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			bin, err := mutantNamed(t, tt.mutant).Build(context.Background(), sim.Abs(".."), dir)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				run, _ := runBuilt(t, bin, dir, tt.scenario)
				first := model.Verdict{Results: run.Results}.First()
				if run.Status == model.Fail && first.Property == tt.property {
					t.Logf("caught on attempt %d: %s (report %s)", i, first.Summary, run.Report)
					return
				}
				t.Logf("attempt %d: %s", i, run.Status)
			}
			t.Fatalf("%s survived %s three times; %s should have failed", tt.mutant, tt.scenario, tt.property)
		})
	}
}

// builtRun is one line of `syncsim run --json`.
type builtRun struct {
	Status  model.Status
	Results []model.Result
	Report  string
}

// runBuilt runs scenario once with a syncsim built in dir, and returns its
// outcome and exit code.
func runBuilt(t *testing.T, bin, dir, scenario string) (builtRun, int) {
	t.Helper()
	cmd := exec.Command(bin, "run", "--json", "--failures-only", "--out", reportsDir(), scenario)
	cmd.Dir = dir
	out, err := cmd.Output()
	var run builtRun
	if jerr := json.Unmarshal(out, &run); jerr != nil {
		t.Fatalf("%s: %v; output %q (%v)", scenario, jerr, out, err)
	}
	return run, cmd.ProcessState.ExitCode()
}
