package model

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Interval is one worker's tenure on a sync, with the windows in which its
// acquisition and release took effect.
type Interval struct {
	Worker int
	Agent  string
	Sync   string
	// ClaimCall is when the successful claim was sent; the acquisition took
	// effect between ClaimCall and Start.
	ClaimCall int64
	// Start and Stop bound the work: from the worker's first step to its return.
	Start, Stop int64
	// Released is when the agent knew its claim was gone (Never if it never
	// learned, e.g. it crashed); the release took effect between Stop and Released.
	Released int64
}

// Intervals extracts every worker's tenure from h, ordered by start.
func Intervals(h History) []Interval {
	type agentSync struct{ agent, sync string }
	lastClaim := map[agentSync]int64{}
	awaitingRelease := map[agentSync]int{} // index into out
	byWorker := map[int]int{}
	var out []Interval
	for _, e := range h.Events {
		as := agentSync{e.Agent, e.Sync}
		switch e.Kind {
		case ClaimStart:
			lastClaim[as] = e.Time
		case WorkStart:
			call, ok := lastClaim[as]
			if !ok || call > e.Time {
				call = e.Time
			}
			byWorker[e.Worker] = len(out)
			out = append(out, Interval{Worker: e.Worker, Agent: e.Agent, Sync: e.Sync, ClaimCall: call, Start: e.Time, Stop: Never, Released: Never})
		case WorkExit:
			if i, ok := byWorker[e.Worker]; ok {
				out[i].Stop = e.Time
				awaitingRelease[as] = i
			}
		case ReleaseDone:
			if i, ok := awaitingRelease[as]; ok {
				if e.Outcome == OK {
					out[i].Released = e.Time
				}
				delete(awaitingRelease, as)
			}
		}
	}
	return out
}

// Leadership is the pseudo-sync whose tenures are the agents' terms as
// leader: P1 holds for leadership too.
const Leadership = "(leadership)"

// LeaderIntervals extracts each term from leader-won to leader-lost, or to
// the end of the agent's process. A step-down is a release window: the
// term stops when the agent begins to step down and is released when it
// reports the loss.
func LeaderIntervals(h History) []Interval {
	open := map[string]int{} // agent -> index of its open term
	var out []Interval
	end := func(agent string, t int64) {
		if i, ok := open[agent]; ok {
			out[i].Stop, out[i].Released = min(out[i].Stop, t), t
			delete(open, agent)
		}
	}
	for _, e := range h.Events {
		switch e.Kind {
		case LeaderWon:
			end(e.Agent, e.Time)
			open[e.Agent] = len(out)
			// Terms are numbered apart from workers: -term is unique per term.
			out = append(out, Interval{Worker: -int(e.Token), Agent: e.Agent, Sync: Leadership, ClaimCall: e.Time, Start: e.Time, Stop: Never, Released: Never})
		case LeaderStepDown:
			if i, ok := open[e.Agent]; ok {
				out[i].Stop = min(out[i].Stop, e.Time)
			}
		case LeaderLost, AgentStop, AgentCrash, AgentExit:
			end(e.Agent, e.Time)
		}
	}
	return out
}

// ownInput is one acquisition or release in the ownership model.
type ownInput struct {
	sync    string
	worker  int
	agent   string
	acquire bool
}

// owner is the ownership model's state: the worker holding the sync, 0 for none.
type owner struct {
	worker int
	agent  string
}

