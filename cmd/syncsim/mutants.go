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
)

// hunting is a parsed mutants command line.
type hunting struct {
	explore, parallel int
	out               string
	chosen            []scenarios.Mutant
	root              string // the module a mutant is built from
	self              string // this binary, the reference agent
}

// mutants runs the reference agent and every planted bug (or those named)
// over the catalogue and a bounded exploration, and prints who caught what.
func mutants(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	h, code := parseMutants(args, stderr)
	if h == nil {
		return code
	}
	t := killTable{w: stdout}
	fmt.Fprintf(stdout, "each agent runs the catalogue, then %d drawn scenarios, %d at once; a mutant stops at its first violation\n", h.explore, h.parallel)
	t.header()
	var status exitStatus
	ref, err := scenarios.Hunt(ctx, h.self, "reference", h.out, h.explore, h.parallel, false)
	status.add(t.reference(ref, err, stderr))
	for _, m := range h.chosen {
		if ctx.Err() != nil {
			status.add(exitUndecided)
			break
		}
		k, err := h.hunt(ctx, m)
		status.add(t.mutant(k, err, stderr))
	}
	return status.code()
}

// parseMutants reads the command line; a nil hunting comes with the exit
// code to end with.
func parseMutants(args []string, stderr io.Writer) (*hunting, int) {
	fs := flag.NewFlagSet("mutants", flag.ContinueOnError)
	fs.SetOutput(stderr)
	h := &hunting{}
	fs.IntVar(&h.explore, "explore", 30, "drawn scenarios to run after the catalogue (seeds 1 onwards)")
	fs.IntVar(&h.parallel, "parallel", 3, "scenarios to run at once")
	cliflag.PathVar(fs, &h.out, "out", reports.Dir(), "directory for the reports of failed runs")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: syncsim mutants [flags] [NAME ...]\n\nBuilds syncsim with each planted bug of scenarios/mutants (or those named) and runs it\nover the scripted catalogue, then a bounded exploration, until a run fails; runs the\nreference agent the same way, in full. Prints which property and scenario killed each\nmutant and how long it took. Exits 1 if a mutant survived or the reference agent was\naccused, 3 if a run could not be carried out.\n\nflags:")
		fs.PrintDefaults()
	}
	names, err := cliflag.Parse(fs, args)
	if err != nil {
		return nil, parseFailed(err)
	}
	if h.explore < 0 || h.parallel < 1 {
		fs.Usage()
		return nil, exitUsage
	}
	if !outReady("mutants", h.out, stderr) {
		return nil, exitUsage
	}
	if h.chosen, err = chooseMutants(names); err != nil {
		fmt.Fprintf(stderr, "syncsim mutants: %v\n", err)
		return nil, exitUsage
	}
	if h.root, err = moduleRoot(); err != nil {
		fmt.Fprintf(stderr, "syncsim mutants: %v\n", err)
		return nil, exitUsage
	}
	if h.self, err = os.Executable(); err != nil {
		fmt.Fprintf(stderr, "syncsim mutants: %v\n", err)
		return nil, exitUndecided
	}
	return h, exitPass
}

// chooseMutants returns the planted bugs named, or all of them.
func chooseMutants(names []string) ([]scenarios.Mutant, error) {
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
			return nil, fmt.Errorf("no mutant named %q; the planted bugs are: %s", n, strings.Join(known, ", "))
		}
	}
	return chosen, nil
}

// hunt builds the mutant and hunts it until its first violation.
func (h *hunting) hunt(ctx context.Context, m scenarios.Mutant) (scenarios.Kill, error) {
	k := scenarios.Kill{Agent: m.Name}
	bin, cleanup, err := m.BuildScratch(ctx, h.root)
	if err != nil {
		return k, err
	}
	defer cleanup()
	return scenarios.Hunt(ctx, bin, m.Name, h.out, h.explore, h.parallel, true)
}

// killTable prints who caught what, one row per agent.
type killTable struct{ w io.Writer }

const rowFormat = "%-28s %-22s %-9s %-30s %8s %5s\n"

func (t killTable) header() {
	fmt.Fprintf(t.w, rowFormat, "agent", "result", "property", "scenario", "seconds", "runs")
}

func (t killTable) row(k scenarios.Kill, result string) {
	prop, sc := "-", "-"
	if k.Killed {
		prop, sc = string(k.Property), k.Scenario
	}
	fmt.Fprintf(t.w, rowFormat, k.Agent, result, prop, sc, fmt.Sprintf("%.1f", k.Elapsed.Seconds()), fmt.Sprint(k.Runs))
}

// failed is the row of an agent whose runs could not all be carried out:
// it proves nothing either way. The full error goes to stderr.
func (t killTable) failed(k scenarios.Kill, err error, stderr io.Writer) int {
	first, _, _ := strings.Cut(err.Error(), "\n")
	fmt.Fprintf(t.w, "%-28s ERROR: %s\n", k.Agent, first)
	fmt.Fprintf(stderr, "syncsim mutants: %s: %v\n", k.Agent, err)
	return exitUndecided
}

// reference is the reference agent's row: any violation accuses it.
func (t killTable) reference(k scenarios.Kill, err error, stderr io.Writer) int {
	switch {
	case err != nil:
		return t.failed(k, err, stderr)
	case k.Violations > 0:
		t.row(k, fmt.Sprintf("ACCUSED (%d violations)", k.Violations))
		return exitViolation
	case k.Undecided > 0:
		t.row(k, fmt.Sprintf("clean, %d undecided", k.Undecided))
		return exitUndecided
	}
	t.row(k, "clean")
	return exitPass
}

// mutant is a planted bug's row: it must be killed.
func (t killTable) mutant(k scenarios.Kill, err error, stderr io.Writer) int {
	switch {
	case err != nil:
		return t.failed(k, err, stderr)
	case k.Killed:
		t.row(k, "killed")
		return exitPass
	}
	t.row(k, "SURVIVED")
	return exitViolation
}
