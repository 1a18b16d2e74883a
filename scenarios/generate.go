package scenarios

import (
	"fmt"
	"slices"
	"time"

	"pgregory.net/rapid"

	"github.com/syncsim/syncsim/agent/layout"
	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim"
)

// Space is the world exploration draws scenarios in, and how long their
// timelines may grow.
type Space struct {
	Members int // etcd members; default 3
	Agents  int // agents at the start; default 3
	Syncs   int // syncs at the start; default 4
	Steps   int // most steps in one timeline; default 8
	// AllowQuorumLoss lets member faults take a majority out at once (one
	// member always stays up); without it a minority at most is out.
	AllowQuorumLoss bool
	// NoLeader draws no step targeting "leader": for an agent that elects
	// none (sim.Declared.Leads), such a step could only go unapplied.
	NoLeader bool
}

// Bounds of a drawn timeline, chosen so that a scenario runs in about ten
// seconds: faults a lease-based agent must survive (a cut past the TTL, a
// crash, an etcd election) all fit, and throughput stays high.
const (
	drawLeaseTTL = time.Second
	drawMargin   = 300 * time.Millisecond
	drawQuiet    = 2 * time.Second
	drawHorizon  = 6 * time.Second // no step starts later than this
	maxJoins     = 3
	maxAdded     = 4
)

// Drawn durations, shortest first, because rapid shrinks a choice towards
// the first: the wait before each step (none: at the same instant), how
// long a fault lasts (openEnded: until healed by a later action or the
// timeline's end), and delays.
var (
	drawWaits     = []sim.Duration{0, dur(100 * time.Millisecond), dur(300 * time.Millisecond), dur(700 * time.Millisecond), dur(1500 * time.Millisecond)}
	drawFors      = []sim.Duration{dur(200 * time.Millisecond), dur(700 * time.Millisecond), dur(1500 * time.Millisecond), dur(3 * time.Second), openEnded}
	drawLatencies = []sim.Duration{dur(50 * time.Millisecond), dur(150 * time.Millisecond), dur(300 * time.Millisecond)}
)

const openEnded sim.Duration = 0

func dur(d time.Duration) sim.Duration { return sim.Duration(d) }

func (sp Space) withDefaults() Space {
	if sp.Members == 0 {
		sp.Members = 3
	}
	if sp.Agents == 0 {
		sp.Agents = 3
	}
	if sp.Syncs == 0 {
		sp.Syncs = 4
	}
	if sp.Steps == 0 {
		sp.Steps = 8
	}
	return sp
}

// Validate says what is wrong with a space given in full (a zero field is
// an error here; the generator reads it as the default).
func (sp Space) Validate() error {
	switch {
	case sp.Members < 1 || sp.Members > maxMembers:
		return fmt.Errorf("members is %d; it must be 1 to %d", sp.Members, maxMembers)
	case sp.Agents < 1 || sp.Agents+maxJoins > maxAgents:
		return fmt.Errorf("agents is %d; it must be 1 to %d", sp.Agents, maxAgents-maxJoins)
	case sp.Syncs < 1 || sp.Syncs+maxAdded > maxSyncs:
		return fmt.Errorf("syncs is %d; it must be 1 to %d", sp.Syncs, maxSyncs-maxAdded)
	case sp.Steps < 1:
		return fmt.Errorf("steps is %d; it must be at least 1", sp.Steps)
	}
	return nil
}

// Generator draws scenarios from the space. It is a state machine over the
// scenario language: its actions are the faults, heals, waits, agent
// lifecycle steps and sync changes, each enabled only when the world drawn
// so far allows it (never more than a minority of members down, never every
// agent out at once, only syncs that exist), so a drawn timeline runs as
// written. Every choice is from a sorted list and nothing reads a clock or a
// map, so a seed always draws the same scenario.
func (sp Space) Generator() *rapid.Generator[*Scenario] {
	sp = sp.withDefaults()
	return rapid.Custom(func(t *rapid.T) *Scenario {
		// Syncs 1..Syncs exist from the start (added at 0); the rest,
		// up to maxAdded more, may be added.
		d := &drawing{sp: sp, agents: sp.Agents, syncs: make([]time.Duration, sp.Syncs+maxAdded+1)}
		for n := sp.Syncs + 1; n < len(d.syncs); n++ {
			d.syncs[n] = absent
		}
		return d.draw(t)
	})
}

// absent marks a sync that does not exist at the drawing's clock.
const absent = time.Duration(-1)

// drawing is the generator's model of the world at its clock.
type drawing struct {
	sp     Space
	steps  []sim.Step
	now    time.Duration
	agents int             // agents so far, counting joins
	syncs  []time.Duration // by number: when the sync was added, or absent
}

// healWeight is how many times a heal stands in the list an action is
// drawn from; a fault stands there its registry weight's times (sim's
// Failpoint.Weight), and the other actions once.
const healWeight = 2

// weight is how many times the action named name stands in the list.
func weight(name string) int {
	if fp, ok := sim.Lookup(sim.Fault(name)); ok {
		return fp.Weight()
	}
	if name == "heal" {
		return healWeight
	}
	return 1
}

