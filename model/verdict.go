package model

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Property names one property of DESIGN.md §3.
type Property string

const (
	ExclusiveWork Property = "P1" // at most one worker per sync, and one leader, at any instant
	FencedEffects Property = "P2" // accepted effects come from the current claim, in order, resumed exactly
	Progress      Property = "P3" // after the faults, every sync has one live committing owner, balanced
	StopMeansStop Property = "P4" // removed syncs and ended agents make no effect after a bound

	// Stable holds when no sync changes hands once the run is ready: for
	// faults that a correct agent rides out (a blip shorter than its margin).
	Stable Property = "stable"

	// Complete is not a property of the agent but of the run: every step
	// ran and every agent stopped when told. A run that did not go as
	// written proves nothing either way, so it is undecided.
	Complete Property = "complete"
)

// Describe says what a property means, in words.
func (p Property) Describe() string {
	switch p {
	case ExclusiveWork:
		return "exclusive work: for every sync, and for leadership, the intervals of different holders never overlap"
	case FencedEffects:
		return "fenced effects: every accepted checkpoint came from the current claim, never went backwards, and new owners resumed from the last one"
	case Progress:
		return "progress: after faults heal and a quiet window passes, every sync has exactly one live owner that makes progress, with balanced loads"
	case StopMeansStop:
		return "stop means stop: a removed sync, or an ended agent, makes no effect after a bounded delay"
	case Stable:
		return "stable: once every sync had an owner, no sync changed hands"
	case Complete:
		return "the run went as written: every step ran and every agent stopped when told"
	}
	return string(p)
}

// Properties are the properties every scenario expects unless it says otherwise.
var Properties = []Property{ExclusiveWork, FencedEffects, Progress, StopMeansStop}

// Expectable are the properties a scenario may name in "expect".
var Expectable = append(slices.Clone(Properties), Stable)

// CheckExpect lists what is wrong with the properties a scenario, or a
// stored report, names in "expect": one line each that is not Expectable.
func CheckExpect(expect []Property) []string {
	var bad []string
	for _, p := range expect {
		if !slices.Contains(Expectable, p) {
			bad = append(bad, fmt.Sprintf(`"expect" names %q; known properties are %v`, p, Expectable))
		}
	}
	return bad
}

// Status is a checker's answer.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	// Undecided means the checker could not answer (it timed out, or the
	// run did not go as written); it fails the run, it never passes silently.
	Undecided Status = "undecided"
)

// UnmarshalJSON reads a status, including "unknown", which reports written
// before Undecided had its own word used for it.
func (s *Status) UnmarshalJSON(data []byte) error {
	var word string
	if err := json.Unmarshal(data, &word); err != nil {
		return err
	}
	if word == "unknown" {
		word = string(Undecided)
	}
	*s = Status(word)
	return nil
}

// MaxViolations bounds how many violations a result lists per property;
// Result.More counts the rest.
const MaxViolations = 20

// Violation locates one breach of a property.
type Violation struct {
	Sync    string   `json:"sync,omitempty"`
	Agents  []string `json:"agents,omitempty"`
	Workers []int    `json:"workers,omitempty"`
	From    int64    `json:"from"`
	To      int64    `json:"to"`
	Text    string   `json:"text"`
}

// Result is one property's verdict.
type Result struct {
	Property Property `json:"property"`
	Status   Status   `json:"status"`
	// Expected is false for a property the scenario declared it cannot
	// guarantee (P1 under long pauses): a failure is reported, not counted.
	Expected bool   `json:"expected"`
	Summary  string `json:"summary"`
	// Violations are the breaches found, earliest first, at most
	// MaxViolations of them; More counts those found but not listed.
	Violations []Violation `json:"violations,omitempty"`
	More       int         `json:"more,omitempty"`
	// Checks names the checks that applied, and what fed each: which
	// depends on the agent's declared design and on what it reported.
	Checks []string `json:"checks,omitempty"`
}

// UnmarshalJSON reads a result, including the single "violation" of
// reports written before every violation was listed.
func (r *Result) UnmarshalJSON(data []byte) error {
	type plain Result
	var old struct {
		plain
		Violation *Violation `json:"violation"`
	}
	if err := json.Unmarshal(data, &old); err != nil {
		return err
	}
	*r = Result(old.plain)
	if len(r.Violations) == 0 && old.Violation != nil {
		r.Violations = []Violation{*old.Violation}
	}
	return nil
}

// First returns the first violation, or nil.
func (r Result) First() *Violation {
	if len(r.Violations) == 0 {
		return nil
	}
	return &r.Violations[0]
}

// Found is how many violations were found, listed or not.
func (r Result) Found() int { return len(r.Violations) + r.More }

