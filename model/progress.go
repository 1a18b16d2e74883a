package model

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Recent is how recently a settled sync's worker must have committed.
const Recent = time.Second

// world is the state of a run at one instant, rebuilt from the history.
type world struct {
	syncs   map[string]bool     // syncs that exist
	live    map[string]bool     // agents whose process runs
	working map[string][]string // sync -> agents working on it
	lastOK  map[int]int64       // worker -> time of its last accepted commit
	worker  map[string]int      // sync -> its (last) worker's id
}

// stateAt replays h up to and including time at.
func stateAt(h History, at int64) world {
	w := world{syncs: map[string]bool{}, live: map[string]bool{}, working: map[string][]string{}, lastOK: map[int]int64{}, worker: map[string]int{}}
	running := map[int]Event{}
	for _, e := range h.Events {
		if e.Time > at {
			break
		}
		switch e.Kind {
		case SyncAdded:
			w.syncs[e.Sync] = true
		case SyncRemoved:
			delete(w.syncs, e.Sync)
		case AgentStart:
			w.live[e.Agent] = true
		case AgentStop, AgentCrash, AgentExit:
			delete(w.live, e.Agent)
		case WorkStart:
			running[e.Worker] = e
		case WorkExit:
			delete(running, e.Worker)
		case Commit:
			if e.Outcome == OK {
				w.lastOK[e.Worker] = e.Time
			}
		}
	}
	ids := make([]int, 0, len(running))
	for id := range running {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := running[id]
		w.working[e.Sync] = append(w.working[e.Sync], e.Agent)
		w.worker[e.Sync] = id
	}
	return w
}

// Settled reports whether, at time at, every sync is worked on by exactly
// one live agent that committed within Recent, and the live agents' loads
// differ by at most one. It returns nil when settled, or what is not.
// The harness waits for it after the quiet window; P3 checks it at the end.
func Settled(h History, at int64) error {
	w := stateAt(h, at)
	load := map[string]int{}
	for a := range w.live {
		load[a] = 0
	}
	syncs := make([]string, 0, len(w.syncs))
	for s := range w.syncs {
		syncs = append(syncs, s)
	}
	slices.Sort(syncs)
	for _, s := range syncs {
		agents := w.working[s]
		switch {
		case len(agents) == 0:
			return fmt.Errorf("nobody works on %s", s)
		case len(agents) > 1:
			return fmt.Errorf("%s has %d workers (%s)", s, len(agents), strings.Join(agents, ", "))
		case !w.live[agents[0]]:
			return fmt.Errorf("%s is worked on by %s, whose process has ended", s, agents[0])
		case at-w.lastOK[w.worker[s]] > int64(Recent):
			return fmt.Errorf("%s's worker on %s has committed nothing in the last %v", agents[0], s, Recent)
		}
		load[agents[0]]++
	}
	if len(load) > 0 {
		lo, hi := len(syncs), 0
		for _, n := range load {
			lo, hi = min(lo, n), max(hi, n)
		}
		if hi-lo > 1 {
			return fmt.Errorf("loads differ by %d: %v", hi-lo, load)
		}
	}
	return nil
}

// CheckProgress checks P3 when the run settled, or gave up waiting.
func CheckProgress(h History) Result {
	r := Result{Property: Progress}
	var ready, quiet *Event
	for i, e := range h.Events {
		switch e.Kind {
		case Ready:
			ready = &h.Events[i]
		case QuietEnd:
			quiet = &h.Events[i]
		}
	}
	if quiet == nil {
		r.Status, r.Summary = Undecided, "the run has no quiet-end event: it did not reach the end of its quiet window"
		return r
	}
	if err := Settled(h, quiet.Time); err != nil {
		r.fail([]Violation{{From: quiet.Time, To: quiet.Time, Text: fmt.Sprintf(
			"after the faults healed and the quiet window passed, the fleet had not settled at %s: %v.", seconds(quiet.Time), err)}})
		return r
	}
	r.Status = Pass
	r.Summary = fmt.Sprintf("at %s every sync had exactly one live, committing owner and loads were balanced", seconds(quiet.Time))
	if ready != nil {
		r.Summary += fmt.Sprintf(" (first ready at %s)", seconds(ready.Time))
	}
	return r
}
