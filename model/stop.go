package model

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// CheckStop checks P4: no work or accepted commit on a removed sync more
// than bound after its removal, and none from an agent process after it
// stopped, crashed or exited. It reports every late effect, and every
// worker that outlived its sync's removal once.
func CheckStop(h History, bound time.Duration) Result {
	w := stopWatch{
		bound: int64(bound), removed: map[string]int64{}, ended: map[string]int64{},
		running: map[string]map[int]Event{},
	}
	for _, e := range h.Events {
		w.late(e.Time)
		w.step(e)
	}
	r := Result{Property: StopMeansStop, Checks: []string{"accepted commits and effects, and running workers, after their sync's removal or their process's end"}}
	if len(w.found) > 0 {
		r.fail(w.found)
		return r
	}
	r.Status = Pass
	r.Summary = fmt.Sprintf("removed syncs stopped within %v and ended agents made no effect", bound)
	return r
}

// stopWatch replays a history for P4.
type stopWatch struct {
	bound   int64
	removed map[string]int64         // sync -> when it was removed, while it stays removed
	ended   map[string]int64         // agent -> when its process ended, until it starts again
	running map[string]map[int]Event // sync -> its running workers' starts
	found   []Violation
}

// step applies one event to the watch.
func (w *stopWatch) step(e Event) {
	switch e.Kind {
	case SyncAdded:
		delete(w.removed, e.Sync)
	case SyncRemoved:
		w.removed[e.Sync] = e.Time
	case AgentStart:
		delete(w.ended, e.Agent)
	case AgentStop, AgentCrash, AgentExit:
		if _, ok := w.ended[e.Agent]; !ok {
			w.ended[e.Agent] = e.Time
		}
	case WorkStart:
		w.start(e)
	case WorkExit:
		delete(w.running[e.Sync], e.Worker)
	case Commit, Effect:
		w.commit(e)
	}
}

func (w *stopWatch) start(e Event) {
	if w.running[e.Sync] == nil {
		w.running[e.Sync] = map[int]Event{}
	}
	w.running[e.Sync][e.Worker] = e
	if t, ok := w.ended[e.Agent]; ok {
		w.add(e, e.Time, e.Time, fmt.Sprintf("%s started %s at %s, after its process ended at %s.", e.Agent, e.Sync, seconds(e.Time), seconds(t)))
	}
}

func (w *stopWatch) commit(e Event) {
	if e.Outcome != OK {
		return
	}
	verb := "committed"
	if e.Kind == Effect {
		verb = "made an effect on"
	}
	if t, ok := w.ended[e.Agent]; ok && sent(e) > t {
		w.add(e, e.Time, e.Time, fmt.Sprintf("%s %s %s at %s, after its process ended at %s.", sender(e), verb, e.Sync, seconds(e.Time), seconds(t)))
	}
	if t, ok := w.removed[e.Sync]; ok && sent(e)-t > w.bound {
		w.add(e, e.Time, e.Time, fmt.Sprintf("%s %s %s at %s, %v after it was removed at %s.", sender(e), verb, e.Sync, seconds(e.Time), time.Duration(sent(e)-t), seconds(t)))
	}
}

// late reports, once each, the workers still running on a sync removed
// more than the bound before now.
func (w *stopWatch) late(now int64) {
	var due []string
	for sync, t := range w.removed {
		if now-t > w.bound && len(w.running[sync]) > 0 {
			due = append(due, sync)
		}
	}
	slices.Sort(due)
	for _, sync := range due {
		t := w.removed[sync]
		for _, id := range slices.Sorted(maps.Keys(w.running[sync])) {
			s := w.running[sync][id]
			w.add(s, t+w.bound, now, fmt.Sprintf("%s kept working on %s, removed at %s, past %s (more than %v).",
				s.Agent, sync, seconds(t), seconds(t+w.bound), time.Duration(w.bound)))
		}
		clear(w.running[sync]) // reported; a worker is late once
	}
}

// add records a late effect by e's worker on e's sync.
func (w *stopWatch) add(e Event, from, to int64, text string) {
	w.found = append(w.found, Violation{Sync: e.Sync, Agents: []string{e.Agent}, Workers: []int{e.Worker}, From: from, To: to, Text: text})
}
