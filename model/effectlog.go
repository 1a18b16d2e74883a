package model

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// The checks in this file read what agents did to their syncs' targets:
// the commits of the harness's own Syncer and the effects agent processes
// report to the sink. They assume no key layout; a token is an opaque
// number that grows with each new holder.

// fromSink reports whether an agent process reported e to the sink: only
// those carry the sender's incarnation.
func fromSink(e Event) bool { return e.Incarnation > 0 }

// accepted reports whether e is an effect the target took: a commit etcd
// accepted, or an effect the sink accepted.
func accepted(e Event) bool { return (e.Kind == Commit || e.Kind == Effect) && e.Outcome == OK }

// sent is when an accepted effect was sent: the commit's call, or the
// effect's arrival at the sink, which is the target.
func sent(e Event) int64 {
	if e.Kind == Effect {
		return e.Time
	}
	return e.Call
}

// sender names who made e: the process, for an event reported to the sink.
func sender(e Event) string {
	if fromSink(e) {
		return fmt.Sprintf("%s (incarnation %d)", e.Agent, e.Incarnation)
	}
	return e.Agent
}

// interleavings finds, per sync, every pair of workers whose accepted
// effects interleaved: one worker's effect sent after another's was
// accepted, which came after the first one's earlier effect. It is P1 on
// what reached the target, whatever the workers reported of their own
// tenure. Each pair is reported once, at its first interleaving.
func interleavings(h History) []Violation {
	type worker struct {
		first int64   // when its first accepted effect was accepted
		ends  []int64 // when each accepted effect was accepted, in order
		sends []int64 // when each was sent
		last  Event
	}
	bySync := map[string]map[int]*worker{}
	reported := map[[2]int]bool{}
	var found []Violation
	for _, e := range h.Events {
		if !accepted(e) {
			continue
		}
		workers := bySync[e.Sync]
		if workers == nil {
			workers = map[int]*worker{}
			bySync[e.Sync] = workers
		}
		me := workers[e.Worker]
		if me == nil {
			me = &worker{first: e.Time}
			workers[e.Worker] = me
		}
		for _, id := range slices.Sorted(maps.Keys(workers)) {
			other := workers[id]
			pair := [2]int{min(id, e.Worker), max(id, e.Worker)}
			if id == e.Worker || reported[pair] {
				continue
			}
			// other's latest effect accepted before e was sent, if it
			// was sent after me's first effect was accepted.
			i, _ := slices.BinarySearch(other.ends, sent(e))
			if i > 0 && other.sends[i-1] > me.first {
				reported[pair] = true
				found = append(found, interleaving(e, other.last, me.first, other.sends[i-1]))
			}
		}
		me.ends, me.sends, me.last = append(me.ends, e.Time), append(me.sends, sent(e)), e
	}
	return found
}

func interleaving(late, other Event, first, between int64) Violation {
	return Violation{Sync: late.Sync, Agents: []string{late.Agent, other.Agent}, Workers: []int{late.Worker, other.Worker}, From: between, To: late.Time, Text: fmt.Sprintf(
		"%s (worker %d) made effects on %s from %s, %s (worker %d) made one sent at %s, and then %s's effect sent at %s was accepted too: two workers' effects interleaved on one sync.",
		sender(late), late.Worker, late.Sync, seconds(first), sender(other), other.Worker, seconds(between), sender(late), seconds(sent(late)))}
}

// effectOrder checks P2 on the effects the sink accepted, in arrival order
// per sync: never a smaller token than one accepted before, never a
// smaller position under the same token, and every start from the
// position of the last accepted checkpoint.
func effectOrder(h History) []Violation {
	type newest struct {
		token, pos int64
		by         Event
		checkpoint *Event // the last accepted checkpoint
	}
	seen := map[string]*newest{}
	var found []Violation
	for i, e := range h.Events {
		if !fromSink(e) {
			continue
		}
		n := seen[e.Sync]
		switch {
		case e.Kind == WorkStart && n != nil && n.checkpoint != nil:
			if v, bad := resumeViolation(e, *n.checkpoint); bad {
				found = append(found, v)
			}
		case !accepted(e):
		case n == nil:
			seen[e.Sync] = &newest{token: e.Token, pos: position(e), by: e}
		case e.Token < n.token:
			found = append(found, backwards(e, n.by, fmt.Sprintf("token %d after token %d", e.Token, n.token)))
		case e.Token == n.token && position(e) < n.pos:
			found = append(found, backwards(e, n.by, fmt.Sprintf("position %d after position %d under the same token %d", position(e), n.pos, e.Token)))
		default:
			n.token, n.pos, n.by = e.Token, position(e), e
		}
		if n := seen[e.Sync]; n != nil && accepted(e) && e.Checkpoint {
			n.checkpoint = &h.Events[i]
		}
	}
	return found
}

// position is the position an effect or start reported to the sink carries.
func position(e Event) int64 {
	n, _ := strconv.ParseInt(e.Value, 10, 64)
	return n
}

func backwards(e, before Event, what string) Violation {
	return Violation{Sync: e.Sync, Agents: []string{e.Agent, before.Agent}, Workers: []int{e.Worker, before.Worker}, From: before.Time, To: e.Time, Text: fmt.Sprintf(
		"the target of %s accepted %s's effect at %s with %s, accepted from %s at %s: an older holder's write got through.",
		e.Sync, sender(e), seconds(e.Time), what, sender(before), seconds(before.Time))}
}

func resumeViolation(start, cp Event) (Violation, bool) {
	got, want := position(start), position(cp)
	if got == want {
		return Violation{}, false
	}
	what := "lost"
	if got < want {
		what = "repeated"
	}
	return Violation{Sync: start.Sync, Agents: []string{start.Agent}, Workers: []int{start.Worker}, From: cp.Time, To: start.Time, Text: fmt.Sprintf(
		"%s resumed %s at %s from position %d, but the last checkpoint the target accepted, from %s at %s, was %d: progress was %s.",
		sender(start), start.Sync, seconds(start.Time), got, sender(cp), seconds(cp.Time), want, what)}, true
}