// action is one thing the state machine can do next.
type action struct {
	name    string
	enabled bool
	do      func(t *rapid.T)
}

func (d *drawing) draw(t *rapid.T) *Scenario {
	// Waits and heals change the world but add no step; the horizon and
	// the open faults bound them, so the loop ends.
	counts := make([]int, d.sp.Steps)
	for i := range counts {
		counts[i] = i + 1
	}
	n := uniform(t, "steps", counts)
	for len(d.steps) < n {
		if d.now < drawHorizon {
			d.now += uniform(t, "wait", drawWaits).Std()
		}
		var names []string
		byName := map[string]func(*rapid.T){}
		for _, a := range d.actions() {
			if a.enabled {
				for range weight(a.name) {
					names = append(names, a.name)
				}
				byName[a.name] = a.do
			}
		}
		byName[uniform(t, "action", names)](t)
	}
	expect := slices.Clone(model.Properties)
	if slices.ContainsFunc(d.steps, func(s sim.Step) bool { return s.Fault == sim.Pause }) {
		// A frozen worker still believes it owns its syncs after its lease
		// is gone, and cannot stop when its sync is removed: no agent can
		// make a frozen process stop, so P1 and P4 cannot be promised;
		// fencing keeps its effects out (see owner-paused-past-ttl).
		expect = slices.DeleteFunc(expect, func(p model.Property) bool {
			return p == model.ExclusiveWork || p == model.StopMeansStop
		})
	}
	sc := &Scenario{
		Version:     Version,
		Name:        "explore",
		Description: fmt.Sprintf("drawn by exploration: %d steps", len(d.steps)),
		Expect:      expect,
		Setup: sim.Setup{
			Members:      d.sp.Members,
			Agents:       d.sp.Agents,
			Syncs:        d.sp.Syncs,
			LeaseTTL:     dur(drawLeaseTTL),
			SafetyMargin: dur(drawMargin),
			Quiet:        dur(drawQuiet),
			Seed:         rapid.Int64Range(0, 1<<31).Draw(t, "seed"),
		},
		Steps: d.steps,
	}
	sc.AllowQuorumLoss = sim.QuorumLost(sc.Members, sc.Steps) != ""
	return sc
}

// actions lists every action with whether the world allows it now, in a
// fixed order (sorted by name).
func (d *drawing) actions() []action {
	agentOut := d.agentsOut() < d.agents-1 // one more agent may go out
	memberOut := d.membersOut()
	mayBeOut := (d.sp.Members - 1) / 2 // members out of the quorum at once
	if d.sp.AllowQuorumLoss {
		mayBeOut = d.sp.Members - 1
	}
	joins := d.agents - d.sp.Agents
	present := d.present(false)
	acts := []action{
		{"add-sync", slices.Contains(d.syncs[1:], absent), func(t *rapid.T) {
			var missing []int
			for n := 1; n < len(d.syncs); n++ {
				if d.syncs[n] == absent {
					missing = append(missing, n)
				}
			}
			n := uniform(t, "sync", missing)
			d.syncs[n] = d.now
			d.add(sim.Step{Fault: sim.AddSync, Target: sim.Target(sim.SyncName(n))})
		}},
		{"change-sync", true, func(t *rapid.T) {
			d.add(sim.Step{Fault: sim.ChangeSync, Target: d.drawSync(t, present)})
		}},
		{"compact", true, func(*rapid.T) { d.add(sim.Step{Fault: sim.Compact}) }},
		{"crash", agentOut, func(t *rapid.T) { d.agentFault(t, sim.Crash) }},
		{"delay", true, func(t *rapid.T) {
			s := sim.Step{Fault: sim.Delay, Target: d.drawAgent(t), For: d.drawFor(t)}
			s.Latency = uniform(t, "latency", drawLatencies)
			if uniform(t, "jitter", []bool{false, true}) {
				s.Jitter = s.Latency / 2
			}
			d.add(s)
		}},
		{"disconnect", true, func(t *rapid.T) { d.add(sim.Step{Fault: sim.Disconnect, Target: d.drawAgent(t)}) }},
		{"heal", len(d.healable()) > 0, func(t *rapid.T) {
			i := uniform(t, "heal", d.healable())
			d.steps[i].For = dur(d.now - d.steps[i].At.Std())
		}},
		{"isolate", agentOut, func(t *rapid.T) {
			s := sim.Step{Fault: sim.Isolate, Target: d.drawAgent(t), For: d.drawFor(t)}
			if d.sp.Members > 1 && uniform(t, "from one member", []bool{false, false, false, true}) {
				m := uniform(t, "member", d.memberNames())
				s.Members = []sim.Target{m}
			}
			d.add(s)
		}},
		{"join", joins < maxJoins, func(*rapid.T) {
			d.agents++
			d.add(sim.Step{Fault: sim.Join})
		}},
		{"member-crash", memberOut < mayBeOut && !d.splitOpen(), func(t *rapid.T) { d.memberFault(t, sim.MemberCrash) }},
		{"member-isolate", memberOut < mayBeOut && !d.splitOpen(), func(t *rapid.T) { d.memberFault(t, sim.MemberIsolate) }},
		{"member-pause", memberOut < mayBeOut && !d.splitOpen(), func(t *rapid.T) { d.memberFault(t, sim.MemberPause) }},
		{"pause", agentOut, func(t *rapid.T) { d.agentFault(t, sim.Pause) }},
		{"stall", agentOut, func(t *rapid.T) {
			s := sim.Step{Fault: sim.Stall, Target: d.drawAgent(t), For: d.drawFor(t)}
			// The writes an agent makes all the time: a stall on a
			// registration or a campaign would seldom begin.
			s.On = uniform(t, "on", []string{"", layout.Assign, layout.Claims, layout.Checkpoints})
			s.Optional = s.On != "" // a drawn stall's write may never come, like a vacant role
			d.add(s)
		}},
		{"remove-sync", len(present) > 1, func(t *rapid.T) {
			n := uniform(t, "sync", present)
			d.syncs[n] = absent
			d.add(sim.Step{Fault: sim.RemoveSync, Target: sim.Target(sim.SyncName(n))})
		}},
		{"split", d.sp.Members > 2 && memberOut == 0, func(t *rapid.T) { d.memberFault(t, sim.Split) }},
		{"stop", agentOut, func(t *rapid.T) { d.agentFault(t, sim.Stop) }},
	}
	return acts
}

