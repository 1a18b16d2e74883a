package model

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/syncsim/syncsim/agent/layout"
)

// A fencing token is the create revision of the key that grants ownership
// (the claim, for the reference agent; whatever key another agent uses).
// etcdReplay is etcd's log replayed once, in revision order, keeping what
// the checks over it need: which keys existed at each checkpoint write,
// which claims were created, and whose term led at each revision.
type etcdReplay struct {
	owners  map[int64]string          // token -> agent that worked under it
	created map[int64]string          // create revision -> key, for keys seen being created
	writes  map[string][]checkpointAt // sync -> its checkpoint writes, in revision order
	terms   []termAt                  // the leading term after each change of leaders, in revision order
	empty   bool                      // the log is empty: nothing to check against
}

// checkpointAt is one accepted checkpoint write, with what existed at its revision.
type checkpointAt struct {
	*Event
	sync   string
	cp     Checkpoint
	bad    error // the value is not a checkpoint the harness writes
	fenced bool  // a key with the checkpoint's token existed
	claim  int64 // the token of the sync's claim then, 0 for none
}

// termAt is the leading term (the oldest leader key alive) from rev on.
type termAt struct{ rev, term int64 }

// replayLog replays etcd's log in h.
func replayLog(h History) etcdReplay {
	r := etcdReplay{owners: map[int64]string{}, created: map[int64]string{}, writes: map[string][]checkpointAt{}}
	for _, e := range h.Events {
		if e.Kind == WorkStart {
			r.owners[e.Token] = e.Agent
		}
	}
	log := etcdLog(h)
	r.empty = len(log) == 0
	tokens := map[string]int64{} // key -> create revision of its last put
	alive := map[int64]string{}  // create revision -> key, for keys that exist
	leaders := map[int64]bool{}  // create revisions of live keys under leader/
	for _, e := range log {
		token := e.Token
		if e.Kind == EtcdPut {
			tokens[e.Key] = token
		} else if token == 0 {
			// etcd leaves a delete's previous value out when it cannot
			// read it (compacted meanwhile); the key's last put names it.
			token = tokens[e.Key]
		}
		dir, sync := layout.Split(e.Key)
		switch {
		case dir == layout.Checkpoints && e.Kind == EtcdPut:
			w := checkpointAt{Event: e, sync: sync, claim: tokens[layout.Key(layout.Claims, sync)]}
			w.cp, w.bad = ParseCheckpoint(e.Value)
			_, w.fenced = alive[w.cp.Token]
			if alive[w.claim] == "" {
				w.claim = 0
			}
			r.writes[sync] = append(r.writes[sync], w)
		case dir == layout.Checkpoints:
		case e.Kind == EtcdPut:
			alive[token] = e.Key
			if token == e.Rev {
				r.created[token] = e.Key
			}
		default:
			delete(alive, token)
		}
		if dir == layout.Leader {
			setLeader(leaders, token, e.Kind == EtcdPut)
			r.terms = append(r.terms, termAt{e.Rev, oldest(leaders)})
		}
	}
	return r
}

// etcdLog is etcd's log in h, in revision order.
func etcdLog(h History) []*Event {
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
	return log
}

func setLeader(leaders map[int64]bool, token int64, alive bool) {
	if alive {
		leaders[token] = true
	} else {
		delete(leaders, token)
	}
}

func oldest(leaders map[int64]bool) int64 {
	current := int64(0)
	for t := range leaders {
		if current == 0 || t < current {
			current = t
		}
	}
	return current
}

// who names the agent that worked under a token.
func (r etcdReplay) who(token int64) string {
	if a, ok := r.owners[token]; ok {
		return a
	}
	return "nobody"
}

// termAt is the leading term once every change up to rev is applied.
func (r etcdReplay) termAt(rev int64) int64 {
	i := sort.Search(len(r.terms), func(i int) bool { return r.terms[i].rev > rev })
	if i == 0 {
		return 0
	}
	return r.terms[i-1].term
}

// syncs lists the syncs with checkpoint writes, in order.
func (r etcdReplay) syncs() []string { return slices.Sorted(maps.Keys(r.writes)) }

// etcdLogViolations runs every check over one replay of etcd's log.
func etcdLogViolations(h History) []Violation {
	r := replayLog(h)
	var found []Violation
	for _, check := range []func(etcdReplay, History) []Violation{checkFences, checkBackwards, checkResumes, checkTerms} {
		found = append(found, check(r, h)...)
	}
	return found
}

