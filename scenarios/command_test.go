package scenarios

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/sim"
)

// buildCommandAgents builds into dir the agents the tests below run as
// processes: the reference (cmd/syncagent) and the two examples, each in
// its own module; it returns their paths by name.
func buildCommandAgents(dir string) (map[string]string, error) {
	bins := map[string]string{}
	for name, pkg := range map[string]string{
		"syncagent":          "cmd/syncagent",
		"lockagent-good":     "examples/lockagent-good",
		"lockagent-unfenced": "examples/lockagent-unfenced",
	} {
		bins[name] = filepath.Join(dir, name)
		build := exec.Command("go", "build", "-o", bins[name], ".")
		// make test's GOWORK (the simulated clock's etcd) covers this
		// module only; each example is a module of its own.
		build.Dir, build.Env = filepath.Join(repoRoot, pkg), append(os.Environ(), "GOWORK=off")
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s: %v\n%s", pkg, err, out)
		}
	}
	return bins, nil
}

// TestCommandAgents runs agents as OS processes, on the real clock even
// when the other tests run on the simulated one (a process cannot live in
// its bubble): the reference agent as a process passes what it passes
// in-process, the good example passes, and the unfenced one, which trusts
// Session.Done(), is caught keeping its work while isolated past its TTL
// (5 of 5 runs when measured).
func TestCommandAgents(t *testing.T) {
	bins, err := buildCommandAgents(t.TempDir())
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
