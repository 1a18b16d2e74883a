package model

import (
	"fmt"
	"slices"

	"github.com/anishathalye/porcupine"

	"github.com/syncsim/syncsim/agent/layout"
)

// effect is one fenced operation on a sync's checkpoint: a commit, or the
// read of the checkpoint a new owner resumed from.
type effect struct {
	sync    string
	agent   string
	resume  bool
	token   int64 // a resume's claim token
	cp      Checkpoint
	empty   bool // a resume from no checkpoint at all
	unknown bool // a commit that may or may not have taken effect
}

// stored is the effects model's state: the last checkpoint written, and
// the newest claim taken, which fences every older one.
type stored struct {
	set   bool
	cp    Checkpoint
	fence int64
}

// Effects is the porcupine model of P2 over what the agents did: accepted
// commits never go backwards and never come from a claim older than the
// newest taken, and a new owner resumes from exactly the last committed
// checkpoint. A commit of unknown outcome may or may not have happened.
var Effects = porcupine.NondeterministicModel{
	Partition: partitionBy(func(in any) string { return in.(effect).sync }),
	Init:      func() []any { return []any{stored{}} },
	Step: func(state, input, _ any) []any {
		st, in := state.(stored), input.(effect)
		if in.resume {
			if (in.empty && !st.set) || (!in.empty && st.set && st.cp == in.cp) {
				st.fence = max(st.fence, in.token)
				return []any{st}
			}
			return nil
		}
		var next []any
		if in.unknown {
			next = append(next, st) // it may not have happened
		}
		if in.cp.Token >= st.fence && (!st.set || (in.cp.Token >= st.cp.Token && in.cp.N >= st.cp.N)) {
			next = append(next, stored{set: true, cp: in.cp, fence: st.fence})
		}
		return next
	},
	// Drawn a sync to a page on rows named by agent, as Ownership's.
	DescribeOperation: func(input, _ any) string {
		in := input.(effect)
		switch {
		case in.resume && in.empty:
			return "resume from nothing"
		case in.resume:
			return fmt.Sprintf("resume from %s", in.cp)
		case in.unknown:
			return fmt.Sprintf("commit %s?", in.cp)
		}
		return fmt.Sprintf("commit %s", in.cp)
	},
	DescribeOperationMetadata: describeOp,
	DescribeState: func(state any) string {
		if st := state.(stored); st.set {
			return st.cp.String()
		}
		return "no checkpoint"
	},
}

// partitionBy partitions operations by a key of their input, in key order.
func partitionBy(key func(input any) string) func([]porcupine.Operation) [][]porcupine.Operation {
	return func(history []porcupine.Operation) [][]porcupine.Operation {
		groups := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := key(op.Input)
			groups[k] = append(groups[k], op)
		}
		keys := make([]string, 0, len(groups))
		for k := range groups {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := make([][]porcupine.Operation, len(keys))
		for i, k := range keys {
			out[i] = groups[k]
		}
		return out
	}
}

// effectOperations turns commits and resumes into porcupine operations.
// Failed commits did nothing and are left out; a commit of unknown outcome
// may take effect any time after its call.
func effectOperations(h History) ([]porcupine.Operation, error) {
	clients, life := clientIDs(h), incarnations(h)
	claimCall := map[[2]string]int64{}
	var ops []porcupine.Operation
	for _, e := range h.Events {
		switch e.Kind {
		case ClaimStart:
			claimCall[[2]string{e.Agent, e.Sync}] = e.Time
		case WorkStart:
			if fromSink(e) {
				continue // its position is judged with the sink's effects (effectOrder)
			}
			in := effect{sync: e.Sync, agent: e.Agent, resume: true, token: e.Token, empty: e.Value == ""}
			if !in.empty {
				cp, err := ParseCheckpoint(e.Value)
				if err != nil {
					return nil, fmt.Errorf("%s resumed %s: %w", e.Agent, e.Sync, err)
				}
				in.cp = cp
			}
			call, ok := claimCall[[2]string{e.Agent, e.Sync}]
			if !ok || call > e.Time {
				call = e.Time
			}
			ops = append(ops, porcupine.Operation{ClientId: clients[e.Agent], Input: in, Call: call, Return: e.Time, Metadata: Op{e.Sync, e.Agent, life(e.Agent, call)}})
		case Commit:
			if e.Outcome == Failed {
				continue
			}
			cp, err := ParseCheckpoint(e.Value)
			if err != nil {
				return nil, fmt.Errorf("%s committed %s: %w", e.Agent, e.Sync, err)
			}
			in := effect{sync: e.Sync, agent: e.Agent, cp: cp, unknown: e.Outcome == Unknown}
			ret := e.Time
			if in.unknown {
				ret = Never
			}
			ops = append(ops, porcupine.Operation{ClientId: clients[e.Agent], Input: in, Call: e.Call, Return: ret, Metadata: Op{e.Sync, e.Agent, life(e.Agent, e.Call)}})
		}
	}
	return ops, nil
}