// Ownership is the porcupine model of P1: per sync, a worker may acquire only
// when no worker holds it, and only the holder may release.
var Ownership = porcupine.Model{
	Partition: partitionBy(func(in any) string { return in.(ownInput).sync }),
	Init:      func() any { return owner{} },
	Step: func(state, input, _ any) (bool, any) {
		held, in := state.(owner), input.(ownInput)
		if in.acquire {
			if held.worker != 0 {
				return false, held
			}
			return true, owner{in.worker, in.agent}
		}
		if held.worker != in.worker {
			return false, held
		}
		return true, owner{}
	},
	// Operations are drawn a sync to a page, on rows named by agent, so
	// they name only what the row and page do not.
	DescribeOperation: func(input, _ any) string {
		in := input.(ownInput)
		verb := "release"
		if in.acquire {
			verb = "acquire"
		}
		if in.sync == Leadership {
			return fmt.Sprintf("%s term %d", map[bool]string{true: "win", false: "lose"}[in.acquire], -in.worker)
		}
		return fmt.Sprintf("%s (worker %d)", verb, in.worker)
	},
	DescribeOperationMetadata: describeOp,
	DescribeState: func(state any) string {
		held := state.(owner)
		if held.worker == 0 {
			return "free"
		}
		if held.worker < 0 {
			return fmt.Sprintf("led by %s (term %d)", held.agent, -held.worker)
		}
		return fmt.Sprintf("held by %s (worker %d)", held.agent, held.worker)
	},
}

// ownershipOperations turns tenures into porcupine operations: an acquire
// spanning claim sent .. work started, and a release spanning work stopped ..
// claim known gone. A worker that never stopped never releases.
func ownershipOperations(intervals []Interval, clients map[string]int, life func(string, int64) int) []porcupine.Operation {
	ops := make([]porcupine.Operation, 0, 2*len(intervals))
	for _, iv := range intervals {
		in := ownInput{sync: iv.Sync, worker: iv.Worker, agent: iv.Agent, acquire: true}
		op := Op{Sync: iv.Sync, Agent: iv.Agent, Incarnation: life(iv.Agent, iv.ClaimCall)}
		ops = append(ops, porcupine.Operation{ClientId: clients[iv.Agent], Input: in, Call: iv.ClaimCall, Return: iv.Start, Metadata: op})
		if iv.Stop != Never {
			in.acquire = false
			ops = append(ops, porcupine.Operation{ClientId: clients[iv.Agent], Input: in, Call: iv.Stop, Return: iv.Released, Metadata: op})
		}
	}
	return ops
}

// Linearizability is the stem of the report page drawing porcupine's
// account of P1.
const Linearizability = "linearizability"

// CheckExclusiveWork checks P1 with porcupine and, on a violation, names
// every overlap of two workers on one sync, or of two leaders.
func CheckExclusiveWork(h History, opts Options) (Result, map[string]Picture) {
	opts = opts.withDefaults()
	intervals := append(Intervals(h), LeaderIntervals(h)...)
	found := append(overlaps(intervals), interleavings(h)...)
	ops := ownershipOperations(intervals, clientIDs(h), incarnations(h))
	result := porcupine.CheckOperationsTimeout(Ownership, ops, searchBudget(opts.Timeout, len(found) > 0))
	picture := map[string]Picture{Linearizability: {Property: ExclusiveWork, Model: Ownership, Operations: ops, About: "porcupine's view of the ownership check (P1), a page per sync that broke it, faults and leaders annotated"}}
	r := Result{Property: ExclusiveWork, Checks: exclusiveChecks(h)}
	switch {
	case len(found) > 0: // an overlap is a violation, whatever the search found in its budget
		r.fail(found)
	case result == porcupine.Ok:
		r.Status = Pass
		r.Summary = fmt.Sprintf("%d work intervals on %d syncs, leadership included, never overlapped", len(intervals), countSyncs(intervals))
	case result == porcupine.Illegal:
		r.Status = Fail
		r.Summary = "porcupine found no valid order of acquisitions and releases; see linearizability.html"
	default:
		r.Status = Undecided
		r.Summary = fmt.Sprintf("the ownership check did not finish within %v; the history is neither passed nor failed", opts.Timeout)
	}
	return r, picture
}

// exclusiveChecks says what P1 judged in h.
func exclusiveChecks(h History) []string {
	checks := []string{"work intervals, work-start to work-exit per worker"}
	if slices.ContainsFunc(h.Events, func(e Event) bool { return e.Kind == LeaderWon }) {
		checks = append(checks, "leadership terms, won to lost (a step-down is a release window)")
	}
	if slices.ContainsFunc(h.Events, accepted) {
		checks = append(checks, "accepted effects of two workers never interleaved on one sync")
	}
	return checks
}

