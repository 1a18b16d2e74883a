package scenarios

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim"
)

// Shrinking tunes Shrink.
type Shrinking struct {
	// Confirm is how many times the original and the result are run to
	// measure how often the violation comes back; default 4.
	Confirm int
	// Attempts is how many runs of a candidate must all fail for it to
	// replace the current timeline; default 3.
	Attempts int
	// Budget bounds the time spent trying candidates; default 3 minutes.
	Budget   time.Duration
	Parallel int
	// Options is the system under test and where the reports of the
	// result's reproductions go.
	Options Options
	// Progress, if set, hears what shrinking is doing each time it starts
	// a batch of runs, such as "candidate 7 of 12: 5 steps ...", so that a
	// command can show it; shrinking runs for minutes.
	Progress func(string)
}

// Shrunk is what shrinking a failure came to.
type Shrunk struct {
	Property model.Property
	// Original's reproduction rate, measured before shrinking.
	Original           *Scenario
	OriginalReproduced int
	// Scenario is the smallest timeline that kept failing, with its own
	// rate; nil when the original was kept (Why says why).
	Scenario   *Scenario
	Reproduced int
	Confirm    int
	Tried      int // candidates run
	Reports    []string
	Why        string
}

func (s *Shrunk) String() string {
	if s.Scenario == nil {
		return s.Why
	}
	return fmt.Sprintf("shrunk from %d to %d steps (%d candidates tried); the shrunk timeline failed %s in %d of %d runs, the original in %d of %d",
		len(s.Original.Steps), len(s.Scenario.Steps), s.Tried, s.Property, s.Reproduced, s.Confirm, s.OriginalReproduced, s.Confirm)
}

// Shrink looks for a smaller timeline that fails the way found did. Time
// is real, so a timeline may fail only sometimes: Shrink first measures how
// often the original fails, and shrinks only one that fails in at least half
// its runs; a candidate replaces the current timeline only when every one of
// its runs fails the same property; and the result is kept only when it
// fails at least as reliably as half its confirmation runs. Otherwise the
// original is kept, and Why says so plainly: a misleading small timeline is
// worse than a large true one.
func Shrink(ctx context.Context, found *Outcome, opts Shrinking, log func(string)) *Shrunk {
	opts.Confirm = cmp.Or(opts.Confirm, 4)
	opts.Attempts = cmp.Or(opts.Attempts, 3)
	opts.Parallel = cmp.Or(opts.Parallel, 2)
	opts.Budget = cmp.Or(opts.Budget, 3*time.Minute)
	res := &Shrunk{Original: found.Scenario, Confirm: opts.Confirm}
	first := found.Verdict.First()
	if first == nil || first.Status != model.Fail {
		res.Why = "not shrunk: the run did not fail a property"
		return res
	}
	res.Property = first.Property
	quiet := opts.Options
	quiet.Reports = ""
	began := time.Now()
	doing := func(what string) {
		if opts.Progress != nil {
			opts.Progress(fmt.Sprintf("shrinking %s: %s (%s of %s)", found.Scenario.Name, what, time.Since(began).Round(time.Second), opts.Budget))
		}
	}

	log(fmt.Sprintf("shrinking %s (%d steps)", found.Scenario.Name, len(found.Scenario.Steps)))
	log(fmt.Sprintf("  measuring how often %s fails %s: %d runs", found.Scenario.Name, res.Property, opts.Confirm))
	doing(fmt.Sprintf("measuring how often the original fails, %d runs", opts.Confirm))
	res.OriginalReproduced = Replay(ctx, found.Scenario, opts.Confirm, opts.Parallel, res.Property, quiet, func(int, *Outcome, error) {})
	if 2*res.OriginalReproduced < opts.Confirm {
		res.Why = fmt.Sprintf("not shrunk: %s failed %s again in only %d of %d runs, too seldom to tell a smaller timeline from luck; the original timeline is kept",
			found.Scenario.Name, res.Property, res.OriginalReproduced, opts.Confirm)
		return res
	}

	current := found.Scenario
	cut := violationOffset(found)
	deadline := time.Now().Add(opts.Budget)
	for improved := true; improved && time.Now().Before(deadline) && ctx.Err() == nil; {
		improved = false
		cands := smaller(current, cut)
		for i, cand := range cands {
			if time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			res.Tried++
			doing(fmt.Sprintf("candidate %d of %d (%d steps, %d members, %d agents, %d syncs), %d runs; %d tried so far",
				i+1, len(cands), len(cand.Steps), cand.Members, cand.Agents, cand.Syncs, opts.Attempts, res.Tried))
			n := Replay(ctx, cand, opts.Attempts, opts.Parallel, res.Property, quiet, func(int, *Outcome, error) {})
			if n == opts.Attempts {
				log(fmt.Sprintf("    still fails with %d members, %d agents, %d syncs: %s", cand.Members, cand.Agents, cand.Syncs, stepsLine(cand)))
				current, improved = cand, true
				cut = -1 // the offset belonged to the original's run
				break
			}
		}
	}
	if current == found.Scenario {
		res.Why = fmt.Sprintf("not shrunk: no smaller timeline failed %s in every run (%d tried); the original timeline is kept (it failed in %d of %d runs)",
			res.Property, res.Tried, res.OriginalReproduced, opts.Confirm)
		return res
	}

	shrunk := *current
	shrunk.Name = found.Scenario.Name + "-shrunk"
	shrunk.Description = fmt.Sprintf("%s, shrunk from %d steps", found.Scenario.Name, len(found.Scenario.Steps))
	log(fmt.Sprintf("  measuring how often the shrunk timeline fails: %d runs", opts.Confirm))
	doing(fmt.Sprintf("measuring how often the shrunk timeline fails, %d runs", opts.Confirm))
	res.Reproduced = Replay(ctx, &shrunk, opts.Confirm, opts.Parallel, res.Property, opts.Options, func(_ int, o *Outcome, err error) {
		if err == nil && o.Report != "" && failed(o.Verdict, res.Property) {
			res.Reports = append(res.Reports, o.Report)
		}
	})
	if 2*res.Reproduced < opts.Confirm {
		res.Why = fmt.Sprintf("not shrunk: the shrunk timeline (%d steps) failed %s in only %d of %d confirmation runs, the original in %d of %d; the original timeline is kept",
			len(shrunk.Steps), res.Property, res.Reproduced, opts.Confirm, res.OriginalReproduced, opts.Confirm)
		return res
	}
	res.Scenario = &shrunk
	return res
}

