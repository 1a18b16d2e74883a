// Package syncsimtest runs syncsim scenarios against your own agent from
// your own module's go test: a catalogue scenario, a scenario file, or a
// drawn campaign, against a sim.System or a command line, a number of
// times, and reports how often the agent was caught.
//
//	func TestMain(m *testing.M) { syncsimtest.Main(m) }
//
//	func TestMyAgent(t *testing.T) {
//		syncsimtest.Run(t, syncsimtest.Spec{Scenario: "owner-isolated-past-ttl", Command: "./bin/myagent", Runs: 3})
//	}
//
// Every run is on the real clock: an agent run as a process lives on the
// machine's clock.
package syncsimtest

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/scenarios"
	"github.com/syncsim/syncsim/sim"
)

// startDir is the directory the tests started in, before sim.Init moved
// the process into a scratch directory: relative paths in a Spec are
// relative to it, as they were written.
var startDir, _ = os.Getwd()

// Main is your package's TestMain: it starts the harness (sim.Init), runs
// the tests and exits with their code.
func Main(m *testing.M) { os.Exit(sim.RunTests(m, true)) }

// Spec is what to run, against which agent, and how often.
type Spec struct {
	// Scenario is a catalogue scenario's name (syncsim list) or the path
	// of a scenario file (it ends in .json or holds a slash).
	Scenario string
	// Drawn, instead of Scenario, runs a campaign of this many drawn
	// scenarios, seeds Seed, Seed+1, … (each once; Runs does not apply),
	// from Space (zero: syncsim explore's defaults).
	Drawn int
	Seed  int64
	Space scenarios.Space

	// The agent under test: System, a Go function, or Command, a command
	// line run as one OS process per agent incarnation
	// (docs/agent-protocol.md). Neither is the reference agent.
	System  sim.System
	Command string
	// Agent is what the agent declares of itself: its layout, token kind,
	// whether it balances or leads, and the properties it keeps.
	Agent sim.Declared

	// Runs is how many times Scenario runs; default 1.
	Runs int
	// Parallel is how many runs go at once; default 2.
	Parallel int
	// Reports is where runs that do not pass leave their reports; default
	// reports.Dir() ($SYNCSIM_REPORTS or syncsim-reports), relative to the
	// directory the tests started in.
	Reports string
}

// Result counts a spec's runs.
type Result struct {
	Runs, Caught, Undecided int
	// First is the first run that did not pass, if any.
	First *scenarios.Outcome
}

// CatchRate is how often an expected property failed, over the runs.
func (r Result) CatchRate() float64 {
	if r.Runs == 0 {
		return 0
	}
	return float64(r.Caught) / float64(r.Runs)
}

func (r Result) String() string {
	s := fmt.Sprintf("caught in %d of %d runs (%.0f%%), %d undecided", r.Caught, r.Runs, 100*r.CatchRate(), r.Undecided)
	if r.First != nil {
		s += "; first: " + explain(r.First)
	}
	return s
}

// explain is a run that did not pass in one sentence, with its report.
func explain(o *scenarios.Outcome) string {
	s := string(o.Verdict.Status)
	if first := o.Verdict.First(); first != nil {
		s = fmt.Sprintf("%s %s: %s", first.Property, first.Status, first.Summary)
	}
	if o.Report != "" {
		s += " (report: " + o.Report + ")"
	}
	return s
}

// Run runs spec and fails t unless every run passed, with the first
// failure explained and its report's path.
func Run(t testing.TB, spec Spec) Result {
	t.Helper()
	r := Measure(t, spec)
	if r.First != nil {
		t.Errorf("%s: %s", name(spec), explain(r.First))
	}
	return r
}

// CatchRate runs spec and returns how often an expected property failed:
// for a test that expects the agent to be caught. An undecided run or
// one the harness could not carry out fails t.
func CatchRate(t testing.TB, spec Spec) float64 {
	t.Helper()
	r := Measure(t, spec)
	if r.Undecided > 0 {
		t.Errorf("%s: %d of %d runs were undecided, so the rate proves less than it says", name(spec), r.Undecided, r.Runs)
	}
	return r.CatchRate()
}

