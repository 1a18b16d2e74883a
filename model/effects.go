package model

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
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
	DescribeOperation: func(input, _ any) string {
		in := input.(effect)
		switch {
		case in.resume && in.empty:
			return fmt.Sprintf("%s resumes %s from nothing", in.agent, in.sync)
		case in.resume:
			return fmt.Sprintf("%s resumes %s from %s", in.agent, in.sync, in.cp)
		case in.unknown:
			return fmt.Sprintf("%s commits %s to %s (outcome unknown)", in.agent, in.sync, in.cp)
		}
		return fmt.Sprintf("%s commits %s to %s", in.agent, in.sync, in.cp)
	},
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
	clients := clientIDs(h)
	claimCall := map[[2]string]int64{}
	var ops []porcupine.Operation
	for _, e := range h.Events {
		switch e.Kind {
		case ClaimStart:
			claimCall[[2]string{e.Agent, e.Sync}] = e.Time
		case WorkStart:
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
			ops = append(ops, porcupine.Operation{ClientId: clients[e.Agent], Input: in, Call: call, Return: e.Time})
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
			ops = append(ops, porcupine.Operation{ClientId: clients[e.Agent], Input: in, Call: e.Call, Return: ret})
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

// CheckFencedEffects checks P2 twice: with porcupine over what the agents
// saw, and against etcd's own revision-ordered log, where every accepted
// checkpoint write must carry the token of the claim current at its
// revision, positions never go backwards, and every new owner resumed from
// the checkpoint current when its claim was created.
func CheckFencedEffects(h History, timeout time.Duration) (Result, porcupine.LinearizationInfo) {
	r := Result{Property: FencedEffects}
	ops, err := effectOperations(h)
	if err != nil {
		r.Status, r.Summary = Fail, err.Error()
		return r, porcupine.LinearizationInfo{}
	}
	if v := checkEtcdLog(h); v != nil {
		r.Status, r.Violation, r.Summary = Fail, v, v.Text
	}
	result, info := porcupine.CheckOperationsVerbose(Effects.ToModel(), ops, searchBudget(timeout, r.Status == Fail))
	switch {
	case r.Status == Fail:
	case result == porcupine.Illegal:
		r.Status = Fail
		r.Summary = "no order of the agents' commits and resumes is consistent with fenced, monotonic checkpoints; see the effects partition in linearizability.html"
		if v := firstBackwards(h); v != nil {
			r.Violation, r.Summary = v, v.Text
		}
	case result == porcupine.Unknown:
		r.Status = Undecided
		r.Summary = fmt.Sprintf("the effects check did not finish within %v; the history is neither passed nor failed", timeout)
	default:
		r.Status = Pass
		r.Summary = fmt.Sprintf("%d checkpoint writes in etcd's log all came from the current claim, never went backwards, and every new owner resumed from the last one", countKind(h, EtcdPut, "checkpoints/"))
	}
	return r, info
}

func countKind(h History, kind Kind, keyPrefix string) int {
	n := 0
	for _, e := range h.Events {
		if e.Kind == kind && strings.HasPrefix(e.Key, keyPrefix) {
			n++
		}
	}
	return n
}

// checkEtcdLog replays etcd's log in revision order. Every leader's
// assignment write must have happened while its term was the oldest leader
// key alive. A fencing token is the
// create revision of the key that grants ownership (the claim, for the
// reference agent; whatever key another agent uses), so a checkpoint write
// is fenced if a key with its token's create revision still existed at the
// write's revision; and, in the reference layout, a new owner must resume
// from the checkpoint that was current when its claim was created.
func checkEtcdLog(h History) *Violation {
	owners := map[int64]string{} // token -> agent that worked under it
	for _, e := range h.Events {
		if e.Kind == WorkStart {
			owners[e.Token] = e.Agent
		}
	}
	who := func(token int64) string {
		if a, ok := owners[token]; ok {
			return a
		}
		return "nobody"
	}
	var log []*Event
	for i := range h.Events {
		if e := &h.Events[i]; e.Kind == EtcdPut || e.Kind == EtcdDelete {
			log = append(log, e)
		}
	}
	byRev := func(a, b *Event) int { return cmp.Compare(a.Rev, b.Rev) }
	if !slices.IsSortedFunc(log, byRev) { // one watch delivers in order; merged logs may not be
		slices.SortStableFunc(log, byRev)
	}

	tokens := map[string]int64{}  // key -> create revision of its last put
	alive := map[int64]string{}   // create revision -> key, for keys that exist
	created := map[int64]string{} // create revision -> key, for keys seen being created
	// The leader's assignment writes: the writer's term must be the oldest
	// leader key alive at the write's revision.
	rebalances := assignmentWrites(h)
	leaders := map[int64]bool{} // create revisions of live keys under leader/
	checkTerm := func(r Event) *Violation {
		current := int64(0)
		for t := range leaders {
			if current == 0 || t < current {
				current = t
			}
		}
		switch {
		case current == r.Token:
			return nil
		case r.Token == 0:
			return &Violation{Agents: []string{r.Agent}, From: r.Call, To: r.Time, Text: fmt.Sprintf(
				"etcd accepted %s's assignment writes at revision %d, sent at %s while it did not lead; the current leader's term then was %d.",
				r.Agent, r.Rev, seconds(r.Call), current)}
		}
		return &Violation{Agents: []string{r.Agent}, From: cmp.Or(r.Call, r.Time), To: r.Time, Text: fmt.Sprintf(
			"etcd accepted %s's assignment writes at revision %d under term %d, but the current leader's term then was %d: a deposed leader's writes got through.",
			r.Agent, r.Rev, r.Token, current)}
	}
	last := map[string]Checkpoint{}  // sync -> last checkpoint written
	written := map[string][]*Event{} // sync -> its checkpoint writes, in revision order
	for _, e := range log {
		for len(rebalances) > 0 && rebalances[0].Rev < e.Rev {
			if v := checkTerm(rebalances[0]); v != nil {
				return v
			}
			rebalances = rebalances[1:]
		}
		dir, sync, _ := strings.Cut(e.Key, "/")
		token := e.Token
		if e.Kind == EtcdPut {
			tokens[e.Key] = token
		} else if token == 0 {
			// etcd leaves a delete's previous value out when it cannot
			// read it (compacted meanwhile); the key's last put names it.
			token = tokens[e.Key]
		}
		if dir == LeaderDir {
			if e.Kind == EtcdPut {
				leaders[token] = true
			} else {
				delete(leaders, token)
			}
		}
		if dir != CheckpointDir {
			if e.Kind == EtcdPut {
				alive[token] = e.Key
				if token == e.Rev {
					created[token] = e.Key
				}
			} else {
				delete(alive, token)
			}
			continue
		}
		if e.Kind != EtcdPut {
			continue
		}
		cp, err := ParseCheckpoint(e.Value)
		if err != nil {
			return &Violation{Sync: sync, From: e.Time, To: e.Time, Text: fmt.Sprintf("etcd holds checkpoint %q for %s at revision %d, not one the harness writes", e.Value, sync, e.Rev)}
		}
		if _, ok := alive[cp.Token]; !ok {
			text := fmt.Sprintf("etcd accepted checkpoint %s for %s at revision %d under %s's token %d, but that claim no longer existed: a fenced-out owner's write got through.",
				cp, sync, e.Rev, who(cp.Token), cp.Token)
			for token, key := range alive {
				if key == "claims/"+sync {
					text += fmt.Sprintf(" The current claim was %d (%s).", token, who(token))
				}
			}
			return &Violation{Sync: sync, Agents: []string{who(cp.Token)}, From: e.Time, To: e.Time, Text: text}
		}
		if prev, ok := last[sync]; ok && cp.N < prev.N {
			return &Violation{Sync: sync, Agents: []string{who(cp.Token)}, From: e.Time, To: e.Time, Text: fmt.Sprintf(
				"the checkpoint of %s went backwards at revision %d: %s wrote %s after %s.", sync, e.Rev, who(cp.Token), cp, prev)}
		}
		last[sync] = cp
		written[sync] = append(written[sync], e)
	}
	if len(log) > 0 {
		for _, r := range rebalances {
			if v := checkTerm(r); v != nil {
				return v
			}
		}
	}
	for _, e := range h.Events {
		if e.Kind != WorkStart || created[e.Token] != "claims/"+e.Sync {
			continue // not a claim in the reference layout: when it began to own is unknown
		}
		want := "" // the checkpoint current when the token's key was created
		for _, w := range written[e.Sync] {
			if w.Rev < e.Token {
				want = w.Value
			}
		}
		if e.Value != want {
			return &Violation{Sync: e.Sync, Agents: []string{e.Agent}, Workers: []int{e.Worker}, From: e.Time, To: e.Time, Text: fmt.Sprintf(
				"%s resumed %s at %s from %q, but the checkpoint when its claim %d was created was %q: progress was lost or repeated.",
				e.Agent, e.Sync, seconds(e.Time), e.Value, e.Token, want)}
		}
	}
	return nil
}

// firstBackwards explains a porcupine failure: the first accepted commit,
// by return time, that no order can fit after the writes before it.
func firstBackwards(h History) *Violation {
	last := map[string]Event{}
	for _, e := range h.Events {
		if e.Kind != Commit || e.Outcome != OK {
			continue
		}
		cp, _ := ParseCheckpoint(e.Value)
		if prev, ok := last[e.Sync]; ok && prev.Time < e.Call {
			pcp, _ := ParseCheckpoint(prev.Value)
			if cp.Token < pcp.Token || cp.N < pcp.N {
				return &Violation{Sync: e.Sync, Agents: []string{prev.Agent, e.Agent}, From: prev.Time, To: e.Time, Text: fmt.Sprintf(
					"%s committed %s for %s at %s after %s had committed %s at %s: an older claim or position was accepted.",
					e.Agent, cp, e.Sync, seconds(e.Time), prev.Agent, pcp, seconds(prev.Time))}
			}
		}
		last[e.Sync] = e
	}
	return nil
}

// assignmentWrites lists the assignment writes etcd accepted, in revision
// order, each with its writer's term (Token): as the agent reported them
// (Rebalanced), and as the harness saw them accepted (Wrote), which includes
// writes the agent gave up waiting for. A Wrote write is credited to the
// term its agent led in when it sent the request, 0 if none. Agents that
// never report leadership are not checked: their terms are unknown.
func assignmentWrites(h History) []Event {
	type tenure struct {
		term      int64
		won, lost int64 // lost is 0 while it lasts
	}
	terms := map[string][]tenure{} // agent -> its terms, in order
	for _, e := range h.Events {
		switch e.Kind {
		case LeaderWon:
			terms[e.Agent] = append(terms[e.Agent], tenure{term: e.Token, won: e.Time})
		case LeaderLost:
			if ts := terms[e.Agent]; len(ts) > 0 && ts[len(ts)-1].term == e.Token && ts[len(ts)-1].lost == 0 {
				ts[len(ts)-1].lost = e.Time
			}
		}
	}
	termAt := func(agent string, t int64) int64 {
		ts := terms[agent]
		i := sort.Search(len(ts), func(i int) bool { return ts[i].won > t })
		if i > 0 && (ts[i-1].lost == 0 || ts[i-1].lost >= t) {
			return ts[i-1].term
		}
		return 0
	}
	var writes []Event
	type write struct {
		agent string
		rev   int64
	}
	listed := map[write]bool{}
	add := func(e Event) {
		k := write{e.Agent, e.Rev}
		if !listed[k] {
			listed[k] = true
			writes = append(writes, e)
		}
	}
	for _, e := range h.Events {
		switch {
		case e.Kind == Rebalanced && e.Rev > 0:
			add(e)
		case e.Kind == Wrote && len(terms[e.Agent]) > 0:
			e.Token = termAt(e.Agent, e.Call)
			add(e)
		}
	}
	slices.SortStableFunc(writes, func(a, b Event) int { return cmp.Compare(a.Rev, b.Rev) })
	return writes
}
