package scenarios

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim"
)

// exploreChecks is how many drawn scenarios TestExplore runs unless
// -rapid.checks or RAPID_CHECKS says otherwise: each runs for seconds
// on a real cluster, so CI runs a few (and every saved failure first);
// `make explore` and `syncsim explore` run campaigns.
const exploreChecks = 3

// TestExplore runs scenarios that rapid draws against the reference agent,
// which must keep every property in each. A failure is shrunk by rapid and
// saved under testdata/rapid/TestExplore, and every later run replays the
// saved failures before drawing new scenarios: commit them.
func TestExplore(t *testing.T) {
	if !userChecks() {
		setFlag(t, "rapid.checks", strconv.Itoa(exploreChecks))
	}
	keepFailFilesHere(t)
	gen := Space{}.Generator()
	rapid.Check(t, func(rt *rapid.T) {
		sc := gen.Draw(rt, "scenario")
		out, err := Run(context.Background(), sc, testOptions())
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
			rt.Fatalf("%s\n%s\nreport: %s", out.Verdict, out.Verdict.First().Summary, out.Report)
		}
	})
}

// keepFailFilesHere makes rapid's failure files land in this package's
// testdata: rapid names them relative to the working directory, which the
// etcd test framework moves into a scratch directory, so a link there
// points back here.
func keepFailFilesHere(t *testing.T) {
	t.Helper()
	here := sim.Abs("testdata")
	if err := os.MkdirAll(here, 0o755); err != nil {
		t.Fatal(err)
	}
	work, err := sim.WorkDir()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(work, "testdata")
	if target, err := os.Readlink(link); err == nil && target == here {
		return
	}
	if err := os.Symlink(here, link); err != nil {
		t.Fatalf("link rapid's failure files to %s: %v", here, err)
	}
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