// fail records violations, earliest first and bounded, and says so.
func (r *Result) fail(vs []Violation) {
	slices.SortStableFunc(vs, func(a, b Violation) int { return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To)) })
	r.Status = Fail
	r.Violations, r.More = vs, 0
	if len(vs) > MaxViolations {
		r.Violations, r.More = vs[:MaxViolations:MaxViolations], len(vs)-MaxViolations
	}
	r.summarize()
}

// summarize makes the summary of a result with violations say how many,
// and the first.
func (r *Result) summarize() {
	switch n := r.Found(); n {
	case 0:
	case 1:
		r.Summary = r.Violations[0].Text
	default:
		r.Summary = fmt.Sprintf("%d violations; the first: %s", n, r.Violations[0].Text)
	}
}

// Picture is what a porcupine check ran on, for the report to draw: its
// model and operations, each operation's Metadata an Op naming its sync
// (the model's partition) and the agent incarnation that made it.
type Picture struct {
	Property   Property
	Model      porcupine.Model
	Operations []porcupine.Operation
	// About says what the page shows, for the report's file list.
	About string
}

// Op is what a Picture's operation was, besides the model's input: the
// sync it is on and who made it.
type Op struct {
	Sync  string
	Agent string
	// Incarnation counts the agent's starts: 1 for its first life, 2 after
	// its first crash or stop, and so on.
	Incarnation int
}

func (o Op) String() string { return fmt.Sprintf("%s, incarnation %d", o.Agent, o.Incarnation) }

// describeOp is the models' DescribeOperationMetadata.
func describeOp(m any) string {
	if op, ok := m.(Op); ok {
		return op.String()
	}
	return ""
}

// incarnations numbers each agent's lives: at(agent, t) is the
// incarnation the agent was in at time t.
func incarnations(h History) func(agent string, t int64) int {
	starts := map[string][]int64{}
	for _, e := range h.Events {
		if e.Kind == AgentStart {
			starts[e.Agent] = append(starts[e.Agent], e.Time)
		}
	}
	return func(agent string, t int64) int {
		n, _ := slices.BinarySearch(starts[agent], t+1)
		return max(n, 1) // an agent the history never saw start is in its first life
	}
}

// Verdict is the outcome of checking one history.
type Verdict struct {
	Status  Status   `json:"status"`
	Results []Result `json:"results"`
	// Pictures are the porcupine checks' accounts, keyed by the stem of
	// the report page that draws each.
	Pictures map[string]Picture `json:"-"`
}

// First returns the first counted failure or undecided result, or nil.
func (v Verdict) First() *Result {
	for _, st := range []Status{Fail, Undecided} {
		for i, r := range v.Results {
			if r.Expected && r.Status == st {
				return &v.Results[i]
			}
		}
	}
	return nil
}

// Options tunes Check.
type Options struct {
	// Expect lists the properties the scenario must keep; nil means all.
	Expect []Property
	// Timeout bounds each porcupine check; 0 means one minute.
	Timeout time.Duration
	// LeaseTTL is the agents' lease TTL; P4 allows it plus a second for a
	// removed sync to stop. 0 means one second.
	LeaseTTL time.Duration
	// StopWithin, if set, is P4's bound instead.
	StopWithin time.Duration
	// OwnLayout says the agent keeps a key layout of its own under the
	// prefix: the checks that read etcd's log as the reference layout
	// (claim tokens, checkpoints, resumes, assignment terms) do not apply,
	// and progress is judged by accepted effects over a window rather than
	// by who works at one instant.
	OwnLayout bool
	// Unbalanced says the agent does not spread syncs between its
	// instances (one holder at a time, say): P3 judges progress alone.
	Unbalanced bool
}

func (o Options) withDefaults() Options {
	o.Timeout = cmp.Or(o.Timeout, time.Minute)
	if o.Expect == nil {
		o.Expect = Properties
	}
	return o
}

// stopBound is how long a removed sync may go on working, and how far
// before a violation faults are named as around it.
func (o Options) stopBound() time.Duration {
	return cmp.Or(o.StopWithin, cmp.Or(o.LeaseTTL, time.Second)+time.Second)
}

// Checker checks one property. Its picture, if any, is keyed by the stem
// of its report page.
type Checker struct {
	Property Property
	Check    func(h History, opts Options) (Result, map[string]Picture)
	// Optional checkers run only when the scenario expects their property.
	Optional bool
}

// Checkers are the checks Check runs, in order.
var Checkers = []Checker{
	{Property: ExclusiveWork, Check: CheckExclusiveWork},
	{Property: FencedEffects, Check: CheckFencedEffects},
	{Property: Progress, Check: func(h History, opts Options) (Result, map[string]Picture) {
		return CheckProgress(h, opts), nil
	}},
	{Property: StopMeansStop, Check: func(h History, opts Options) (Result, map[string]Picture) {
		return CheckStop(h, opts.stopBound()), nil
	}},
	{Property: Complete, Check: withoutPicture(checkComplete)},
	{Property: Stable, Check: func(h History, opts Options) (Result, map[string]Picture) {
		return checkStable(h, opts), nil
	}, Optional: true},
}

