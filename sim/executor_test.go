package sim

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/syncsim/syncsim/model"
)

// calls is the log of what the executor asked of the fake world, in order.
type calls struct {
	mu  sync.Mutex
	log []string
}

func (c *calls) add(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, fmt.Sprintf(format, args...))
}

func (c *calls) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log)
}

// fakeNet is an agent's network that only logs.
type fakeNet struct {
	id    string
	calls *calls
	armed chan func() // the armed stall's start, for the test to call
}

func (n *fakeNet) isolate(members []int) { n.calls.add("%s isolate %v", n.id, members) }
func (n *fakeNet) reconnect()            { n.calls.add("%s reconnect", n.id) }
func (n *fakeNet) delay(latency, jitter time.Duration) {
	n.calls.add("%s delay %v±%v", n.id, latency, jitter)
}
func (n *fakeNet) undelay() { n.calls.add("%s undelay", n.id) }
func (n *fakeNet) reset()   { n.calls.add("%s reset", n.id) }
func (n *fakeNet) hold()    { n.calls.add("%s hold", n.id) }
func (n *fakeNet) release() { n.calls.add("%s release", n.id) }
func (n *fakeNet) arm(dir string, began func()) {
	n.calls.add("%s arm %s", n.id, dir)
	n.armed <- began
}
func (n *fakeNet) endpoints() []string                            { return nil }
func (n *fakeNet) dial(context.Context, string) (net.Conn, error) { return nil, fmt.Errorf("fake") }
func (n *fakeNet) fire([]string)                                  {}
func (n *fakeNet) isHeld() bool                                   { return false }
func (n *fakeNet) close()                                         {}

// fakeFleet is agents that start, stop and crash at once. An agent in
// zombies is listed as running but has no process: it went between the
// step's resolution and its injection.
type fakeFleet struct {
	calls   *calls
	mu      sync.Mutex
	up      map[string]*fakeNet
	zombies []string
	joined  int
}

