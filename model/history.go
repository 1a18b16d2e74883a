// Package model turns a recorded History into a Verdict: porcupine models and
// the other checkers of the properties a coordination protocol must keep.
//
// It is the harness's vocabulary for what happened, so it depends on nothing
// that starts clusters or agents: a stored history can be re-checked offline.
package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/syncsim/syncsim/internal/readfile"
)

// HistoryVersion is the version of the history file format this package writes.
const HistoryVersion = 1

// Never is the return time of an operation that never returned: it may take
// effect at any time after its call.
const Never int64 = math.MaxInt64

// Kind names an event.
type Kind string

const (
	// Worker lifecycle, recorded by the harness's Syncer: the ground truth of
	// when an agent believed it owned a sync and acted on it.
	WorkStart Kind = "work-start" // a worker began (Worker, Sync, Token, Value = resumed checkpoint)
	WorkExit  Kind = "work-exit"  // the worker returned; it makes no effect after this
	Commit    Kind = "commit"     // a checkpoint commit (Call..Time, Value, Outcome)

	// Agent events, as reported through its observer.
	Registered   Kind = "registered"
	ClaimStart   Kind = "claim-start"
	ClaimDone    Kind = "claim-done"
	ReleaseStart Kind = "release-start"
	ReleaseDone  Kind = "release-done"
	LeaderWon    Kind = "leader-won"
	// LeaderStepDown opens the window a step-down takes, like ReleaseStart:
	// the agent may still act as leader until its LeaderLost.
	LeaderStepDown Kind = "leader-step-down"
	LeaderLost     Kind = "leader-lost"
	Rebalanced     Kind = "rebalanced"
	Fenced         Kind = "fenced"
	InvalidSync    Kind = "invalid-sync" // a sync's definition is not a JSON object; it is not run

	// Harness events.
	AgentStart  Kind = "agent-start"  // an agent process started (Agent)
	AgentStop   Kind = "agent-stop"   // it stopped gracefully
	AgentCrash  Kind = "agent-crash"  // it was killed: connections cut, then cancelled
	AgentExit   Kind = "agent-exit"   // it returned on its own (Detail: its error)
	FaultStart  Kind = "fault-start"  // a fault began (Fault, Target, Detail)
	FaultEnd    Kind = "fault-end"    // it was healed
	Skipped     Kind = "skipped"      // a step could not run (Detail says why)
	NotApplied  Kind = "not-applied"  // a step whose role stayed vacant: it acted on nothing, and the run stays decided
	Ready       Kind = "ready"        // every sync had a worker; the timeline starts
	QuietEnd    Kind = "quiet-end"    // the run settled (or the wait for it ended) after the quiet window
	SyncAdded   Kind = "sync-added"   // an operator created or changed the sync
	SyncRemoved Kind = "sync-removed" // an operator removed the sync

	// etcd's own log, in revision order: every change under the prefix, as
	// a watch from the start of the run delivered it. Key is relative to
	// the prefix ("claims/sync-1"); Token is the key's create revision.
	EtcdPut    Kind = "etcd-put"
	EtcdDelete Kind = "etcd-delete"

	// Wrote is the harness's record, from the agent's end of the wire, that
	// etcd accepted an agent's request writing assignments (Agent, Call,
	// Key: the first assignment key, Rev), whether or not the agent was
	// still waiting for the answer. An assignment's value names the
	// assignee, not the writer.
	Wrote Kind = "wrote"

	// Effect is a write an agent process reported to the sink, which plays
	// the sync's target (Agent and Incarnation: the sender; Worker, Sync,
	// Token, Value: the position; Outcome OK when the target accepted it,
	// Failed when it refused it, with Detail; Checkpoint).
	Effect Kind = "effect"
)

// Outcome is how an operation ended.
type Outcome string

const (
	OK      Outcome = "ok"
	Failed  Outcome = "failed"  // definitely did not take effect
	Unknown Outcome = "unknown" // may or may not have taken effect
)

// Event is one thing that happened, stamped on the harness's single clock.
type Event struct {
	// Time is nanoseconds since the run started; for an operation, when it returned.
	Time int64 `json:"t"`
	// Call is when an operation was invoked (0 for instantaneous events).
	Call    int64   `json:"call,omitempty"`
	Kind    Kind    `json:"kind"`
	Agent   string  `json:"agent,omitempty"`
	Lease   int64   `json:"lease,omitempty"`
	Sync    string  `json:"sync,omitempty"`
	Worker  int     `json:"worker,omitempty"`
	Token   int64   `json:"token,omitempty"`
	Value   string  `json:"value,omitempty"`
	Outcome Outcome `json:"outcome,omitempty"`
	Fault   string  `json:"fault,omitempty"`
	Target  string  `json:"target,omitempty"`
	Detail  string  `json:"detail,omitempty"`
	Key     string  `json:"key,omitempty"`
	Rev     int64   `json:"rev,omitempty"`
	// Incarnation is the sender's process incarnation, for events an
	// agent process reported to the sink (0 otherwise).
	Incarnation int `json:"incarnation,omitempty"`
	// TokenKind is what Token means, as a WorkStart reported to the sink
	// declares it ("revision" or "epoch").
	TokenKind string `json:"token_kind,omitempty"`
	// Checkpoint marks an Effect that records the position a next worker
	// resumes from.
	Checkpoint bool `json:"checkpoint,omitempty"`
}

