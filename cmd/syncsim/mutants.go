package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/syncsim/syncsim/cmd/internal/cliflag"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/reports/junit"
	"github.com/syncsim/syncsim/scenarios"
	"github.com/syncsim/syncsim/sim"
)

// hunting is a parsed mutants command line.
type hunting struct {
	explore, parallel int
	out               string
	junit             string // "" writes none
	chosen            []scenarios.Mutant
	root              string // the module a mutant is built from
	self              string // this binary, the reference agent
	clock             sim.Clock
	replay            int // runs of each killing scenario again
	// agent, when given, is the reference agent as a process, which each
	// mutant replaces with its own patched syncagent.
	agent *agentFlags
}

// mutants runs the reference agent and every planted bug (or those named)
// over the catalogue and a bounded exploration, and prints who caught what.
func mutants(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	h, code := parseMutants(args, stderr)
	if h == nil {
		return code
	}
	began := time.Now()
	t := killTable{w: stdout}
	if h.junit != "" {
		t.cases = &junit.Report{Name: "syncsim"}
	}
	fmt.Fprintf(stdout, "each agent runs the catalogue, then %d drawn scenarios, %d at once; a mutant stops at its first violation\n", h.explore, h.parallel)
	t.header()
	var status exitStatus
	ref, err := h.watch("reference", stderr, func(progress func(scenarios.Kill)) (scenarios.Kill, error) {
		bin, cleanup, err := h.binary(ctx, h.self, h.root, "")
		if err != nil {
			return scenarios.Kill{Agent: "reference"}, err
		}
		defer cleanup()
		opts, err := h.options(false, progress, h.agent.line)
		if err != nil {
			return scenarios.Kill{Agent: "reference"}, err
		}
		return scenarios.Hunt(ctx, bin, "reference", opts)
	})
	status.add(t.reference(ref, err, stderr))
	for _, m := range h.chosen {
		if ctx.Err() != nil {
			status.add(exitUndecided)
			break
		}
		k, err := h.watch(m.Name, stderr, func(progress func(scenarios.Kill)) (scenarios.Kill, error) {
			return h.hunt(ctx, m, progress)
		})
		status.add(t.mutant(k, err, stderr))
	}
	if h.junit != "" {
		t.cases.Suite(mutantSuite).Timestamp = began.UTC().Format(time.RFC3339)
		if err := junit.Write(h.junit, t.cases); err != nil {
			fmt.Fprintf(stderr, "syncsim mutants: --junit: %v\n", err)
			status.add(exitUsage)
		}
	}
	return status.code()
}

// options are Hunt's options for one agent; with --agent, line is the
// agent command it runs.
func (h *hunting) options(stopAtKill bool, progress func(scenarios.Kill), line string) (scenarios.Hunting, error) {
	o := scenarios.Hunting{Out: h.out, Explore: h.explore, Parallel: h.parallel, StopAtKill: stopAtKill, Progress: progress, Clock: h.clock, Replay: h.replay}
	if !h.agent.given() {
		return o, nil
	}
	var err error
	o.Agent, err = h.agent.childArgs(line)
	return o, err
}