func (f *fakeFleet) running() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := slices.Clone(f.zombies)
	for id := range f.up {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (f *fakeFleet) process(id string) (process, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.up[id]
	if !ok {
		return nil, false
	}
	return fakeProc{f, n}, true
}

func (f *fakeFleet) start(id string) error {
	f.calls.add("%s start", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up[id] = &fakeNet{id: id, calls: f.calls, armed: make(chan func(), 1)}
	return nil
}

func (f *fakeFleet) join() error {
	f.mu.Lock()
	f.joined++
	id := AgentName(len(f.up) + f.joined)
	f.mu.Unlock()
	return f.start(id)
}

type fakeProc struct {
	f *fakeFleet
	n *fakeNet
}

func (p fakeProc) network() network { return p.n }
func (p fakeProc) crash()           { p.end("crash") }
func (p fakeProc) stop()            { p.end("stop") }
func (p fakeProc) freeze()          { p.f.calls.add("%s freeze", p.n.id) }
func (p fakeProc) thaw()            { p.f.calls.add("%s thaw", p.n.id) }

func (p fakeProc) end(how string) {
	p.f.calls.add("%s %s", p.n.id, how)
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	delete(p.f.up, p.n.id)
}

// fakeMembers is a cluster whose leader is fixed unless it is down.
type fakeMembers struct {
	calls    *calls
	n        int
	lead     int
	restarts time.Duration // how long a restart takes
}

func (m *fakeMembers) size() int { return m.n }
func (m *fakeMembers) leader(down map[int]bool) (int, bool) {
	return m.lead, !down[m.lead]
}
func (m *fakeMembers) stop(i int) error { m.calls.add("stop m%d", i); return nil }
func (m *fakeMembers) restart(i int) error {
	m.calls.add("restart m%d", i)
	time.Sleep(m.restarts)
	return nil
}
func (m *fakeMembers) pause(i int)  { m.calls.add("pause m%d", i) }
func (m *fakeMembers) resume(i int) { m.calls.add("resume m%d", i) }
func (m *fakeMembers) partition(group []int) error {
	m.calls.add("partition %s", names(group))
	return nil
}
func (m *fakeMembers) rejoin(group []int) error { m.calls.add("rejoin %s", names(group)); return nil }

type fakeOperator struct{ calls *calls }

func (o fakeOperator) addSync(name, definition string) error {
	o.calls.add("add %s %s", name, definition)
	return nil
}
func (o fakeOperator) removeSync(name string) error { o.calls.add("remove %s", name); return nil }
func (o fakeOperator) compact() error               { o.calls.add("compact"); return nil }

// fakeWorld is an executor over agents agent-1..agent-N and a cluster of
// members members led by m0, with roles waiting at most 100 ms.
func fakeWorld(agents, members int, seed int64) (*executor, *calls) {
	c := &calls{}
	f := &fakeFleet{calls: c, up: map[string]*fakeNet{}}
	for i := 1; i <= agents; i++ {
		f.up[AgentName(i)] = &fakeNet{id: AgentName(i), calls: c, armed: make(chan func(), 1)}
	}
	x := newExecutor(Setup{Seed: seed}, newRecorder(), f, &fakeMembers{calls: c, n: members}, fakeOperator{c})
	x.roleWait = 100 * time.Millisecond
	return x, c
}

func ms(n int) Duration { return Duration(time.Duration(n) * time.Millisecond) }

// harness lists the executor's own events: fault starts and ends,
// skipped and not-applied steps, as "kind fault target".
func harness(x *executor) []string {
	var out []string
	for _, e := range x.rec.history().Events {
		switch e.Kind {
		case model.FaultStart, model.FaultEnd, model.Skipped, model.NotApplied, model.SyncAdded, model.SyncRemoved:
			out = append(out, strings.Join(strings.Fields(fmt.Sprintf("%s %s %s %s", e.Kind, e.Fault, e.Target, e.Sync)), " "))
		}
	}
	return out
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// TestPlayInjectsAndHeals: each step reaches the right fake with its
// resolved target, a fault with "for" heals at its end, and the open ones
// heal newest first when the timeline ends.
func TestPlayInjectsAndHeals(t *testing.T) {
	x, c := fakeWorld(3, 3, 1)
	x.rec.record(model.Event{Kind: model.WorkStart, Agent: "agent-2", Sync: "sync-1", Worker: 1})
	x.play(context.Background(), []Step{
		{At: 0, Fault: Isolate, Target: "owner of sync-1", Members: []Target{"m1"}, For: ms(300)},
		{At: ms(100), Fault: MemberCrash, Target: "etcd leader"},
		{At: ms(150), Fault: Delay, Target: "agent-3", Latency: ms(100), Jitter: ms(10)},
		{At: ms(200), Fault: Split, Target: "m2", For: ms(50)},
		{At: ms(400), Fault: RemoveSync, Target: "sync-1"},
	})
	equal(t, "calls before the timeline ends", c.list(), []string{
		"agent-2 isolate [1]", "stop m0", "agent-3 delay 100ms±10ms", "partition m2", "rejoin m2", "agent-2 reconnect", "remove sync-1",
	})
	x.healAll()
	equal(t, "calls after healAll", c.list()[7:], []string{"agent-3 undelay", "restart m0"})
	equal(t, "recorded", harness(x), []string{
		"fault-start isolate agent-2", "fault-start member-crash m0", "fault-start delay agent-3", "fault-start split m2",
		"fault-end split m2", "fault-end isolate agent-2", "sync-removed sync-1", "fault-start remove-sync sync-1",
		"fault-end remove-sync sync-1", "fault-end delay agent-3", "fault-end member-crash m0",
	})
}

// TestSplitTakesAMinority: a split of a five-member cluster cuts the target
// and the lowest-numbered other member off, and records both.
func TestSplitTakesAMinority(t *testing.T) {
	x, c := fakeWorld(1, 5, 1)
	x.play(context.Background(), []Step{{Fault: Split, Target: "m3", For: ms(10)}})
	equal(t, "calls", c.list(), []string{"partition m3+m0", "rejoin m3+m0"})
	equal(t, "recorded", harness(x), []string{"fault-start split m3+m0", "fault-end split m3+m0"})
}

// TestHealsComeFirst: a fault that starts as another on the same member
// ends runs after its heal, as the validator's quorum rule counts them.
func TestHealsComeFirst(t *testing.T) {
	x, c := fakeWorld(1, 3, 1)
	x.members.(*fakeMembers).restarts = 50 * time.Millisecond
	x.play(context.Background(), []Step{
		{At: 0, Fault: MemberCrash, Target: "m1", For: ms(50)},
		{At: ms(50), Fault: MemberPause, Target: "m1", For: ms(10)},
	})
	equal(t, "calls", c.list(), []string{"stop m1", "restart m1", "pause m1", "resume m1"})
}

// TestRolesResolveDeterministically: "any agent" and "etcd follower" pick
// by seed and step alone, among running agents and members up and not
// leading.
func TestRolesResolveDeterministically(t *testing.T) {
	steps := []Step{
		{Fault: MemberCrash, Target: "m2"},
		{Fault: Disconnect, Target: "any agent"},
		{Fault: MemberPause, Target: "etcd follower"},
	}
	var first []string
	for range 3 {
		x, c := fakeWorld(4, 5, 7)
		x.play(context.Background(), steps)
		x.healAll()
		if first == nil {
			first = c.list()
		}
		equal(t, "a replay's calls", c.list(), first)
	}
	agent, _ := Choose(7, 1, []string{"agent-1", "agent-2", "agent-3", "agent-4"})
	follower, _ := Choose(7, 2, []int{1, 3, 4}) // m0 leads, m2 is down
	equal(t, "calls", first[:3], []string{"stop m2", agent + " reset", fmt.Sprintf("pause m%d", follower)})
}

// TestMemberAlreadyDownRefused: a step on a member a fault already holds
// down is skipped, and nothing is done to the member.
func TestMemberAlreadyDownRefused(t *testing.T) {
	x, c := fakeWorld(1, 3, 1)
	x.play(context.Background(), []Step{
		{At: 0, Fault: MemberCrash, Target: "m1"},
		{At: ms(10), Fault: MemberIsolate, Target: "m1", For: ms(10)},
	})
	equal(t, "calls", c.list(), []string{"stop m1"})
	h := harness(x)
	if len(h) != 2 || h[1] != "skipped member-isolate m1" {
		t.Fatalf("want the second step skipped, got %q", h)
	}
}

// TestVacantRoleNotApplied: a role nobody fills through the wait is not
// applied (the run stays decided); a literal target that cannot be hit is
// skipped (the run did not go as written). Neither touches anything.
func TestVacantRoleNotApplied(t *testing.T) {
	x, c := fakeWorld(2, 3, 1)
	delete(x.agents.(*fakeFleet).up, "agent-2")
	x.members.(*fakeMembers).lead = 1
	x.play(context.Background(), []Step{
		{Fault: MemberCrash, Target: "m1"},
		{Fault: Crash, Target: "owner of sync-1", For: ms(10)},
		{Fault: Stop, Target: "leader"},
		{Fault: MemberPause, Target: "etcd leader"},
		{Fault: Isolate, Target: "agent-2"},
		{Fault: MemberPause, Target: "m1"},
	})
	equal(t, "recorded", harness(x), []string{"fault-start member-crash m1",
		"not-applied crash owner of sync-1", "not-applied stop leader", "not-applied member-pause etcd leader",
		"skipped isolate agent-2", "skipped member-pause m1"})
	equal(t, "calls", c.list(), []string{"stop m1"})
}

// TestVacantOnlyAtInjection: an agent the role resolved to, gone by the
// time the fault reaches it, is not applied either.
func TestVacantOnlyAtInjection(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		x, _ := fakeWorld(0, 3, seed)
		x.agents.(*fakeFleet).zombies = []string{"agent-1"}
		x.play(context.Background(), []Step{{Fault: Crash, Target: "any agent"}})
		equal(t, "recorded", harness(x), []string{"not-applied crash agent-1"})
	}
}

// TestStallOnAWrite: a stall armed on a write begins when the write comes;
// one whose write never comes held nothing: the run did not go as written
// (skipped), or, when the step is optional, it was not applied.
func TestStallOnAWrite(t *testing.T) {
	x, c := fakeWorld(2, 1, 1)
	fleet := x.agents.(*fakeFleet)
	go func() {
		began := <-fleet.up["agent-1"].armed
		time.Sleep(50 * time.Millisecond)
		began()
	}()
	x.play(context.Background(), []Step{
		{Fault: Stall, Target: "agent-1", On: "assign", For: ms(200)},
		{Fault: Stall, Target: "agent-2", On: "records/leases", For: ms(250)},
	})
	equal(t, "calls", c.list(), []string{"agent-1 arm assign", "agent-2 arm records/leases", "agent-1 release", "agent-2 release"})
	var starts []string
	for _, e := range x.rec.history().Events {
		if e.Kind == model.FaultStart {
			starts = append(starts, e.Target+": "+e.Detail)
		}
	}
	equal(t, "starts", starts, []string{"agent-1: step 1: stall agent-1 at its write under assign/ for 200ms"})
	never := "step 2: stall agent-2 at its write under records/leases/ for 250ms: never began, agent-2 sent no write under records/leases/ before its end"
	equal(t, "never began", neverBegan(x), []string{"skipped " + never})

	x, _ = fakeWorld(2, 1, 1)
	x.play(context.Background(), []Step{{Fault: Stall, Target: "agent-2", On: "records/leases", For: ms(250), Optional: true}})
	equal(t, "never began, optional", neverBegan(x), []string{"not-applied " + strings.Replace(never, "step 2", "step 1", 1)})
}

// neverBegan lists the events recording a step that never began, as "kind detail".
func neverBegan(x *executor) []string {
	var out []string
	for _, e := range x.rec.history().Events {
		if strings.Contains(e.Detail, "never began") {
			out = append(out, fmt.Sprintf("%s %s", e.Kind, e.Detail))
		}
	}
	return out
}

// TestHealsAtOneInstantInStepOrder: faults that end at one instant heal in
// step order, run after run, on the simulated clock, which fires timers
// due at one instant in a random order.
func TestHealsAtOneInstantInStepOrder(t *testing.T) {
	for range 20 {
		synctest.Test(t, func(t *testing.T) {
			x, c := fakeWorld(3, 3, 1)
			x.play(context.Background(), []Step{
				{At: 0, Fault: Isolate, Target: "agent-1", For: ms(300)},
				{At: ms(100), Fault: Isolate, Target: "agent-2", For: ms(200)},
				{At: ms(200), Fault: Isolate, Target: "agent-3", For: ms(100)},
			})
			equal(t, "calls", c.list(), []string{
				"agent-1 isolate []", "agent-2 isolate []", "agent-3 isolate []",
				"agent-1 reconnect", "agent-2 reconnect", "agent-3 reconnect",
			})
		})
	}
}