// History is everything recorded in one run, in time order.
type History struct {
	Version int `json:"version"`
	// Start is the wall-clock time (UTC) at which the recorder started:
	// event times count from it, so logs and reports line up.
	Start time.Time `json:"start,omitzero"`
	// Clock names the clock events were stamped on; "" means real time.
	Clock  string  `json:"clock,omitempty"`
	Events []Event `json:"events"`
}

// ClockName is the clock the history was recorded on, for people.
func (h History) ClockName() string {
	if h.Clock == "" {
		return "real"
	}
	return h.Clock
}

// Wall is the wall-clock time of history time t, and false if the
// history does not record its start.
func (h History) Wall(t int64) (time.Time, bool) {
	if h.Start.IsZero() {
		return time.Time{}, false
	}
	return h.Start.Add(time.Duration(t)), true
}

// ReadHistory loads a history file written by WriteHistory.
func ReadHistory(path string) (History, error) {
	data, err := readfile.Regular(path, readfile.MaxHistory)
	if err != nil {
		return History{}, err
	}
	h, err := DecodeHistory(data)
	if err != nil {
		return History{}, fmt.Errorf("%s %w", path, err)
	}
	return h, nil
}

// DecodeHistory reads a history and checks it could have been recorded:
// a corrupt history is an error, never a verdict. Its errors, as
// Validate's, follow the file's name ("h.json is corrupt: ...").
func DecodeHistory(data []byte) (History, error) {
	var h History
	if err := json.Unmarshal(data, &h); err != nil {
		return History{}, fmt.Errorf("is not a history file: %w", err)
	}
	if err := h.Validate(); err != nil {
		return History{}, err
	}
	return h, nil
}

// kinds are the events a history may hold.
var kinds = map[Kind]bool{
	WorkStart: true, WorkExit: true, Commit: true,
	Registered: true, ClaimStart: true, ClaimDone: true, ReleaseStart: true, ReleaseDone: true,
	LeaderWon: true, LeaderStepDown: true, LeaderLost: true, Rebalanced: true, Fenced: true, InvalidSync: true,
	AgentStart: true, AgentStop: true, AgentCrash: true, AgentExit: true, FaultStart: true, FaultEnd: true,
	Skipped: true, NotApplied: true, Ready: true, QuietEnd: true, SyncAdded: true, SyncRemoved: true,
	EtcdPut: true, EtcdDelete: true, Wrote: true, Effect: true,
}

// Validate checks what the recorder guarantees: a known format version,
// and events of known kinds stamped on one clock that never runs
// backwards (the recorder stamps each under its lock), each operation
// called before it returned.
func (h History) Validate() error {
	if h.Version < 1 || h.Version > HistoryVersion {
		return fmt.Errorf("has history format version %d; this syncsim reads versions 1 to %d", h.Version, HistoryVersion)
	}
	last := int64(0)
	for i, e := range h.Events {
		if err := e.validate(last); err != nil {
			return fmt.Errorf("is corrupt: event %d (%q at t=%d): %w", i, e.Kind, e.Time, err)
		}
		last = e.Time
	}
	return nil
}

// validate checks one event, recorded after one at time last.
func (e Event) validate(last int64) error {
	switch {
	case !kinds[e.Kind]:
		return fmt.Errorf("unknown kind %q", e.Kind)
	case e.Time < 0:
		return errors.New("its time is negative")
	case e.Time < last:
		return fmt.Errorf("its time is before the previous event's, t=%d: events must be in time order", last)
	case e.Call < 0:
		return fmt.Errorf("its call time %d is negative", e.Call)
	case e.Call > e.Time:
		return fmt.Errorf("it was called at t=%d, after it returned", e.Call)
	}
	return nil
}

// seconds formats a history time for people.
func seconds(t int64) string {
	if t == Never {
		return "never"
	}
	return fmt.Sprintf("%.3f s", float64(t)/1e9)
}

// Checkpoint is what the harness's simulated sync commits: a position and
// the fencing token it was written under, so etcd's own log says which
// claim every accepted write came from.
type Checkpoint struct {
	N     int
	Token int64
}

func (c Checkpoint) String() string { return fmt.Sprintf("%d@%d", c.N, c.Token) }

// ParseCheckpoint reads a Checkpoint; "" is the empty checkpoint, before any commit.
func ParseCheckpoint(s string) (Checkpoint, error) {
	if s == "" {
		return Checkpoint{N: 0}, nil
	}
	n, token, ok := strings.Cut(s, "@")
	var c Checkpoint
	var errN, errT error
	c.N, errN = strconv.Atoi(n)
	c.Token, errT = strconv.ParseInt(token, 10, 64)
	if !ok || errN != nil || errT != nil {
		return c, fmt.Errorf("checkpoint %q is not N@TOKEN", s)
	}
	return c, nil
}