func withoutPicture(check func(History) Result) func(History, Options) (Result, map[string]Picture) {
	return func(h History, _ Options) (Result, map[string]Picture) { return check(h), nil }
}

// Check checks every property against h.
func Check(h History, opts Options) Verdict { return checkWith(Checkers, h, opts) }

// checkWith runs checkers in order; a failure counts only for an expected
// property, and the run's own completeness always counts.
func checkWith(checkers []Checker, h History, opts Options) Verdict {
	opts = opts.withDefaults()
	v := Verdict{Status: Pass, Pictures: map[string]Picture{}}
	for _, c := range checkers {
		expected := c.Property == Complete || slices.Contains(opts.Expect, c.Property)
		if c.Optional && !expected {
			continue
		}
		r, pictures := run(c, h, opts)
		r.Expected = expected
		explainFaults(h, &r, opts.stopBound())
		maps.Copy(v.Pictures, pictures)
		v.Results = append(v.Results, r)
		switch {
		case !r.Expected:
		case r.Status == Fail:
			v.Status = Fail
		case r.Status == Undecided && v.Status == Pass:
			v.Status = Undecided
		}
	}
	return v
}

// run runs one checker; one that panics leaves its property undecided
// rather than losing the whole verdict.
func run(c Checker, h History, opts Options) (r Result, pictures map[string]Picture) {
	defer func() {
		if p := recover(); p != nil {
			r = Result{Property: c.Property, Status: Undecided, Summary: fmt.Sprintf("the %s checker panicked, so the property is neither passed nor failed: %v", c.Property, p)}
			pictures = nil
		}
	}()
	r, pictures = c.Check(h, opts)
	r.Property = c.Property
	return r, pictures
}

// String is the verdict in one line.
func (v Verdict) String() string {
	var parts []string
	for _, r := range v.Results {
		s := fmt.Sprintf("%s %s", r.Property, r.Status)
		if !r.Expected {
			s += " (not expected to hold)"
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("%s: %s", v.Status, strings.Join(parts, ", "))
}

// checkComplete reports what the harness could not do as written.
func checkComplete(h History) Result {
	var skipped []string
	for _, e := range h.Events {
		if e.Kind == Skipped {
			skipped = append(skipped, fmt.Sprintf("at %s: %s", seconds(e.Time), e.Detail))
		}
	}
	if len(skipped) == 0 {
		return Result{Property: Complete, Status: Pass, Summary: "every step ran and every agent stopped when told"}
	}
	return Result{Property: Complete, Status: Undecided, Summary: "the run did not go as written, so it proves nothing: " + strings.Join(skipped, "; ")}
}

// checkStable finds every worker started after the run was ready and
// before its quiet window ended. For an agent of its own layout, whose
// workers may come and go (a batch per tenure), only a worker of another
// agent than the sync's last one changes hands.
func checkStable(h History, opts Options) Result {
	r := Result{Property: Stable, Status: Pass, Summary: "no sync changed hands", Checks: []string{"every worker started after ready"}}
	if opts.OwnLayout {
		r.Checks = []string{"every worker started after ready by another agent than the sync's last"}
	}
	ready := Never
	last := map[string]string{} // sync -> the agent of its last worker
	var found []Violation
	for _, e := range h.Events {
		if e.Kind == QuietEnd {
			break
		}
		same := e.Kind == WorkStart && opts.OwnLayout && last[e.Sync] == e.Agent
		if e.Kind == WorkStart {
			last[e.Sync] = e.Agent
		}
		switch {
		case e.Kind == Ready:
			ready = e.Time
		case e.Kind == WorkStart && e.Time > ready && !same:
			found = append(found, Violation{Sync: e.Sync, Agents: []string{e.Agent}, Workers: []int{e.Worker}, From: e.Time, To: e.Time,
				Text: fmt.Sprintf("%s started %s at %s, after the run was ready at %s.", e.Agent, e.Sync, seconds(e.Time), seconds(ready))})
		}
	}
	if len(found) > 0 {
		r.fail(found)
	}
	return r
}

// explainFaults adds the faults active around each violation to its text.
func explainFaults(h History, r *Result, before time.Duration) {
	if len(r.Violations) == 0 {
		return
	}
	windows := Faults(h)
	for i := range r.Violations {
		v := &r.Violations[i]
		if strings.Contains(v.Text, "Faults around it") {
			continue
		}
		if faults := faultsDuring(windows, v.From-int64(before), v.To); len(faults) > 0 {
			v.Text += " Faults around it: " + strings.Join(faults, "; ") + "."
		}
	}
	r.summarize()
}
