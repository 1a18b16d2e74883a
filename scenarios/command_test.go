package scenarios

import (
	"context"
	"testing"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/sim"
)

// TestCommandAgents runs agents as OS processes, on the real clock even
// when the other tests run on the simulated one (a process cannot live in
// its bubble): the reference agent as a process passes what it passes
// in-process, the good example passes, and the unfenced one, which trusts
// Session.Done(), is caught keeping its work while isolated past its TTL
// (5 of 5 runs when measured).
func TestCommandAgents(t *testing.T) {
	t.Parallel() // with the other real-clock tests, after the simulated ones
	bins, err := commandAgents()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		agent, scenario string
		declared        sim.Declared
		args            string
		caught          bool
	}{
		{"syncagent", "owner-crash", sim.Reference, " run --syncer sink", false},
		{"syncagent", "leader-agent-crash", sim.Reference, " run --syncer sink", false},
		{"lockagent-good", "owner-isolated-past-ttl", sim.Declared{}, "", false},
		{"lockagent-unfenced", "owner-isolated-past-ttl", sim.Declared{}, "", true},
	} {
		t.Run(c.agent+"/"+c.scenario, func(t *testing.T) {
			t.Parallel()
			sc, err := Find(c.scenario)
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Reports: reportsDir, KeepPassing: reports.KeepEvery(), Command: &sim.Command{Line: "'" + bins[c.agent] + "'" + c.args}, Agent: c.declared}
			out, err := Run(context.Background(), sc, opts)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.caught && (out.Verdict.Status != model.Fail || out.Verdict.First().Property != model.ExclusiveWork):
				t.Fatalf("the bug went uncaught: %s\nreport: %s", out.Verdict, out.Report)
			case !c.caught && out.Verdict.Status != model.Pass:
				t.Fatalf("a false alarm: %s\n%s\nreport: %s", out.Verdict, out.Verdict.First().Summary, out.Report)
			}
			assertExercised(t, sc, out.History)
		})
	}
}
