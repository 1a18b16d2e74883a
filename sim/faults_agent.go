package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/syncsim/syncsim/agent/layout"
	"github.com/syncsim/syncsim/model"
)

// Faults on one agent. Their target is an agent: by name or by role.
const (
	Isolate    Fault = "isolate"
	Delay      Fault = "delay"
	Disconnect Fault = "disconnect"
	Crash      Fault = "crash"
	Stop       Fault = "stop"
	Pause      Fault = "pause"
	Stall      Fault = "stall"
)

// StallDirs are the reference layout's directories a stall may wait on
// ("on"); any other directory under the prefix does as well, for an agent
// of its own layout.
var StallDirs = []string{layout.Agents, layout.Leader, layout.Assign, layout.Claims, layout.Checkpoints}

// Cutting an agent off from etcd past its lease, while it keeps running,
// is the hazard a lease-based protocol exists to survive, so isolation is
// drawn most often, then the other faults that take an agent out.
var agentFaults = []Failpoint{
	&fault{name: Isolate, target: AgentTarget, weight: 6, out: true, params: []string{"members"},
		doc:      "cut the agent off from every member, or only from `\"members\": [\"m1\",\"m2\"]`",
		heal:     "reconnect",
		validate: validIsolate,
		inject: onNetwork(func(n network, s Step) (func(), error) {
			members, err := memberIndices(s.Members)
			if err != nil {
				return nil, err
			}
			n.isolate(members)
			return n.reconnect, nil
		})},
	&fault{name: Delay, target: AgentTarget, weight: 2, params: []string{"latency", "jitter"},
		doc:      "delay its traffic by `\"latency\"` ± `\"jitter\"` each way",
		heal:     "remove the delay",
		validate: validDelay,
		inject: onNetwork(func(n network, s Step) (func(), error) {
			n.delay(s.Latency.Std(), s.Jitter.Std())
			return n.undelay, nil
		})},
	&fault{name: Disconnect, target: AgentTarget, weight: 1,
		doc: "drop its connections at once; it reconnects by itself",
		inject: onNetwork(func(n network, _ Step) (func(), error) {
			n.reset()
			return nil, nil
		})},
	&fault{name: Crash, target: AgentTarget, weight: 2, out: true,
		doc:    "kill it: connections cut, then cancelled; no release, no revoke",
		heal:   "restart as a new incarnation",
		inject: onProcess(process.crash)},
	&fault{name: Stop, target: AgentTarget, weight: 1, out: true,
		doc:    "stop it gracefully",
		heal:   "restart as a new incarnation",
		inject: onProcess(process.stop)},
	&fault{name: Pause, target: AgentTarget, weight: 1, out: true,
		doc: "freeze its network and its workers after the step in flight (whose commit is held in the frozen network " +
			"and arrives late); the agent's own timers keep running, so it may fence itself meanwhile, and a worker it " +
			"stops then stops, making no effect. Drawn timelines with a pause expect only P2 and P3: a frozen worker " +
			"the agent does not stop resumes when the pause ends",
		heal:   "resume where they were",
		inject: injectPause},
	&fault{name: Stall, target: AgentTarget, weight: 1, out: true, params: []string{"on"},
		doc: "hold its traffic both ways, as a stalled network does; the agent runs on, and a request it gave up on " +
			"still arrives (its cancel cannot overtake it). With `\"on\": \"assign\"` (or `claims`, `checkpoints`, " +
			"`leader`, `agents`, or any directory of an agent's own layout, such as `records/leases`) the stall begins as " +
			"the agent sends its next write under that directory, so that write is the one held: a failpoint from outside " +
			"the agent. If no such write comes before its end, it held nothing and the run is undecided, unless the step " +
			"says `\"optional\": true` (then it is not applied)",
		heal:     "deliver what was held, late and in order",
		validate: validStall,
		inject:   injectStall},
}

