package sim

import (
	"encoding/json"
	"fmt"
	"time"
)

// Setup is the world a scenario runs in.
type Setup struct {
	Members      int      `json:"members"`
	Agents       int      `json:"agents"`
	Syncs        int      `json:"syncs"`
	LeaseTTL     Duration `json:"lease_ttl"`
	SafetyMargin Duration `json:"safety_margin"`
	// Quiet is how long the run goes on after the last fault healed.
	Quiet Duration `json:"quiet"`
	Seed  int64    `json:"seed"`
}

// AgentName and SyncName name the i-th agent and sync, counting from 1.
func AgentName(i int) string { return fmt.Sprintf("agent-%d", i) }
func SyncName(i int) string  { return fmt.Sprintf("sync-%d", i) }

// Step is one fault on the timeline.
type Step struct {
	// At is the offset from the moment every sync first had an owner.
	At     Duration `json:"at"`
	Fault  Fault    `json:"fault"`
	Target Target   `json:"target,omitempty"`
	// For is how long the fault lasts before it is healed; 0 means it is
	// healed when the timeline ends, before the quiet window.
	For Duration `json:"for,omitempty"`

	// Members limits "isolate" to these members (default: all of them).
	Members []Target `json:"members,omitempty"`
	// Latency and Jitter parameterise "delay": each direction is delayed by
	// Latency ± Jitter.
	Latency Duration `json:"latency,omitempty"`
	Jitter  Duration `json:"jitter,omitempty"`
	// On makes a "stall" begin as the agent next sends a write under this
	// directory of the key space, relative to the prefix (the reference
	// layout's "assign", "claims", "checkpoints", "leader", "agents", or
	// any of an agent's own) rather than at At; the write is held with the
	// rest. A stall whose write never comes by its end held nothing: the
	// run did not go as written, and is undecided, unless Optional.
	On string `json:"on,omitempty"`
	// Optional says the step may find nothing to act on (a stall whose
	// write never comes): it is then recorded as not applied, and the run
	// stays decided.
	Optional bool `json:"optional,omitempty"`
	// Definition is the new definition for "add-sync" and "change-sync"
	// (default: a JSON object naming the sync and the step).
	Definition string `json:"definition,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("1.5s").
type Duration time.Duration

func (d Duration) Std() time.Duration { return time.Duration(d) }
func (d Duration) String() string     { return time.Duration(d).String() }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"1.5s\" or \"300ms\", not %s", data)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it like \"1.5s\" or \"300ms\"", s)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*d = Duration(v)
	return nil
}