// clientIDs numbers the agents in name order, for porcupine's rows.
func clientIDs(h History) map[string]int {
	ids := map[string]int{}
	var names []string
	for _, e := range h.Events {
		if _, ok := ids[e.Agent]; !ok && e.Agent != "" {
			ids[e.Agent] = 0
			names = append(names, e.Agent)
		}
	}
	slices.Sort(names)
	for i, n := range names {
		ids[n] = i
	}
	return ids
}

// EffectsPage is the stem of the report page drawing porcupine's account of P2.
const EffectsPage = "effects"

// CheckFencedEffects checks P2: with porcupine over what the harness's
// Syncer saw committed and resumed; over the effects agent processes
// reported to the sink (effectOrder); and, for the reference layout,
// against etcd's own revision-ordered log, where every accepted checkpoint
// write must carry the token of the claim current at its revision,
// positions never go backwards, every new owner resumed from the
// checkpoint current when its claim was created, and every assignment
// write came from the current leader's term.
func CheckFencedEffects(h History, opts Options) (Result, map[string]Picture) {
	opts = opts.withDefaults()
	r := Result{Property: FencedEffects, Checks: fencedChecks(h, opts)}
	ops, err := effectOperations(h)
	if err != nil {
		r.Status, r.Summary = Fail, err.Error()
		return r, nil
	}
	found := effectOrder(h)
	if !opts.OwnLayout {
		found = append(found, etcdLogViolations(h)...)
	}
	result := porcupine.CheckOperationsTimeout(Effects.ToModel(), ops, searchBudget(opts.Timeout, len(found) > 0))
	picture := map[string]Picture{EffectsPage: {Property: FencedEffects, Model: Effects.ToModel(), Operations: ops, About: "porcupine's view of the fenced-effects check (P2), a page per sync that broke it"}}
	switch {
	case len(found) > 0:
		r.fail(found)
	case result == porcupine.Illegal:
		r.Status = Fail
		r.Summary = "no order of the agents' commits and resumes is consistent with fenced, monotonic checkpoints; see effects.html"
		if back := backwardsCommits(h); len(back) > 0 {
			r.fail(back)
		}
	case result == porcupine.Unknown:
		r.Status = Undecided
		r.Summary = fmt.Sprintf("the effects check did not finish within %v; the history is neither passed nor failed", opts.Timeout)
	case opts.OwnLayout:
		r.Status = Pass
		r.Summary = fmt.Sprintf("%d accepted commits and effects never went backwards in token or position, and every new worker resumed from the last checkpoint", countAccepted(h))
	default:
		r.Status = Pass
		r.Summary = fmt.Sprintf("%d checkpoint writes in etcd's log all came from the current claim, never went backwards, and every new owner resumed from the last one", countPuts(h, layout.Checkpoints))
	}
	return r, picture
}

// fencedChecks says what P2 judged in h.
func fencedChecks(h History, opts Options) []string {
	var checks []string
	if slices.ContainsFunc(h.Events, func(e Event) bool { return e.Kind == Commit }) {
		checks = append(checks, "the Syncer's commits and resumes (porcupine): fenced, monotonic, resumed exactly")
	}
	if slices.ContainsFunc(h.Events, func(e Event) bool { return e.Kind == Effect }) {
		checks = append(checks, "the sink's accepted effects: no older token, no smaller position under one token, starts from the last checkpoint")
	}
	if !opts.OwnLayout {
		checks = append(checks, "etcd's log in the reference layout: claim tokens, checkpoints, resumes, leader terms")
	}
	return checks
}

func countAccepted(h History) int {
	n := 0
	for _, e := range h.Events {
		if accepted(e) {
			n++
		}
	}
	return n
}

// countPuts counts etcd's puts under dir.
func countPuts(h History, dir string) int {
	n := 0
	for _, e := range h.Events {
		if d, _ := layout.Split(e.Key); e.Kind == EtcdPut && d == dir {
			n++
		}
	}
	return n
}

// backwardsCommits explains a porcupine failure: every accepted commit, by
// return time, that no order can fit after the accepted commit before it.
func backwardsCommits(h History) []Violation {
	last := map[string]Event{}
	var found []Violation
	for _, e := range h.Events {
		if e.Kind != Commit || e.Outcome != OK {
			continue
		}
		cp, _ := ParseCheckpoint(e.Value)
		if prev, ok := last[e.Sync]; ok && prev.Time < e.Call {
			pcp, _ := ParseCheckpoint(prev.Value)
			if cp.Token < pcp.Token || cp.N < pcp.N {
				found = append(found, Violation{Sync: e.Sync, Agents: []string{prev.Agent, e.Agent}, From: prev.Time, To: e.Time, Text: fmt.Sprintf(
					"%s committed %s for %s at %s after %s had committed %s at %s: an older claim or position was accepted.",
					e.Agent, cp, e.Sync, seconds(e.Time), prev.Agent, pcp, seconds(prev.Time))})
				continue // the later commits are judged against the last one that fits
			}
		}
		last[e.Sync] = e
	}
	return found
}
