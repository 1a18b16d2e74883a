package sim

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Fault names a kind of fault. Each is a Failpoint in the registry; the
// families live in faults_agent.go, faults_member.go and faults_operator.go.
type Fault string

// TargetKind says what a fault acts on.
type TargetKind int

const (
	NoTarget TargetKind = iota
	AgentTarget
	MemberTarget
	SyncTarget
)

func (k TargetKind) String() string {
	return [...]string{"none", "agent", "member", "sync"}[k]
}

// Failpoint is one fault: what it acts on, what a step of it may say, how
// it is injected and healed, and how often exploration draws it. The
// executor, the scenario validator, the generator and the README's fault
// table all read the registry of them.
type Failpoint interface {
	Name() Fault
	Target() TargetKind
	Doc() string
	// Heal says what healing does; "" for a fault that is over at once.
	Heal() string
	// Weight is how often exploration draws the fault, relative to the
	// others (0: never).
	Weight() int
	// Params are the optional step fields the fault takes ("members",
	// "latency", ...); any other is refused.
	Params() []string
	// Validate lists what is wrong with the step's parameters in a world
	// of setup, in the scenario file's own field names.
	Validate(s Step, setup Setup) []string
	// MembersDown is how many of members etcd members the fault takes out
	// of the quorum.
	MembersDown(members int) int
	// AgentOut reports whether the fault takes its agent out of the fleet
	// while it lasts (cut off, frozen or gone).
	AgentOut() bool
	// Inject applies step number step, s, to t and returns how to heal it (nil when
	// it is over at once). start is called when the fault begins, if that
	// is later than Inject returning (a stall "on" a write).
	Inject(x *executor, step int, s Step, t Resolved, start func()) (heal func(), err error)
}

// fault is a Failpoint assembled from its parts; the zero parts mean: no
// parameters, nothing to validate, nothing taken out.
type fault struct {
	name     Fault
	target   TargetKind
	doc      string
	heal     string
	weight   int
	params   []string
	validate func(s Step, setup Setup) []string
	down     func(members int) int
	out      bool
	inject   func(x *executor, step int, s Step, t Resolved, start func()) (func(), error)
}

func (f *fault) Name() Fault        { return f.name }
func (f *fault) Target() TargetKind { return f.target }
func (f *fault) Doc() string        { return f.doc }
func (f *fault) Heal() string       { return f.heal }
func (f *fault) Weight() int        { return f.weight }
func (f *fault) Params() []string   { return f.params }
func (f *fault) AgentOut() bool     { return f.out }

func (f *fault) Validate(s Step, setup Setup) []string {
	if f.validate == nil {
		return nil
	}
	return f.validate(s, setup)
}

func (f *fault) MembersDown(members int) int {
	if f.down == nil {
		return 0
	}
	return f.down(members)
}

func (f *fault) Inject(x *executor, step int, s Step, t Resolved, start func()) (func(), error) {
	return f.inject(x, step, s, t, start)
}

// registry holds every fault the executor knows, by name.
var registry = func() map[Fault]Failpoint {
	m := map[Fault]Failpoint{}
	for _, f := range slices.Concat(agentFaults, memberFaults, operatorFaults) {
		if _, dup := m[f.Name()]; dup {
			panic("sim: fault " + string(f.Name()) + " registered twice")
		}
		m[f.Name()] = f
	}
	return m
}()

// Lookup returns the fault named f.
func Lookup(f Fault) (Failpoint, bool) {
	fp, ok := registry[f]
	return fp, ok
}

// Registry lists every fault, sorted by name.
func Registry() []Failpoint {
	out := make([]Failpoint, 0, len(registry))
	for _, f := range registry {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Failpoint) int { return cmp.Compare(a.Name(), b.Name()) })
	return out
}

// params are the optional fields of a step, each with whether a step sets it.
var params = []struct {
	name string
	set  func(Step) bool
}{
	{"members", func(s Step) bool { return len(s.Members) > 0 }},
	{"latency", func(s Step) bool { return s.Latency != 0 }},
	{"jitter", func(s Step) bool { return s.Jitter != 0 }},
	{"on", func(s Step) bool { return s.On != "" }},
	{"definition", func(s Step) bool { return s.Definition != "" }},
}

// CheckStep lists what is wrong with step s of a fault fp in a world of
// setup, apart from whether its target exists: fields the fault does not
// take, a "for" on a fault that is over at once, and the fault's own rules.
func CheckStep(fp Failpoint, s Step, setup Setup) []string {
	var bad []string
	for _, p := range params {
		if p.set(s) && !slices.Contains(fp.Params(), p.name) {
			bad = append(bad, fmt.Sprintf("%q goes only with %s", p.name, takers(p.name)))
		}
	}
	if s.For > 0 && fp.Heal() == "" {
		bad = append(bad, fmt.Sprintf(`"for" has no meaning: %s is over at once`, fp.Name()))
	}
	return append(bad, fp.Validate(s, setup)...)
}

// takers names the faults that take parameter p: `"a"`, `"a" and "b"`.
func takers(p string) string {
	var names []string
	for _, f := range Registry() {
		if slices.Contains(f.Params(), p) {
			names = append(names, fmt.Sprintf("%q", f.Name()))
		}
	}
	return strings.Join(names, " and ")
}

// MembersDown is how many etcd members the step's fault takes out of the
// quorum.
func (s Step) MembersDown(members int) int {
	if fp, ok := Lookup(s.Fault); ok {
		return fp.MembersDown(members)
	}
	return 0
}

// MostMembersDown is the largest number of members a timeline takes out of
// the quorum at once, and when. A fault without "for" lasts until the
// timeline ends, after every step has started (the executor heals it last),
// so it overlaps every later fault and every other open one. At equal times
// heals come first, so a fault that starts as another ends does not overlap
// it (the executor heals them first too). A split counts its minority, so a
// split and another member fault add up as the members they take.
func MostMembersDown(members int, steps []Step) (int, time.Duration) {
	const timelineEnd = time.Duration(math.MaxInt64)
	type change struct {
		at    time.Duration
		delta int
	}
	var changes []change
	for _, s := range steps {
		if n := s.MembersDown(members); n > 0 {
			until := timelineEnd
			if s.For > 0 {
				until = s.At.Std() + s.For.Std()
			}
			changes = append(changes, change{s.At.Std(), n}, change{until, -n})
		}
	}
	slices.SortFunc(changes, func(a, b change) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.delta, b.delta))
	})
	most, now, at := 0, 0, time.Duration(0)
	for _, c := range changes {
		now += c.delta
		if now > most {
			most, at = now, c.at
		}
	}
	return most, at
}

// QuorumLost says, in the file's field names, whether the timeline takes a
// majority of members down at once; "" if it never does.
func QuorumLost(members int, steps []Step) string {
	down, at := MostMembersDown(members, steps)
	if down <= (members-1)/2 {
		return ""
	}
	return fmt.Sprintf(`%d of %d members are down at %v, a majority`, down, members, at)
}

// FaultTable is the README's table of faults, in markdown, from the registry.
func FaultTable() string {
	var b strings.Builder
	b.WriteString("| fault | target | what it does | healing |\n|---|---|---|---|\n")
	for _, f := range Registry() {
		heal := cmp.Or(f.Heal(), "over at once")
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name(), f.Target(), strings.ReplaceAll(f.Doc(), "|", `\|`), heal)
	}
	return b.String()
}
