package sim

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/model"
)

// recorder stamps every event with one monotonic clock and keeps the live
// state that symbolic targets resolve against.
type recorder struct {
	start time.Time

	mu      sync.Mutex
	events  []model.Event
	workers int
	owners  map[string]map[int]string // sync -> running worker -> agent
	worked  map[string]bool           // syncs that have had a worker
	leader  string
}

func newRecorder() *recorder {
	return &recorder{start: time.Now(), owners: map[string]map[int]string{}, worked: map[string]bool{}}
}

// now is the harness clock: nanoseconds since the run started.
func (r *recorder) now() int64 { return int64(time.Since(r.start)) }

// record stamps e with the current time unless it has one, and appends it.
func (r *recorder) record(e model.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Time == 0 {
		e.Time = r.now()
	}
	switch e.Kind {
	case model.WorkStart:
		if r.owners[e.Sync] == nil {
			r.owners[e.Sync] = map[int]string{}
		}
		r.owners[e.Sync][e.Worker] = e.Agent
		r.worked[e.Sync] = true
	case model.WorkExit:
		delete(r.owners[e.Sync], e.Worker)
	case model.LeaderWon:
		r.leader = e.Agent
	case model.LeaderLost:
		if r.leader == e.Agent {
			r.leader = ""
		}
	}
	r.events = append(r.events, e)
}

func (r *recorder) newWorker() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.workers++
	return r.workers
}

// owner returns an agent running a worker on sync, if any.
func (r *recorder) owner(sync string, running func(agent string) bool) (string, bool) {
	r.mu.Lock()
	workers := maps.Clone(r.owners[sync])
	r.mu.Unlock() // running takes the world's lock, which is held while recording
	// The oldest worker of a running agent: a frozen worker whose agent
	// has exited still counts as working (it may make effects when it
	// thaws), but a fault cannot land on it.
	best := 0
	for w, agent := range workers {
		if (best == 0 || w < best) && running(agent) {
			best = w
		}
	}
	return workers[best], best != 0
}

// anyAgent is the running test for owner when any worker will do.
func anyAgent(string) bool { return true }

func (r *recorder) currentLeader() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leader, r.leader != ""
}

// owned reports whether every one of syncs has a running worker or, for
// an agent whose syncs may be idle between its workers (batches), has had
// one.
func (r *recorder) owned(syncs []string, idles bool) bool {
	for _, s := range syncs {
		r.mu.Lock()
		worked := r.worked[s]
		r.mu.Unlock()
		if _, ok := r.owner(s, anyAgent); !ok && !(idles && worked) {
			return false
		}
	}
	return true
}

// settled applies model.Settled to the history so far, without copying
// it. A run that does not expect progress (P3) has nothing to wait for.
func (r *recorder) settled(checks model.Options) error {
	if !slices.Contains(checks.Expect, model.Progress) {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return model.Settled(model.History{Events: r.events}, r.now(), checks)
}

func (r *recorder) history() model.History {
	r.mu.Lock()
	defer r.mu.Unlock()
	return model.History{Version: model.HistoryVersion, Start: r.start.UTC(), Events: append([]model.Event(nil), r.events...)}
}

// observer records one agent's events.
type observer struct {
	rec   *recorder
	agent string
}

var agentKinds = map[agent.EventKind]model.Kind{
	agent.Registered:   model.Registered,
	agent.ClaimStart:   model.ClaimStart,
	agent.ClaimDone:    model.ClaimDone,
	agent.ReleaseStart: model.ReleaseStart,
	agent.ReleaseDone:  model.ReleaseDone,
	agent.LeaderWon:    model.LeaderWon,
	agent.LeaderLost:   model.LeaderLost,
	agent.Rebalanced:   model.Rebalanced,
	agent.Fenced:       model.Fenced,
}

func (o observer) Observe(e agent.Event) {
	if e.Kind == agent.Committed {
		return // the simulated Syncer records each commit with its call time
	}
	ev := model.Event{Kind: agentKinds[e.Kind], Agent: o.agent, Lease: e.Lease, Sync: e.Sync, Token: e.Token, Rev: e.Rev, Outcome: outcome(e.Err)}
	if ev.Kind == "" {
		ev.Kind = model.Kind(e.Kind)
	}
	if e.Err != nil {
		ev.Detail = e.Err.Error()
	}
	if e.Kind == agent.Rebalanced {
		ev.Value = strconv.Itoa(e.Moves)
	}
	o.rec.record(ev)
}

// outcome classifies an agent error.
func outcome(err error) model.Outcome {
	switch {
	case err == nil:
		return model.OK
	case errors.Is(err, agent.ErrFenced), errors.Is(err, agent.ErrNotStored):
		return model.Failed
	default:
		return model.Unknown
	}
}
