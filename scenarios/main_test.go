package scenarios

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/sim"
)

// Paths the tests use, absolute before TestMain's sim.Init moves the process
// into a scratch directory.
var (
	repoRoot = mustAbs("..")
	// reportsDir is where failing runs leave their reports: reports.Dir(), a
	// relative one taken from the top of the repository rather than this
	// package.
	reportsDir     = underRepo(reports.Dir())
	regressionsDir = mustAbs(filepath.Join("testdata", "regressions"))
)

// testClock is the clock the tests run scenarios on: $SYNCSIM_CLOCK, "real"
// by default; "sim" needs a test binary built with -tags simclock against
// internal/etcdpatch's go.work, as make test builds it.
var testClock sim.Clock

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	if testClock, err = sim.ParseClock(os.Getenv("SYNCSIM_CLOCK")); err != nil {
		fmt.Fprintln(os.Stderr, "SYNCSIM_CLOCK:", err)
		os.Exit(2)
	}
	fuzzing := flag.Lookup("test.fuzz").Value.String() != ""
	whole := flag.Lookup("test.run").Value.String() == "" && !fuzzing
	startBuilds(whole && !testing.Short())
	// A -fuzz run starts no cluster, and the fuzzer keeps its inputs in
	// testdata/fuzz, relative to the working directory Init would leave.
	os.Exit(sim.RunTests(m, !fuzzing))
}

func mustAbs(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		panic(err)
	}
	return abs
}

func underRepo(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(repoRoot, path)
}

// parallelOnRealClock runs t in parallel with its siblings on the real
// clock; simulated runs go one at a time, each in its own test's bubbles.
func parallelOnRealClock(t *testing.T) {
	if testClock == sim.RealClock {
		t.Parallel()
	}
}