// binary is the binary to hunt an agent with: bin, a syncsim built from
// root with the planted bug mutant, or on the simulated clock that
// source's simulated clock binary, built once for every run of the hunt.
func (h *hunting) binary(ctx context.Context, bin, root, mutant string) (string, func(), error) {
	if h.clock != sim.SimClock {
		return bin, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "syncsim-simclock-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	simBin := filepath.Join(dir, "syncsim-simclock.test")
	if err := scenarios.BuildSimClock(ctx, root, mutant, simBin); err != nil {
		cleanup()
		return "", nil, err
	}
	return simBin, cleanup, nil
}

// watch runs one agent's hunt with a status line on stderr saying how far
// it got (a line every ten seconds off a terminal): a hunt runs for minutes
// before its row of the table.
func (h *hunting) watch(agent string, stderr io.Writer, hunt func(progress func(scenarios.Kill)) (scenarios.Kill, error)) (scenarios.Kill, error) {
	began := time.Now()
	var k scenarios.Kill
	st := startStatus(stderr, 10*time.Second, func() string {
		return fmt.Sprintf("hunting %s: %d runs, %d violations, %d undecided, %s", agent, k.Runs, k.Violations, k.Undecided, time.Since(began).Round(time.Second))
	})
	defer st.finish()
	return hunt(func(now scenarios.Kill) { st.do(func() { k = now }) })
}

// parseMutants reads the command line; a nil hunting comes with the exit
// code to end with.
func parseMutants(args []string, stderr io.Writer) (*hunting, int) {
	fs := flag.NewFlagSet("mutants", flag.ContinueOnError)
	fs.SetOutput(stderr)
	h := &hunting{}
	fs.IntVar(&h.explore, "explore", 30, "drawn scenarios to run after the catalogue (seeds 1 onwards)")
	fs.IntVar(&h.parallel, "parallel", 3, "scenarios to run at once")
	clockName := clockFlag(fs, sim.SimClock)
	fs.IntVar(&h.replay, "replay", 0, "after each kill, run the killing scenario again this many times and show how often it failed again")
	h.agent = addAgentFlags(fs)
	cliflag.PathVar(fs, &h.out, "out", reports.Dir(), "directory for the reports of failed runs")
	cliflag.PathVar(fs, &h.junit, "junit", "", "also write a JUnit XML file here: one test case per agent (a survivor or an accused reference fails)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: syncsim mutants [flags] [NAME ...]\n\nBuilds syncsim with each planted bug of scenarios/mutants (or those named) and runs it\nover the scripted catalogue, then a bounded exploration, until a run fails; runs the\nreference agent the same way, in full. Prints which property and scenario killed each\nmutant and how long it took. Exits 1 if a mutant survived or the reference agent was\naccused, 3 if a run could not be carried out.\n\nWith --agent 'syncagent run --syncer sink' the reference agent runs as a process, and each\nmutant as its own patched syncagent.\n\nflags:")
		fs.PrintDefaults()
	}
	names, err := cliflag.Parse(fs, args)
	if err != nil {
		return nil, parseFailed(err)
	}
	if h.explore < 0 || h.parallel < 1 || h.replay < 0 {
		fs.Usage()
		return nil, exitUsage
	}
	var ok bool
	if h.clock, ok = commandClock("mutants", fs, *clockName, stderr); !ok {
		return nil, exitUsage
	}
	if !outReady("mutants", h.out, stderr) || !junitReady("mutants", h.junit, stderr) {
		return nil, exitUsage
	}
	if _, _, ok := h.agent.agent("mutants", h.clock, stderr); !ok {
		return nil, exitUsage
	}
	if h.agent.given() && !isReference(h.agent.line) {
		fmt.Fprintf(stderr, "syncsim mutants: --agent %q is not the reference agent as a process (syncagent run --syncer sink): "+
			"the planted bugs are patches to the reference agent, so they cannot apply to another agent; hunt bugs in your own agent with syncsim explore --agent\n", h.agent.line)
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
func (h *hunting) hunt(ctx context.Context, m scenarios.Mutant, progress func(scenarios.Kill)) (scenarios.Kill, error) {
	k := scenarios.Kill{Agent: m.Name}
	bin, cleanup, err := m.BuildScratch(ctx, h.root)
	if err != nil {
		return k, err
	}
	defer cleanup()
	bin, cleanupSim, err := h.binary(ctx, bin, filepath.Dir(bin), m.Name)
	if err != nil {
		return k, err
	}
	defer cleanupSim()
	line := h.agent.line
	if h.agent.given() {
		if line, err = withBinary(line, scenarios.MutantAgent(bin)); err != nil {
			return k, err
		}
	}
	opts, err := h.options(true, progress, line)
	if err != nil {
		return k, err
	}
	return scenarios.Hunt(ctx, bin, m.Name, opts)
}

// killTable prints who caught what, one row per agent, and keeps a JUnit
// case for each when cases is not nil.
type killTable struct {
	w     io.Writer
	cases *junit.Report
}

// mutantSuite is the JUnit suite of the mutants command.
const mutantSuite = "syncsim mutants"

// record keeps an agent's JUnit case: problem, if any, is its <failure>
// (or with errored its <error>); the kill goes in its output.
func (t killTable) record(k scenarios.Kill, problem string, errored bool) {
	if t.cases == nil {
		return
	}
	c := junit.Case{Name: k.Agent, Time: junit.Seconds(k.Elapsed.Seconds())}
	if k.Killed {
		c.SystemOut = fmt.Sprintf("killed by %s in %s after %d runs; report: %s", k.Property, k.Scenario, k.Runs, k.Report)
	}
	switch {
	case problem == "":
	case errored:
		c.Error = &junit.Problem{Message: problem, Type: "error"}
	default:
		c.Failure = &junit.Problem{Message: problem, Type: "mutants"}
	}
	t.cases.Suite(mutantSuite).Add(c)
}

const rowFormat = "%-28s %-22s %-9s %-30s %8s %5s %8s\n"

func (t killTable) header() {
	fmt.Fprintf(t.w, rowFormat, "agent", "result", "property", "scenario", "seconds", "runs", "replayed")
}

func (t killTable) row(k scenarios.Kill, result string) {
	prop, sc := "-", "-"
	if k.Killed {
		prop, sc = string(k.Property), k.Scenario
	}
	replayed := "-"
	if k.Replays > 0 {
		replayed = fmt.Sprintf("%d/%d", k.Reproduced, k.Replays)
	}
	fmt.Fprintf(t.w, rowFormat, k.Agent, result, prop, sc, fmt.Sprintf("%.1f", k.Elapsed.Seconds()), fmt.Sprint(k.Runs), replayed)
}

// failed is the row of an agent whose runs could not all be carried out:
// it proves nothing either way. The full error goes to stderr.
func (t killTable) failed(k scenarios.Kill, err error, stderr io.Writer) int {
	first, _, _ := strings.Cut(err.Error(), "\n")
	fmt.Fprintf(t.w, "%-28s ERROR: %s\n", k.Agent, first)
	t.record(k, "could not run: "+first, true)
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
		t.record(k, fmt.Sprintf("the reference agent was accused: %d violations, the first %s in %s; report: %s", k.Violations, k.Property, k.Scenario, k.Report), false)
		return exitViolation
	case k.Undecided > 0:
		t.row(k, fmt.Sprintf("clean, %d undecided", k.Undecided))
		t.record(k, fmt.Sprintf("%d of %d runs were undecided", k.Undecided, k.Runs), true)
		return exitUndecided
	}
	t.row(k, "clean")
	t.record(k, "", false)
	return exitPass
}

// mutant is a planted bug's row: it must be killed.
func (t killTable) mutant(k scenarios.Kill, err error, stderr io.Writer) int {
	switch {
	case err != nil:
		return t.failed(k, err, stderr)
	case k.Killed:
		t.row(k, "killed")
		t.record(k, "", false)
		return exitPass
	}
	t.row(k, "SURVIVED")
	t.record(k, fmt.Sprintf("the planted bug %s survived %d runs", k.Agent, k.Runs), false)
	return exitViolation
}