func (d *drawing) add(s sim.Step) {
	s.At = dur(d.now)
	d.steps = append(d.steps, s)
}

func (d *drawing) agentFault(t *rapid.T, f sim.Fault) {
	d.add(sim.Step{Fault: f, Target: d.drawAgent(t), For: d.drawFor(t)})
}

func (d *drawing) memberFault(t *rapid.T, f sim.Fault) {
	target := uniform(t, "member", []sim.Target{sim.AnyMember, sim.EtcdFollower, sim.EtcdLeader})
	d.add(sim.Step{Fault: f, Target: target, For: d.drawFor(t)})
}

func (d *drawing) drawFor(t *rapid.T) sim.Duration {
	return uniform(t, "for", drawFors)
}

// drawAgent draws an agent by role: the owner of a sync that has had time
// to get one, the leader, or any agent. Roles rather than names, so the
// fault lands on whoever holds the role when it runs.
func (d *drawing) drawAgent(t *rapid.T) sim.Target {
	targets := []sim.Target{sim.AnyAgent, sim.LeaderAgent}
	if d.sp.NoLeader {
		targets = targets[:1]
	}
	for _, n := range d.present(true) {
		targets = append(targets, sim.Target(sim.OwnerOf+" "+sim.SyncName(n)))
	}
	return uniform(t, "agent", targets)
}

func (d *drawing) drawSync(t *rapid.T, present []int) sim.Target {
	return sim.Target(sim.SyncName(uniform(t, "sync", present)))
}

// present lists the syncs that exist now; owned limits it to those that
// have existed long enough to have an owner.
func (d *drawing) present(owned bool) []int {
	var out []int
	for n := 1; n < len(d.syncs); n++ {
		added := d.syncs[n]
		if added != absent && (!owned || added == 0 || d.now-added >= drawLeaseTTL) {
			out = append(out, n)
		}
	}
	return out
}

// active reports whether step s is still in force at the drawing's clock.
func (d *drawing) active(s sim.Step) bool {
	return s.For == openEnded && s.At.Std() <= d.now || s.At.Std()+s.For.Std() > d.now
}

// agentsOut is how many agents the faults in force keep out of the fleet.
func (d *drawing) agentsOut() int {
	out := 0
	for _, s := range d.steps {
		if fp, _ := sim.Lookup(s.Fault); fp.AgentOut() && d.active(s) {
			out++
		}
	}
	return out
}

// membersOut is how many members the faults in force keep out of the quorum.
func (d *drawing) membersOut() int {
	out := 0
	for _, s := range d.steps {
		if d.active(s) {
			out += s.MembersDown(d.sp.Members)
		}
	}
	return out
}

func (d *drawing) splitOpen() bool {
	return slices.ContainsFunc(d.steps, func(s sim.Step) bool { return s.Fault == sim.Split && d.active(s) })
}

// healable lists the open-ended faults that began before now.
func (d *drawing) healable() []int {
	var out []int
	for i, s := range d.steps {
		if fp, _ := sim.Lookup(s.Fault); s.For == openEnded && fp.Heal() != "" && s.At.Std() < d.now {
			out = append(out, i)
		}
	}
	return out
}

func (d *drawing) memberNames() []sim.Target {
	var out []sim.Target
	for i := range d.sp.Members {
		out = append(out, sim.Target(sim.MemberName(i)))
	}
	return out
}

// uniform draws one of choices, each equally likely. rapid.SampledFrom
// favours the first few, and exploration wants every action and duration
// as often as any other; a permutation's first element is drawn without
// that bias and still shrinks towards the first choice.
func uniform[E any](t *rapid.T, label string, choices []E) E {
	return rapid.Permutation(choices).Draw(t, label)[0]
}