func countSyncs(intervals []Interval) int {
	seen := map[string]bool{}
	for _, iv := range intervals {
		seen[iv.Sync] = true
	}
	return len(seen)
}

// overlaps finds every pair of intervals on one sync that overlap in time.
func overlaps(intervals []Interval) []Violation {
	bySync := map[string][]Interval{}
	for _, iv := range intervals {
		bySync[iv.Sync] = append(bySync[iv.Sync], iv)
	}
	var found []Violation
	for _, sync := range slices.Sorted(maps.Keys(bySync)) {
		ivs := bySync[sync]
		slices.SortStableFunc(ivs, func(a, b Interval) int { return cmp.Compare(a.Start, b.Start) })
		var active []Interval // earlier intervals still running, in start order
		for _, next := range ivs {
			active = slices.DeleteFunc(active, func(held Interval) bool { return held.Stop <= next.Start })
			for _, held := range active {
				found = append(found, overlap(held, next))
			}
			active = append(active, next)
		}
	}
	return found
}

// overlap explains how next began while held still ran.
func overlap(held, next Interval) Violation {
	to := min(held.Stop, next.Stop)
	v := Violation{Sync: next.Sync, Agents: []string{held.Agent, next.Agent}, Workers: []int{held.Worker, next.Worker}, From: next.Start, To: to}
	if next.Sync == Leadership {
		v.Text = fmt.Sprintf("%s became leader at %s while %s still acted as leader until %s: %s with two leaders (terms %d and %d).",
			next.Agent, seconds(next.Start), held.Agent, seconds(held.Stop), span(next.Start, to), -next.Worker, -held.Worker)
	} else {
		v.Text = fmt.Sprintf("%s started %s at %s while %s kept working on it until %s: %s of double ownership (workers %d and %d).",
			next.Agent, next.Sync, seconds(next.Start), held.Agent, seconds(held.Stop), span(next.Start, to), next.Worker, held.Worker)
	}
	return v
}

func span(from, to int64) string {
	if to == Never {
		return "unbounded time"
	}
	return seconds(to - from)
}

// FaultWindow is one fault from injection to heal (End is Never if it was
// never healed); a crash is a window of one instant.
type FaultWindow struct {
	What       string // "isolate agent-1", "crash agent-2"
	Detail     string
	Start, End int64
}

// Faults pairs every injected fault with its heal, in order of injection.
func Faults(h History) []FaultWindow {
	open := map[string]int{}
	var windows []FaultWindow
	for _, e := range h.Events {
		switch e.Kind {
		case FaultStart:
			what := strings.TrimSpace(e.Fault + " " + e.Target) // a join names no target
			open[what] = len(windows)
			windows = append(windows, FaultWindow{What: what, Detail: e.Detail, Start: e.Time, End: Never})
		case FaultEnd:
			what := strings.TrimSpace(e.Fault + " " + e.Target)
			if i, ok := open[what]; ok {
				windows[i].End = e.Time
				delete(open, what)
			}
		case AgentCrash:
			windows = append(windows, FaultWindow{What: "crash " + e.Agent, Start: e.Time, End: e.Time})
		}
	}
	return windows
}

// faultsDuring describes the fault windows active at some point in [from, to].
func faultsDuring(windows []FaultWindow, from, to int64) []string {
	var out []string
	for _, w := range windows {
		if w.Start <= to && w.End >= from {
			s := fmt.Sprintf("%s at %s", w.What, seconds(w.Start))
			if seconds(w.End) != seconds(w.Start) { // an instant step (join, add-sync) ends within a millisecond
				s = fmt.Sprintf("%s from %s to %s", w.What, seconds(w.Start), seconds(w.End))
			}
			out = append(out, s)
		}
	}
	return out
}

// pictureBudget bounds porcupine's search once a direct check has proved the
// violation: the search then only draws its report page (a Picture),
// and proving a badly tangled history illegal can take its whole timeout
// (a minute, for one planted bug's run).
const pictureBudget = 5 * time.Second

func searchBudget(timeout time.Duration, proved bool) time.Duration {
	if proved {
		return min(timeout, pictureBudget)
	}
	return timeout
}
