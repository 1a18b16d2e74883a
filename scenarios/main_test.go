package scenarios

import (
	"flag"
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

func TestMain(m *testing.M) {
	flag.Parse()
	// A -fuzz run starts no cluster, and the fuzzer keeps its inputs in
	// testdata/fuzz, relative to the working directory Init would leave.
	os.Exit(sim.RunTests(m, flag.Lookup("test.fuzz").Value.String() == ""))
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
