package scenarios

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/sim"
)

// Options tunes Run.
type Options struct {
	// System is the agent under test; nil means the reference agent.
	System sim.System
	// Command is the agent under test run as a process, instead of
	// System: each incarnation an OS process (docs/agent-protocol.md).
	Command *sim.Command
	// Reports is the directory run reports go under; "" writes none.
	Reports string
	// KeepPassing writes a report for passing runs too; by default only
	// failed or undecided runs leave one.
	KeepPassing bool
	// Clock is the time runs live in; "" is sim.RealClock.
	Clock sim.Clock
	// Agent is what the agent under test declares of itself: which checks,
	// expectations and bounds apply. When it declares nothing, a
	// scenario's own "agent" applies, or, for the reference agent,
	// sim.Reference.
	Agent sim.Declared
	// Timeouts are sim.Options' waits and paces; zero means sim's defaults.
	Timeouts Timeouts
}

// Timeouts are the waits and paces of a run, as sim.Options has them.
type Timeouts struct {
	Ready, Settle, CommitEvery, WindDown time.Duration
}

// declared is what the agent under test declares, running sc.
func (o Options) declared(sc *Scenario) sim.Declared {
	switch {
	case !o.Agent.IsZero():
		return o.Agent
	case sc.Agent != nil:
		return *sc.Agent
	case o.System == nil && o.Command == nil:
		return sim.Reference
	}
	return o.Agent
}

// builtMutant is the planted bug this binary was built with, set by
// Mutant.Build through the linker (-X) so that no report of a patched
// binary can lose it; "" for the reference agent.
var builtMutant string

// BuiltMutant names the planted bug this binary carries; "" for the
// reference agent.
func BuiltMutant() string { return builtMutant }

// AgentName names the agent this binary runs: its planted bug, or
// "reference", as the kill table and the reports index call it.
func AgentName() string { return cmp.Or(builtMutant, "reference") }

// ProcessClock is the clock this process runs scenarios on when asked
// for none other: the simulated one in the simulated clock's binary.
func ProcessClock() sim.Clock {
	if sim.Simulating() {
		return sim.SimClock
	}
	return sim.RealClock
}

// Outcome is one scenario run, checked.
type Outcome struct {
	Scenario *Scenario
	Verdict  model.Verdict
	History  model.History
	Duration time.Duration
	// Checked is how long model.Check took.
	Checked time.Duration
	// Report is the run's report directory, if one was written.
	Report string
	// Agent is the agent that ran.
	Agent reports.Agent
}

// agent names the agent under test, hashing a command's binary.
func (o Options) agent() (reports.Agent, error) {
	switch {
	case o.Command != nil:
		c := *o.Command
		if c.Path == "" {
			if err := c.Resolve(); err != nil {
				return reports.Agent{}, err
			}
		}
		cmd, err := reports.NewCommand(c.Line, c.Path)
		return reports.Agent{Name: "command " + c.Line, Command: cmd}, err
	case o.System != nil:
		return reports.Agent{Name: "system"}, nil
	case builtMutant != "":
		return reports.Agent{Name: "mutant " + builtMutant}, nil
	}
	return reports.Agent{Name: "reference"}, nil
}

