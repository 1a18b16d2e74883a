package model

import (
	"cmp"
	"fmt"
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

// Status is a checker's answer.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	// Undecided means the checker could not answer (it timed out); it fails
	// the run, it never passes silently.
	Undecided Status = "unknown"
)

// Violation locates the first breach of a property.
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
	Expected  bool       `json:"expected"`
	Summary   string     `json:"summary"`
	Violation *Violation `json:"violation,omitempty"`
}

// Verdict is the outcome of checking one history.
type Verdict struct {
	Status  Status   `json:"status"`
	Results []Result `json:"results"`
	// Ownership and Effects are porcupine's accounts of the P1 and P2
	// checks, for visualization.
	Ownership porcupine.LinearizationInfo `json:"-"`
	Effects   porcupine.LinearizationInfo `json:"-"`
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
}

// Check checks every property against h.
func Check(h History, opts Options) Verdict {
	if opts.Timeout == 0 {
		opts.Timeout = time.Minute
	}
	expect := opts.Expect
	if expect == nil {
		expect = Properties
	}
	var v Verdict
	p1, ownership := CheckExclusiveWork(h, opts.Timeout)
	p2, effects := CheckFencedEffects(h, opts.Timeout)
	v.Ownership, v.Effects = ownership, effects
	bound := cmp.Or(opts.LeaseTTL, time.Second) + time.Second
	v.Results = append(v.Results, p1, p2, CheckProgress(h), CheckStop(h, bound), checkComplete(h))
	for i := range v.Results {
		explainFaults(h, &v.Results[i], bound)
	}
	if slices.Contains(expect, Stable) {
		v.Results = append(v.Results, checkStable(h))
	}
	v.Status = Pass
	for i := range v.Results {
		r := &v.Results[i]
		r.Expected = r.Property == Complete || slices.Contains(expect, r.Property)
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

// checkStable finds the first worker started after the run was ready.
func checkStable(h History) Result {
	ready := Never
	for _, e := range h.Events {
		switch {
		case e.Kind == Ready:
			ready = e.Time
		case e.Kind == QuietEnd:
			return Result{Property: Stable, Status: Pass, Summary: "no sync changed hands"}
		case e.Kind == WorkStart && e.Time > ready:
			return Result{Property: Stable, Status: Fail,
				Summary:   fmt.Sprintf("%s started %s at %s, after the run was ready at %s.", e.Agent, e.Sync, seconds(e.Time), seconds(ready)),
				Violation: &Violation{Sync: e.Sync, Agents: []string{e.Agent}, Workers: []int{e.Worker}, From: e.Time, To: e.Time}}
		}
	}
	return Result{Property: Stable, Status: Pass, Summary: "no sync changed hands"}
}

// explainFaults adds the faults active around a violation to its text.
func explainFaults(h History, r *Result, before time.Duration) {
	v := r.Violation
	if v == nil || strings.Contains(v.Text, "Faults around it") {
		return
	}
	if faults := FaultsDuring(h, v.From-int64(before), v.To); len(faults) > 0 {
		v.Text += " Faults around it: " + strings.Join(faults, "; ") + "."
		r.Summary = v.Text
	}
}