func validIsolate(s Step, setup Setup) []string {
	var bad []string
	for _, m := range s.Members {
		if ref, err := ParseTarget(MemberTarget, m); err != nil || ref.Role != Literal || ref.N >= setup.Members {
			bad = append(bad, fmt.Sprintf(`"members" entry %q must name a member m0 to m%d`, m, setup.Members-1))
		}
	}
	return bad
}

// validDelay bounds "latency" by the lease TTL: a longer delay already
// outlives every lease in one request, so it tests nothing a TTL's does not.
func validDelay(s Step, setup Setup) []string {
	switch {
	case s.Latency == 0:
		return []string{`"delay" needs "latency", such as "200ms"`}
	case s.Latency > setup.LeaseTTL:
		return []string{fmt.Sprintf(`"latency" %v exceeds "lease_ttl" %v`, s.Latency, setup.LeaseTTL)}
	case s.Jitter > s.Latency:
		return []string{fmt.Sprintf(`"jitter" %v exceeds "latency" %v`, s.Jitter, s.Latency)}
	}
	return nil
}

// validStall checks "on": a directory relative to the prefix, such as
// "claims" or "records/leases".
func validStall(s Step, _ Setup) []string {
	if s.On == "" {
		return nil
	}
	if strings.HasPrefix(s.On, "/") || strings.HasSuffix(s.On, "/") || slices.Contains(strings.Split(s.On, "/"), "") || slices.Contains(strings.Split(s.On, "/"), "..") {
		return []string{fmt.Sprintf(`"on" %q is not a directory under the key prefix: write it relative to the prefix, without leading or trailing "/" (the reference layout's are %s)`, s.On, strings.Join(StallDirs, ", "))}
	}
	return nil
}

// memberIndices reads member names ("m0") as indices.
func memberIndices(ts []Target) ([]int, error) {
	var out []int
	for _, t := range ts {
		ref, err := ParseTarget(MemberTarget, t)
		if err != nil || ref.Role != Literal {
			return nil, fmt.Errorf("\"members\" takes member names such as \"m0\", got %q", t)
		}
		out = append(out, ref.N)
	}
	return out, nil
}

// process is the running process of the resolved agent; an agent gone by
// now is a vacancy.
func (x *executor) process(id string) (process, error) {
	p, ok := x.agents.process(id)
	if !ok {
		return nil, vacancy(id + " is not running")
	}
	return p, nil
}

// onNetwork injects a fault on the agent's network.
func onNetwork(do func(n network, s Step) (func(), error)) func(*executor, int, Step, Resolved, func()) (func(), error) {
	return func(x *executor, _ int, s Step, t Resolved, _ func()) (func(), error) {
		p, err := x.process(t.Agent)
		if err != nil {
			return nil, err
		}
		return do(p.network(), s)
	}
}

// onProcess ends the agent's process with end; the heal starts a new one.
func onProcess(end func(process)) func(*executor, int, Step, Resolved, func()) (func(), error) {
	return func(x *executor, _ int, _ Step, t Resolved, _ func()) (func(), error) {
		p, err := x.process(t.Agent)
		if err != nil {
			return nil, err
		}
		end(p)
		return func() {
			if err := x.agents.start(t.Agent); err != nil {
				x.rec.record(model.Event{Kind: model.Skipped, Agent: t.Agent, Detail: "restart: " + err.Error()})
			}
		}, nil
	}
}

func injectPause(x *executor, _ int, _ Step, t Resolved, _ func()) (func(), error) {
	p, err := x.process(t.Agent)
	if err != nil {
		return nil, err
	}
	p.freeze()
	p.network().hold()
	return func() {
		p.network().release()
		p.thaw()
	}, nil
}

// injectStall holds the agent's traffic now, or with "on" from its next
// write under that directory; start is called as that write is sent.
func injectStall(x *executor, _ int, s Step, t Resolved, start func()) (func(), error) {
	p, err := x.process(t.Agent)
	if err != nil {
		return nil, err
	}
	n := p.network()
	if s.On != "" {
		n.arm(s.On, start)
	} else {
		n.hold()
	}
	return n.release, nil // release also disarms a stall that never began
}
