package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/syncsim/syncsim/cmd/internal/cliflag"
	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports"
)

// report rebuilds the index page of a reports directory, prunes it, or
// merges shards' directories into one.
func report(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keep := fs.Int("keep", -1, "remove passing runs but the `N` newest (failing and undecided runs are always kept)")
	merge := fs.Bool("merge", false, "fold the reports directories given (a campaign's shards) into --out")
	out := cliflag.Path(fs, "out", reports.Dir(), "with --merge, the directory merged into (also $SYNCSIM_REPORTS)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `usage: syncsim report [--keep N] [DIR]
       syncsim report --merge [--out DIR] SHARD-DIR...

Rebuilds DIR/index.html (default %s, or $SYNCSIM_REPORTS): every run, failures
first; with --keep, first removes passing runs but the N newest. DIR/latest links
to the run written last.

With --merge, copies every run of the shards' directories into --out, combines their
junit.xml files (or, for a shard without one, its reports) into --out/junit.xml,
rebuilds the index and prints the totals.

flags:
`, reports.Dir())
		fs.PrintDefaults()
	}
	pos, err := cliflag.Parse(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if *merge {
		if len(pos) == 0 || flagGiven(fs, "keep") {
			fs.Usage()
			return exitUsage
		}
		return mergeShards(*out, pos, stdout, stderr)
	}
	if len(pos) > 1 || flagGiven(fs, "out") || flagGiven(fs, "keep") && *keep < 0 {
		fs.Usage()
		return exitUsage
	}
	dir := reports.Dir()
	if len(pos) == 1 {
		dir = pos[0]
	}
	if err := reports.CheckRoot(dir); err != nil {
		fmt.Fprintf(stderr, "syncsim report: %v; give the directory run reports were written to\n", err)
		return exitUsage
	}
	if *keep >= 0 {
		removed, err := reports.Prune(dir, *keep)
		if err != nil {
			fmt.Fprintf(stderr, "syncsim report: --keep: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(stdout, "removed %d passing runs, keeping the %d newest and every failing or undecided one\n", len(removed), *keep)
	}
	path, err := reports.Index(dir)
	if err != nil {
		fmt.Fprintf(stderr, "syncsim report: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, path)
	return exitPass
}

// mergeShards folds shard directories into root and prints the totals; it
// exits as the merged runs would: 1 if any failed, 3 if any could not decide.
func mergeShards(root string, shards []string, stdout, stderr io.Writer) int {
	m, err := reports.Merge(root, shards)
	if err != nil {
		fmt.Fprintf(stderr, "syncsim report --merge: %v\n", err)
		return exitUsage
	}
	j := m.JUnit
	fmt.Fprintf(stdout, "merged %d shards: %d runs, %d passed, %d failed, %d undecided or errors, %.1fs of runs\n",
		m.Shards, j.Tests, j.Tests-j.Failures-j.Errors, j.Failures, j.Errors, j.Time)
	fmt.Fprintf(stdout, "reports kept: %d failing, %d undecided, %d passing\n", m.Reports[model.Fail], m.Reports[model.Undecided], m.Reports[model.Pass])
	fmt.Fprintf(stdout, "index: %s\njunit: %s/%s\n", m.Index, root, reports.JUnitFile)
	var status exitStatus
	if j.Failures > 0 {
		status.add(exitViolation)
	}
	if j.Errors > 0 {
		status.add(exitUndecided)
	}
	return status.code()
}