// Run plays sc against the system, checks the history and, as asked, writes
// a report. An error means the harness could not run the scenario.
func Run(ctx context.Context, sc *Scenario, opts Options) (*Outcome, error) {
	began := time.Now()
	agent, err := opts.agent()
	if err != nil {
		return nil, err
	}
	declared := opts.declared(sc)
	agent.Declared, err = json.Marshal(declared)
	if err != nil {
		return nil, err
	}
	checked := declared.Checks(sc.Expect, sc.LeaseTTL.Std())
	res, err := sim.Run(ctx, sc.Setup, sc.Steps, sim.Options{System: opts.System, Command: opts.Command, Clock: opts.Clock, Agent: declared, Expect: checked.Expect,
		ReadyTimeout: opts.Timeouts.Ready, SettleTimeout: opts.Timeouts.Settle, CommitEvery: opts.Timeouts.CommitEvery, WindDown: opts.Timeouts.WindDown})
	if err != nil {
		return nil, err
	}
	checking := time.Now()
	out := &Outcome{
		Scenario: sc,
		History:  res.History,
		Verdict:  model.Check(res.History, checked),
		Checked:  time.Since(checking),
		Duration: time.Since(began),
		Agent:    agent,
	}
	if opts.Reports != "" && (opts.KeepPassing || out.Verdict.Status != model.Pass) {
		out.Report, err = reports.Write(opts.Reports, reports.Run{
			Name:     sc.Name,
			Scenario: sc.Encode(),
			History:  res.History,
			Verdict:  out.Verdict,
			Logs:     res.Logs,
			Duration: out.Duration,
			Mutant:   BuiltMutant(),
			Agent:    agent,
			Seed:     sc.Seed,
			Options:  checked,
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// atOnce is how many runs may go at once when parallel are asked for: one
// on the simulated clock, whose bubble is process-wide (parallel simulated
// runs take a process each).
func (o Options) atOnce(parallel int) int {
	if o.Clock == sim.SimClock {
		return 1
	}
	return max(parallel, 1)
}

// RunAll runs scenarios, at most parallel at once, and hands each result to
// report in the order given, as soon as it and every one before it are done.
func RunAll(ctx context.Context, scs []*Scenario, opts Options, parallel int, report func(*Scenario, *Outcome, error)) {
	type result struct {
		out *Outcome
		err error
	}
	results := make([]chan result, len(scs))
	slots := make(chan struct{}, opts.atOnce(parallel))
	for i, sc := range scs {
		results[i] = make(chan result, 1)
		go func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			out, err := Run(ctx, sc, opts)
			results[i] <- result{out, err}
		}()
	}
	for i, sc := range scs {
		r := <-results[i]
		report(sc, r.out, r.err)
	}
}

// Replay runs sc attempts times, at most parallel at once, and counts the
// runs in which property failed again (any counted failure when property is
// ""). Time is real, so a replay repeats the schedule, not the interleaving:
// the count is the reproduction rate, reported, never hidden.
func Replay(ctx context.Context, sc *Scenario, attempts, parallel int, property model.Property, opts Options, report func(i int, o *Outcome, err error)) (reproduced int) {
	scs := make([]*Scenario, attempts)
	for i := range scs {
		scs[i] = sc
	}
	i := 0
	RunAll(ctx, scs, opts, parallel, func(_ *Scenario, o *Outcome, err error) {
		i++
		if err == nil && failed(o.Verdict, property) {
			reproduced++
		}
		report(i, o, err)
	})
	return reproduced
}

// failed reports whether v counts a failure of property (of any property
// when it is "").
func failed(v model.Verdict, property model.Property) bool {
	for _, r := range v.Results {
		if r.Expected && r.Status == model.Fail && (property == "" || r.Property == property) {
			return true
		}
	}
	return false
}

// Errored is the status of a Line whose scenario the harness could not run.
const Errored model.Status = "error"

// Line is one run as `syncsim run --json` and `syncsim explore --json`
// print it, and as syncsim mutants reads it back.
type Line struct {
	Name    string         `json:"name"`
	Status  model.Status   `json:"status"`
	Seconds float64        `json:"seconds"`
	Results []model.Result `json:"results,omitempty"`
	Report  string         `json:"report,omitempty"`
	Seed    int64          `json:"seed"`
	// Agent is the agent under test: the planted bug's name, or "reference".
	Agent  string `json:"agent"`
	Mutant string `json:"mutant,omitempty"`
	// Clock is the clock the run ran on: "real" or "sim".
	Clock string `json:"clock"`
	// Error says why the harness could not run the scenario (Status Errored).
	Error string `json:"error,omitempty"`
}

// NewLine describes the run of sc: its outcome, or err when the harness
// could not run it (Run may return both when only the report failed).
func NewLine(sc *Scenario, o *Outcome, err error) Line {
	l := Line{Name: sc.Name, Seed: sc.Seed, Agent: AgentName(), Mutant: BuiltMutant(), Clock: string(ProcessClock())}
	if o != nil {
		l.Status, l.Seconds, l.Results, l.Report = o.Verdict.Status, o.Duration.Seconds(), o.Verdict.Results, o.Report
		l.Clock = o.History.ClockName()
		if o.Agent.Name != "" && builtMutant == "" {
			l.Agent = o.Agent.String()
		}
	}
	if err != nil {
		l.Status, l.Error = Errored, err.Error()
	}
	return l
}

// Encode returns the line as one line of JSON, without the newline.
func (l Line) Encode() []byte {
	data, err := json.Marshal(l)
	if err != nil {
		panic(err) // a Line holds nothing json cannot encode
	}
	return data
}

// ParseLine reads a line Encode wrote; it rejects one that names no
// scenario or has a status no run has.
func ParseLine(data []byte) (Line, error) {
	var l Line
	if err := json.Unmarshal(data, &l); err != nil {
		return l, fmt.Errorf("unreadable run line %.200q: %v", data, err)
	}
	switch {
	case l.Name == "":
		return l, fmt.Errorf("run line %.200q names no scenario", data)
	case !slices.Contains([]model.Status{model.Pass, model.Fail, model.Undecided, Errored}, l.Status):
		return l, fmt.Errorf("run line of %s has status %q", l.Name, l.Status)
	case l.Status == Errored && l.Error == "":
		return l, fmt.Errorf("run line of %s says it errored, not why", l.Name)
	}
	return l, nil
}