// checkFences: a checkpoint write is fenced if a key with its token's
// create revision still existed at the write's revision.
func checkFences(r etcdReplay, _ History) []Violation {
	var found []Violation
	for _, sync := range r.syncs() {
		for _, w := range r.writes[sync] {
			switch {
			case w.bad != nil:
				found = append(found, Violation{Sync: sync, From: w.Time, To: w.Time, Text: fmt.Sprintf("etcd holds checkpoint %q for %s at revision %d, not one the harness writes", w.Value, sync, w.Rev)})
			case !w.fenced:
				found = append(found, r.unfenced(w))
			}
		}
	}
	return found
}

func (r etcdReplay) unfenced(w checkpointAt) Violation {
	text := fmt.Sprintf("etcd accepted checkpoint %s for %s at revision %d under %s's token %d, but that claim no longer existed: a fenced-out owner's write got through.",
		w.cp, w.sync, w.Rev, r.who(w.cp.Token), w.cp.Token)
	if w.claim != 0 {
		text += fmt.Sprintf(" The current claim was %d (%s).", w.claim, r.who(w.claim))
	}
	return Violation{Sync: w.sync, Agents: []string{r.who(w.cp.Token)}, From: w.Time, To: w.Time, Text: text}
}

// checkBackwards: the positions etcd accepted for a sync never decrease.
func checkBackwards(r etcdReplay, _ History) []Violation {
	var found []Violation
	for _, sync := range r.syncs() {
		var prev *checkpointAt
		for i, w := range r.writes[sync] {
			if w.bad != nil {
				continue
			}
			if prev != nil && w.cp.N < prev.cp.N {
				found = append(found, Violation{Sync: sync, Agents: []string{r.who(w.cp.Token)}, From: w.Time, To: w.Time, Text: fmt.Sprintf(
					"the checkpoint of %s went backwards at revision %d: %s wrote %s after %s.", sync, w.Rev, r.who(w.cp.Token), w.cp, prev.cp)})
			}
			prev = &r.writes[sync][i]
		}
	}
	return found
}

// checkResumes: in the reference layout, a new owner resumes from the
// checkpoint that was current when its claim was created.
func checkResumes(r etcdReplay, h History) []Violation {
	var found []Violation
	for _, e := range h.Events {
		if e.Kind != WorkStart || r.created[e.Token] != layout.Key(layout.Claims, e.Sync) {
			continue // not a claim in the reference layout: when it began to own is unknown
		}
		if want := r.checkpointBefore(e.Sync, e.Token); !resumedFrom(e, want) {
			found = append(found, Violation{Sync: e.Sync, Agents: []string{e.Agent}, Workers: []int{e.Worker}, From: e.Time, To: e.Time, Text: fmt.Sprintf(
				"%s resumed %s at %s from %q, but the checkpoint when its claim %d was created was %q: progress was lost or repeated.",
				e.Agent, e.Sync, seconds(e.Time), e.Value, e.Token, want)})
		}
	}
	return found
}

// resumedFrom reports whether start resumed from checkpoint cp: an agent
// process reports only its position to the sink.
func resumedFrom(start Event, cp string) bool {
	if !fromSink(start) {
		return start.Value == cp
	}
	want, _ := ParseCheckpoint(cp)
	return position(start) == int64(want.N)
}

// checkpointBefore is the value of the sync's last checkpoint written
// before revision rev, "" if none.
func (r etcdReplay) checkpointBefore(sync string, rev int64) string {
	writes := r.writes[sync]
	i := sort.Search(len(writes), func(i int) bool { return writes[i].Rev >= rev })
	if i == 0 {
		return ""
	}
	return writes[i-1].Value
}

// checkTerms: every leader's assignment write happened while its term was
// the oldest leader key alive.
func checkTerms(r etcdReplay, h History) []Violation {
	if r.empty {
		return nil
	}
	var found []Violation
	for _, w := range assignmentWrites(h) {
		current := r.termAt(w.Rev)
		switch {
		case current == w.Token:
		case w.Token == 0:
			found = append(found, Violation{Agents: []string{w.Agent}, From: w.Call, To: w.Time, Text: fmt.Sprintf(
				"etcd accepted %s's assignment writes at revision %d, sent at %s while it did not lead; the current leader's term then was %d.",
				w.Agent, w.Rev, seconds(w.Call), current)})
		default:
			found = append(found, Violation{Agents: []string{w.Agent}, From: cmp.Or(w.Call, w.Time), To: w.Time, Text: fmt.Sprintf(
				"etcd accepted %s's assignment writes at revision %d under term %d, but the current leader's term then was %d: a deposed leader's writes got through.",
				w.Agent, w.Rev, w.Token, current)})
		}
	}
	return found
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