// Measure runs spec, logs the catch rate and returns the count, failing t
// only when the harness could not carry out a run.
func Measure(t testing.TB, spec Spec) Result {
	t.Helper()
	opts, err := spec.options()
	if err != nil {
		t.Fatalf("syncsimtest: %v", err)
	}
	var r Result
	var mu sync.Mutex
	count := func(sc *scenarios.Scenario, o *scenarios.Outcome, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("syncsimtest: %s could not run: %v", sc.Name, err)
			return
		}
		r.Runs++
		switch o.Verdict.Status {
		case model.Pass:
			return
		case model.Fail:
			r.Caught++
		default:
			r.Undecided++
		}
		if r.First == nil || r.First.Verdict.Status != model.Fail && o.Verdict.Status == model.Fail {
			r.First = o
		}
	}
	parallel := cmp.Or(spec.Parallel, 2)
	if spec.Drawn > 0 {
		c := scenarios.Campaign{Space: spec.Space, Seed: cmp.Or(spec.Seed, 1), Count: spec.Drawn, Parallel: parallel, KeepGoing: true, Options: opts}
		scenarios.Explore(context.Background(), c, func(_ scenarios.Tally, sc *scenarios.Scenario, o *scenarios.Outcome, err error) { count(sc, o, err) })
	} else {
		sc, err := spec.scenario()
		if err != nil {
			t.Fatalf("syncsimtest: %v", err)
		}
		scs := make([]*scenarios.Scenario, max(spec.Runs, 1))
		for i := range scs {
			scs[i] = sc
		}
		scenarios.RunAll(context.Background(), scs, opts, parallel, count)
	}
	t.Logf("%s: %s", name(spec), r)
	return r
}

// name says what spec runs, for the log.
func name(spec Spec) string {
	what := spec.Scenario
	if spec.Drawn > 0 {
		what = fmt.Sprintf("%d drawn scenarios from seed %d", spec.Drawn, cmp.Or(spec.Seed, 1))
	}
	switch {
	case spec.Command != "":
		return fmt.Sprintf("%s against %s", what, spec.Command)
	case spec.System != nil:
		return what + " against a sim.System"
	}
	return what
}

func (spec Spec) scenario() (*scenarios.Scenario, error) {
	if strings.HasSuffix(spec.Scenario, ".json") || strings.ContainsRune(spec.Scenario, os.PathSeparator) {
		return scenarios.Load(fromStart(spec.Scenario))
	}
	return scenarios.Find(spec.Scenario)
}

func (spec Spec) options() (scenarios.Options, error) {
	switch {
	case spec.Scenario == "" && spec.Drawn <= 0:
		return scenarios.Options{}, fmt.Errorf("the Spec names no Scenario and draws none (Drawn)")
	case (spec.System == nil) == (spec.Command == ""):
		return scenarios.Options{}, fmt.Errorf("the Spec must give the agent under test as one of System or Command")
	}
	if problems := spec.Agent.Problems(); len(problems) > 0 {
		return scenarios.Options{}, fmt.Errorf("the Spec's Agent: %s", strings.Join(problems, "; "))
	}
	opts := scenarios.Options{System: spec.System, Agent: spec.Agent, Reports: fromStart(cmp.Or(spec.Reports, reports.Dir()))}
	if spec.Command != "" {
		c, err := command(spec.Command)
		if err != nil {
			return opts, err
		}
		opts.Command = c
	}
	return opts, nil
}

// command is line with its binary found now: a relative path from the
// directory the tests started in, a bare name in $PATH.
func command(line string) (*sim.Command, error) {
	words, err := sim.SplitCommand(line)
	if err != nil {
		return nil, err
	}
	c := &sim.Command{Line: line}
	if strings.ContainsRune(words[0], '/') {
		c.Path = fromStart(words[0])
		if _, err := os.Stat(c.Path); err != nil {
			return nil, fmt.Errorf("agent command %q: %w", line, err)
		}
		return c, nil
	}
	return c, c.Resolve()
}

// fromStart makes a relative path relative to the directory the tests
// started in.
func fromStart(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(startDir, path)
}
