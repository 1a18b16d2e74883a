package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/syncsim/syncsim/cmd/internal/cliflag"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/scenarios"
	"github.com/syncsim/syncsim/sim"
)

// mutants runs the reference agent and every planted bug (or those named)
// over the catalogue and a bounded exploration, and prints who caught what.
func mutants(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mutants", flag.ContinueOnError)
	fs.SetOutput(stderr)
	explore := fs.Int("explore", 30, "drawn scenarios to run after the catalogue (seeds 1 onwards)")
	parallel := fs.Int("parallel", 3, "scenarios to run at once")
	out := fs.String("out", reports.Dir(), "directory for the reports of failed runs")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: syncsim mutants [flags] [NAME ...]\n\nBuilds syncsim with each planted bug of scenarios/mutants (or those named) and runs it\nover the scripted catalogue, then a bounded exploration, until a run fails; runs the\nreference agent the same way, in full. Prints which property and scenario killed each\nmutant and how long it took. Exits 1 if a mutant survived or the reference agent was\naccused.\n\nflags:")
		fs.PrintDefaults()
	}
	names, err := cliflag.Parse(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if *explore < 0 || *parallel < 1 {
		fs.Usage()
		return exitUsage
	}
	var chosen []scenarios.Mutant
	var known []string
	for _, m := range scenarios.Mutants() {
		known = append(known, m.Name)
		if len(names) == 0 || slices.Contains(names, m.Name) {
			chosen = append(chosen, m)
		}
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			fmt.Fprintf(stderr, "syncsim mutants: no mutant named %q; the planted bugs are: %s\n", n, strings.Join(known, ", "))
			return exitUsage
		}
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(stderr, "syncsim mutants: %v\n", err)
		return exitUsage
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "syncsim mutants: %v\n", err)
		return exitUndecided
	}
	dir := sim.Abs(*out)

	const rowFormat = "%-28s %-22s %-9s %-30s %8s %5s\n"
	code := exitPass
	row := func(k scenarios.Kill, result string) {
		prop, sc := "-", "-"
		if k.Killed {
			prop, sc = string(k.Property), k.Scenario
		}
		fmt.Fprintf(stdout, rowFormat, k.Agent, result, prop, sc, fmt.Sprintf("%.1f", k.Elapsed.Seconds()), fmt.Sprint(k.Runs))
	}
	fmt.Fprintf(stdout, "each agent runs the catalogue, then %d drawn scenarios, %d at once; a mutant stops at its first violation\n", *explore, *parallel)
	fmt.Fprintf(stdout, rowFormat, "agent", "result", "property", "scenario", "seconds", "runs")
	ref, err := scenarios.Hunt(ctx, self, "reference", dir, *explore, *parallel, false)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "syncsim mutants: reference agent: %v\n", err)
		return exitUndecided
	case ref.Violations > 0:
		row(ref, fmt.Sprintf("ACCUSED (%d violations)", ref.Violations))
		code = exitViolation
	case ref.Undecided > 0:
		row(ref, fmt.Sprintf("clean, %d undecided", ref.Undecided))
	default:
		row(ref, "clean")
	}
	for _, m := range chosen {
		bin, cleanup, err := m.BuildScratch(ctx, root)
		if err != nil {
			fmt.Fprintf(stderr, "syncsim mutants: %v\n", err)
			return exitUndecided
		}
		k, err := scenarios.Hunt(ctx, bin, m.Name, dir, *explore, *parallel, true)
		cleanup()
		if err != nil {
			fmt.Fprintf(stderr, "syncsim mutants: %s: %v\n", m.Name, err)
			return exitUndecided
		}
		if k.Killed {
			row(k, "killed")
		} else {
			row(k, "SURVIVED")
			code = exitViolation
		}
	}
	return code
}
