package scenarios

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/syncsim/syncsim/model"
)

// exploreChecks is how many drawn scenarios TestExplore runs unless
// -rapid.checks or RAPID_CHECKS says otherwise: each runs for seconds on a
// real cluster, so CI runs a few (what exploration once caught runs in
// TestRegressions); `make explore` and `syncsim explore` run campaigns.
const exploreChecks = 3

// TestExplore runs scenarios that rapid draws against the reference agent,
// which must keep every property in each. rapid writes no failure files:
// a failure prints the scenario rapid shrank it to, as JSON to save under
// testdata/regressions, which TestRegressions runs from then on.
func TestExplore(t *testing.T) {
	if !userChecks() {
		setFlag(t, "rapid.checks", strconv.Itoa(exploreChecks))
	}
	setFlag(t, "rapid.nofailfile", "true")
	gen := Space{}.Generator()
	opts := testOptions(t)
	rapid.Check(t, func(rt *rapid.T) {
		sc := gen.Draw(rt, "scenario")
		out, err := Run(context.Background(), sc, opts)
		if err != nil {
			rt.Fatal(err)
		}
		if out.Verdict.Status == model.Undecided {
			// The run did not go as written (a role nobody held for
			// seconds, say): it proves nothing either way, so the draw
			// is discarded like an invalid one. Its report is kept.
			rt.Skipf("undecided: %s (report %s)", out.Verdict.First().Summary, out.Report)
		}
		if out.Verdict.Status != model.Pass {
			rt.Fatalf("%s\n%s\nreport: %s\n%s", out.Verdict, out.Verdict.First().Summary, out.Report, asRegression(sc, out))
		}
	})
}

// asRegression is what to do with a drawn scenario that failed: the file
// to save, named and described after the failure.
func asRegression(sc *Scenario, out *Outcome) string {
	reg := *sc
	reg.Name = "NAME"
	first := out.Verdict.First()
	reg.Description = fmt.Sprintf("Regression: exploration caught %s failing here: %q. The reference agent must pass it.", first.Property, first.Summary)
	return fmt.Sprintf("keep it: save this as %s, with NAME (here and in the file name) saying what it caught:\n%s",
		filepath.Join(regressionsDir, "NAME.json"), reg.Encode())
}

// userChecks reports whether the command line or the environment chose the
// number of rapid checks, as the process started.
var userChecks = sync.OnceValue(func() bool {
	set := os.Getenv("RAPID_CHECKS") != ""
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	return set
})

func setFlag(t *testing.T, name, value string) {
	old := flag.Lookup(name).Value.String()
	if err := flag.Set(name, value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flag.Set(name, old) })
}

// TestShardsSplitACampaign: n shards with one seed run every seed of the
// unsharded campaign exactly once.
func TestShardsSplitACampaign(t *testing.T) {
	const shards, each = 4, 25
	seen := map[int64]int{}
	for shard := range shards {
		c := Campaign{Seed: 1000, Shard: shard, Shards: shards}
		for k := range int64(each) {
			seen[c.seed(k)]++
		}
	}
	whole := Campaign{Seed: 1000}
	for k := range int64(shards * each) {
		if seen[whole.seed(k)] != 1 {
			t.Fatalf("seed %d ran %d times across the shards", whole.seed(k), seen[whole.seed(k)])
		}
	}
}
