package sim

import (
	"encoding/json"
	"fmt"
	"strings"
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
	Target Target   `json:"target"`
	// For is how long the fault lasts before it is healed (an isolated agent
	// reconnects, a crashed one restarts as a new incarnation); 0 means it
	// is never healed.
	For Duration `json:"for,omitempty"`
}

// Fault names a kind of fault.
type Fault string

const (
	Isolate Fault = "isolate" // cut the agent off from every etcd member
	Crash   Fault = "crash"   // kill the agent: connections cut first, then cancelled; no release, no revoke
)

// Faults describes every fault the executor knows.
var Faults = map[Fault]string{
	Isolate: "cut the target agent off from every etcd member; healed after 'for'",
	Crash:   "kill the target agent abruptly (no release, no revoke); restarted as a new incarnation after 'for', if given",
}

// Target names an agent, directly ("agent-2") or by role: "owner of sync-3"
// (the agent working on sync-3 when the step runs) or "leader" (the leader
// agent). The executor records what each resolved to.
type Target string

// Parse checks the target's form and returns the agent number or the sync
// number it names (0 for "leader").
func (t Target) Parse() (agent, ownerOf int, err error) {
	s := string(t)
	if s == "leader" {
		return 0, 0, nil
	}
	if rest, ok := strings.CutPrefix(s, "owner of "); ok {
		if _, err := fmt.Sscanf(rest, "sync-%d", &ownerOf); err == nil && ownerOf > 0 && SyncName(ownerOf) == rest {
			return 0, ownerOf, nil
		}
	} else if _, err := fmt.Sscanf(s, "agent-%d", &agent); err == nil && agent > 0 && AgentName(agent) == s {
		return agent, 0, nil
	}
	return 0, 0, fmt.Errorf("target %q is not one of: \"agent-N\", \"owner of sync-N\", \"leader\"", s)
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
