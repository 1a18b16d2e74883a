package agent

import "time"

// Observer receives the agent's events as they happen. Observe must not block:
// it is called on the agent's hot paths.
type Observer interface {
	Observe(Event)
}

// EventKind names what happened.
type EventKind string

const (
	Registered   EventKind = "registered"    // a new incarnation holds Lease
	ClaimStart   EventKind = "claim-start"   // about to send the claim txn for Sync
	ClaimDone    EventKind = "claim-done"    // claim answered: Err nil (Token held), ErrFenced (taken), or unknown
	ReleaseStart EventKind = "release-start" // the worker exited; about to delete the claim
	ReleaseDone  EventKind = "release-done"  // the claim with Token is gone (Err nil) or the outcome is unknown
	LeaderWon    EventKind = "leader-won"    // leadership confirmed for term Token
	LeaderLost   EventKind = "leader-lost"   // stopped acting as leader of term Token
	Rebalanced   EventKind = "rebalanced"    // the leader of term Token wrote Moves assignment changes, the last at revision Rev
	Fenced       EventKind = "fenced"        // the incarnation stopped trusting its lease (Err says why)
	Committed    EventKind = "committed"     // a checkpoint commit answered: Err nil, ErrFenced (rejected), or unknown
	InvalidSync  EventKind = "invalid-sync"  // Sync's definition is not a JSON object; it is not run (Err says why)
)

// Event is one thing an agent did.
type Event struct {
	Kind  EventKind
	Lease int64 // the incarnation's lease
	Sync  string
	Token int64
	Moves int
	Rev   int64 // the etcd revision of the write, where there was one
	// Elapsed is how long the step took: for a successful ClaimDone, from
	// the worker's first claim attempt (the handover latency this agent saw).
	Elapsed time.Duration
	Err     error
}

type nopObserver struct{}

func (nopObserver) Observe(Event) {}
