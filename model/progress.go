package model

import (
	"fmt"
	"maps"
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
		case Commit, Effect:
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

// Settled reports whether, at time at, the fleet has settled as P3 asks,
// and returns nil when it has, or what it has not. For the reference
// layout every sync is worked on by exactly one live agent that committed
// within Recent; for an agent of its own layout, every sync got an
// accepted effect within Recent, its last from a live agent. Unless the
// agent is declared unbalanced, the live agents' loads differ by at most
// one. The harness waits for it after the quiet window; P3 checks it at
// the end.
func Settled(h History, at int64, opts Options) error {
	w := stateAt(h, at)
	syncs := slices.Sorted(maps.Keys(w.syncs))
	judge := w.owner
	if opts.OwnLayout {
		judge = recentEffects(h, at).owner
	}
	load := map[string]int{}
	for a := range w.live {
		load[a] = 0
	}
	for _, s := range syncs {
		agent, err := judge(s, at)
		if err != nil {
			return err
		}
		if !w.live[agent] {
			return fmt.Errorf("%s is worked on by %s, whose process has ended", s, agent)
		}
		load[agent]++
	}
	if opts.Unbalanced {
		return nil
	}
	return balanced(load, len(syncs))
}

// owner is the one agent working on sync at time at, if it committed
// within Recent.
func (w world) owner(sync string, at int64) (string, error) {
	agents := w.working[sync]
	switch {
	case len(agents) == 0:
		return "", fmt.Errorf("nobody works on %s", sync)
	case len(agents) > 1:
		return "", fmt.Errorf("%s has %d workers (%s)", sync, len(agents), strings.Join(agents, ", "))
	case !w.live[agents[0]]:
		return agents[0], nil // the caller says its process has ended
	case at-w.lastOK[w.worker[sync]] > int64(Recent):
		return "", fmt.Errorf("%s's worker on %s has committed nothing in the last %v", agents[0], sync, Recent)
	}
	return agents[0], nil
}

// lastEffects is, per sync, the last effect the target accepted within a window.
type lastEffects map[string]Event

// recentEffects are the last accepted effects on each sync in the Recent before at.
func recentEffects(h History, at int64) lastEffects {
	last := lastEffects{}
	for _, e := range h.Events {
		if e.Time > at {
			break
		}
		if accepted(e) && at-e.Time <= int64(Recent) {
			last[e.Sync] = e
		}
	}
	return last
}

// owner is the agent whose effect on sync the target accepted last,
// within Recent.
func (l lastEffects) owner(sync string, _ int64) (string, error) {
	e, ok := l[sync]
	if !ok {
		return "", fmt.Errorf("the target accepted no effect on %s in the last %v", sync, Recent)
	}
	return e.Agent, nil
}

// balanced reports whether loads differ by at most one.
func balanced(load map[string]int, syncs int) error {
	if len(load) == 0 {
		return nil
	}
	lo, hi := syncs, 0
	for _, n := range load {
		lo, hi = min(lo, n), max(hi, n)
	}
	if hi-lo > 1 {
		return fmt.Errorf("loads differ by %d: %v", hi-lo, load)
	}
	return nil
}

// CheckProgress checks P3 when the run settled, or gave up waiting.
func CheckProgress(h History, opts Options) Result {
	r := Result{Property: Progress, Checks: progressChecks(opts)}
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
	if err := Settled(h, quiet.Time, opts); err != nil {
		r.fail([]Violation{{From: quiet.Time, To: quiet.Time, Text: fmt.Sprintf(
			"after the faults healed and the quiet window passed, the fleet had not settled at %s: %v.", seconds(quiet.Time), err)}})
		return r
	}
	r.Status = Pass
	r.Summary = fmt.Sprintf("at %s every sync had exactly one live, committing owner and loads were balanced", seconds(quiet.Time))
	if opts.OwnLayout || opts.Unbalanced {
		r.Summary = fmt.Sprintf("at %s %s", seconds(quiet.Time), strings.Join(r.Checks, "; "))
	}
	if ready != nil {
		r.Summary += fmt.Sprintf(" (first ready at %s)", seconds(ready.Time))
	}
	return r
}

// progressChecks says what P3 judged, for opts.
func progressChecks(opts Options) []string {
	checks := []string{fmt.Sprintf("every sync had one live worker that committed within %v", Recent)}
	if opts.OwnLayout {
		checks = []string{fmt.Sprintf("every sync got accepted effects within %v, the last from a live agent", Recent)}
	}
	if !opts.Unbalanced {
		checks = append(checks, "loads balanced within one")
	}
	return checks
}