// ShrinkFirst shrinks the first violation among failures that comes back
// often enough to shrink, trying at most three, and hands each attempt to
// done as it ends. Undecided runs are not violations and are passed over.
func ShrinkFirst(ctx context.Context, failures []*Outcome, opts Shrinking, log func(string), done func(*Outcome, *Shrunk)) {
	tried := 0
	for _, o := range failures {
		if o.Verdict.Status != model.Fail || tried == 3 || ctx.Err() != nil {
			continue
		}
		tried++
		res := Shrink(ctx, o, opts, log)
		done(o, res)
		if res.Scenario != nil || 2*res.OriginalReproduced >= res.Confirm {
			return // shrunk, or reliable yet irreducible: the next would say no more
		}
	}
}

// violationOffset is when, on the timeline's clock (from the ready event),
// the first counted violation began; -1 if unknown. No step that starts
// later can have caused it.
func violationOffset(o *Outcome) time.Duration {
	var first *model.Violation
	if result := o.Verdict.First(); result != nil {
		first = result.First()
	}
	if first == nil {
		return -1
	}
	for _, e := range o.History.Events {
		if e.Kind == model.Ready {
			return time.Duration(first.From - e.Time)
		}
	}
	return -1
}

// smaller lists candidate timelines smaller than sc, the biggest cuts first:
// everything after the violation, one step less, a shorter fault, an
// earlier step, one agent, sync or two members less. Only valid ones.
func smaller(sc *Scenario, cut time.Duration) []*Scenario {
	var out []*Scenario
	try := func(change func(c *Scenario)) {
		c := *sc
		c.Steps = slices.Clone(sc.Steps)
		change(&c)
		if c.Validate() == nil {
			out = append(out, &c)
		}
	}
	if cut >= 0 && slices.ContainsFunc(sc.Steps, func(s sim.Step) bool { return s.At.Std() > cut }) {
		try(func(c *Scenario) {
			c.Steps = slices.DeleteFunc(c.Steps, func(s sim.Step) bool { return s.At.Std() > cut })
		})
	}
	for i := len(sc.Steps) - 1; i >= 0; i-- {
		try(func(c *Scenario) { c.Steps = slices.Delete(c.Steps, i, i+1) })
	}
	for i, s := range sc.Steps {
		if s.For > sim.Duration(200*time.Millisecond) {
			try(func(c *Scenario) { c.Steps[i].For = roundDown(s.For / 2) })
		}
	}
	for i, s := range sc.Steps {
		if s.At > 0 {
			try(func(c *Scenario) { c.Steps[i].At = roundDown(s.At / 2) })
		}
	}
	if sc.Agents > 1 {
		try(func(c *Scenario) { c.Agents-- })
	}
	if sc.Syncs > 1 {
		try(func(c *Scenario) { c.Syncs-- })
	}
	if sc.Members > 2 {
		try(func(c *Scenario) { c.Members -= 2 })
	}
	return out
}

// roundDown keeps shrunk durations readable: whole 100 ms.
func roundDown(d sim.Duration) sim.Duration {
	return sim.Duration(d.Std().Truncate(100 * time.Millisecond))
}

// stepsLine writes a timeline on one line.
func stepsLine(sc *Scenario) string {
	line := ""
	for i, s := range sc.Steps {
		if i > 0 {
			line += "; "
		}
		line += fmt.Sprintf("%v %s", s.At, s.Fault)
		if s.Target != "" {
			line += " " + string(s.Target)
		}
		if s.For > 0 {
			line += fmt.Sprintf(" for %v", s.For)
		}
	}
	return line
}
