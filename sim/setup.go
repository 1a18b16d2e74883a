package sim

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/syncsim/syncsim/agent/layout"
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
	// directory of the key space ("assign", "claims", "checkpoints",
	// "leader", "agents") rather than at At; the write is held with the
	// rest. A stall whose write never comes by its end holds nothing.
	On string `json:"on,omitempty"`
	// Definition is the new definition for "add-sync" and "change-sync"
	// (default: a JSON object naming the sync and the step).
	Definition string `json:"definition,omitempty"`
}

// Fault names a kind of fault.
type Fault string

// The faults. Agent faults take an agent target, member faults a member
// target, sync faults a sync target.
const (
	Isolate       Fault = "isolate"        // cut the agent off from etcd members (Members, default all)
	Delay         Fault = "delay"          // slow the agent's traffic by Latency ± Jitter each way
	Disconnect    Fault = "disconnect"     // drop the agent's connections at once; it reconnects
	Crash         Fault = "crash"          // kill the agent: connections cut first, then cancelled; no release, no revoke
	Stop          Fault = "stop"           // stop the agent gracefully
	Pause         Fault = "pause"          // freeze the agent's network and workers (see Faults)
	Stall         Fault = "stall"          // hold the agent's traffic and deliver it late (On: at its next write there)
	Join          Fault = "join"           // start a new agent, named after the last one
	MemberCrash   Fault = "member-crash"   // stop an etcd member, keeping its data
	MemberPause   Fault = "member-pause"   // freeze an etcd member
	MemberIsolate Fault = "member-isolate" // cut an etcd member off from its peers
	Split         Fault = "split"          // cut the largest minority, holding the target, off from the rest
	Compact       Fault = "compact"        // compact etcd's history at the current revision
	AddSync       Fault = "add-sync"       // an operator adds the sync
	RemoveSync    Fault = "remove-sync"    // an operator removes the sync
	ChangeSync    Fault = "change-sync"    // an operator changes the sync's definition
)

// TargetKind says what a fault acts on.
type TargetKind int

const (
	NoTarget TargetKind = iota
	AgentTarget
	MemberTarget
	SyncTarget
)

// FaultInfo describes a fault.
type FaultInfo struct {
	Target TargetKind
	// Heal says what healing does; "" for faults that are over at once.
	Heal string
	Doc  string
}

// Faults describes every fault the executor knows.
var Faults = map[Fault]FaultInfo{
	Isolate:    {AgentTarget, "reconnect", "cut the agent off from every member, or from \"members\""},
	Delay:      {AgentTarget, "remove the delay", "delay the agent's traffic by \"latency\" ± \"jitter\" each way"},
	Disconnect: {AgentTarget, "", "drop the agent's connections; it reconnects"},
	Crash:      {AgentTarget, "restart as a new incarnation", "kill the agent abruptly: connections cut, then cancelled; no release, no revoke"},
	Stop:       {AgentTarget, "restart as a new incarnation", "stop the agent gracefully"},
	Pause: {AgentTarget, "resume where it was", "freeze the agent's network and its workers after the step in flight, " +
		"whose commit is held in the frozen network (the agent's own timers keep running, so it may fence itself meanwhile)"},
	Stall: {AgentTarget, "deliver what was held, late and in order", "hold the agent's traffic both ways, as a stalled network does " +
		"(the agent runs on, and its requests arrive when the stall ends, however long it waited for them); with \"on\", " +
		"the stall begins as the agent sends its next write under that directory"},
	Join:          {NoTarget, "", "start a new agent, named agent-N after the last one"},
	MemberCrash:   {MemberTarget, "restart it with its data", "stop an etcd member"},
	MemberPause:   {MemberTarget, "resume it", "freeze an etcd member"},
	MemberIsolate: {MemberTarget, "reconnect it", "cut an etcd member off from its peers"},
	Split:         {MemberTarget, "reconnect them", "cut the target and the lowest-numbered other members, a minority, off from the majority"},
	Compact:       {NoTarget, "", "compact etcd's history at the current revision"},
	AddSync:       {SyncTarget, "", "an operator adds the sync (\"definition\" optional)"},
	RemoveSync:    {SyncTarget, "", "an operator removes the sync"},
	ChangeSync:    {SyncTarget, "", "an operator changes the sync's definition (\"definition\" optional)"},
}

// StallDirs are the directories a stall may wait on ("on").
var StallDirs = []string{layout.Agents, layout.Leader, layout.Assign, layout.Claims, layout.Checkpoints}

// MembersDown is how many etcd members the fault takes out of the quorum.
func (s Step) MembersDown(members int) int {
	switch s.Fault {
	case MemberCrash, MemberPause, MemberIsolate:
		return 1
	case Split:
		return (members - 1) / 2
	}
	return 0
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
