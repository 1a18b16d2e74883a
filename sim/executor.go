package sim

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/syncsim/syncsim/model"
)

// network is one agent's link to etcd: what faults do to it, and what the
// agent's client and tap use. The proxies of link.go are one; an in-memory
// network slots in here.
type network interface {
	isolate(members []int)               // drop traffic with these members (all when none), both ways
	reconnect()                          // end an isolation; the agent reconnects
	delay(latency, jitter time.Duration) // slow both directions
	undelay()
	reset()                       // drop the agent's connections; it reconnects
	hold()                        // hold traffic both ways until release
	release()                     // deliver what was held, late and in order; disarm
	arm(dir string, began func()) // hold from the agent's next write under dir

	endpoints() []string
	dial(ctx context.Context, addr string) (net.Conn, error)
	fire(keys []string) // begin an armed hold if keys are under its directory
	isHeld() bool
	close()
}

// fleet is the agent processes, as faults see them.
type fleet interface {
	running() []string                 // the agents with a running process
	process(id string) (process, bool) // id's running process
	start(id string) error             // a new process of id: a restart
	join() error                       // a new agent, named after the last
}

// process is one running agent process.
type process interface {
	network() network
	crash()  // kill it abruptly
	stop()   // stop it gracefully
	freeze() // hold its workers at their next step
	thaw()
}

// members is the etcd cluster, as faults see it.
type members interface {
	size() int
	leader(down map[int]bool) (int, bool) // the member that leads, ignoring those down
	stop(i int) error
	restart(i int) error
	pause(i int)
	resume(i int)
	partition(group []int) error // cut group off from the others
	rejoin(group []int) error
}

// operator is what an operator does to the syncs and the store.
type operator interface {
	addSync(name, definition string) error
	removeSync(name string) error
	compact() error
}

// executor plays a timeline of faults on a world.
type executor struct {
	seed int64
	// roleWait bounds the wait for a role to be filled: an owner may be
	// mid-handover, an election under way, and after a crash both wait
	// for a lease to expire.
	roleWait time.Duration
	rec      *recorder
	agents   fleet
	members  members
	operator operator

	mu      sync.Mutex
	down    map[int]Fault // members out of the quorum, and why
	pending []func()      // heals of the faults left open until the timeline ends
}

func newExecutor(setup Setup, rec *recorder, agents fleet, m members, op operator) *executor {
	return &executor{seed: setup.Seed, roleWait: 2*setup.LeaseTTL.Std() + 2*time.Second, rec: rec,
		agents: agents, members: m, operator: op, down: map[int]Fault{}}
}

// scheduled is a heal due at a time, done once it ran.
type scheduled struct {
	due  time.Duration
	done chan struct{}
}

// play runs the steps at their offsets. A fault with "for" is healed after
// it; the others wait for healAll. A step waits for the heals due at or
// before its time, so a fault that starts as another ends never overlaps it
// (the validator's quorum rule counts them that way).
func (x *executor) play(ctx context.Context, steps []Step) {
	order := make([]int, len(steps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(steps[a].At, steps[b].At) })
	t0 := time.Now()
	var heals []scheduled
	for _, i := range order {
		s := steps[i]
		sleepCtx(ctx, time.Until(t0.Add(s.At.Std())))
		for _, h := range heals {
			if h.due <= s.At.Std() {
				<-h.done
			}
		}
		if ctx.Err() != nil {
			break
		}
		heal := x.run(ctx, t0, i, s)
		if heal == nil {
			continue
		}
		if s.For == 0 {
			x.mu.Lock()
			x.pending = append(x.pending, heal)
			x.mu.Unlock()
			continue
		}
		// Healed on schedule, however long the fault took to inject: a
		// late start shortens the fault, it never stretches it into the
		// next one's window (which could take a quorum down).
		h := scheduled{due: s.At.Std() + s.For.Std(), done: make(chan struct{})}
		// Heals due at one instant run in step order: left to their
		// timers, which the simulated clock fires in a random order at one
		// instant, they would race, and a seed's run diverge from itself.
		var first []scheduled
		for _, o := range heals {
			if o.due <= h.due {
				first = append(first, o)
			}
		}
		heals = append(heals, h)
		go func() {
			defer close(h.done)
			sleepCtx(ctx, time.Until(t0.Add(h.due)))
			for _, o := range first {
				<-o.done
			}
			heal()
		}()
	}
	for _, h := range heals {
		<-h.done
	}
}

// run resolves and injects step i, recording what happened, and returns
// its heal, which records the end; nil when there is nothing to heal.
func (x *executor) run(ctx context.Context, t0 time.Time, i int, s Step) (heal func()) {
	fp, known := Lookup(s.Fault)
	if !known {
		x.skip(i, s, model.Skipped, "", fmt.Errorf("unknown fault %q", s.Fault))
		return nil
	}
	t, err := x.resolve(ctx, i, fp, s)
	if err != nil {
		x.skip(i, s, notApplied(s, err), "", err)
		return nil
	}
	target := t.String()
	var started atomic.Bool
	start := func() {
		detail := describe(i, s)
		if late := time.Since(t0.Add(s.At.Std())); late > 100*time.Millisecond && s.On == "" {
			detail += fmt.Sprintf(" (in force %v after its time)", late.Round(time.Millisecond))
		}
		x.rec.record(model.Event{Kind: model.FaultStart, Fault: string(s.Fault), Target: target, Detail: detail})
		started.Store(true)
	}
	undo, err := fp.Inject(x, i, s, t, start)
	if err != nil {
		x.skip(i, s, notApplied(s, err), target, err)
		return nil
	}
	if s.On == "" {
		start()
	}
	end := func() { x.rec.record(model.Event{Kind: model.FaultEnd, Fault: string(s.Fault), Target: target}) }
	if undo == nil {
		end()
		return nil
	}
	return func() {
		undo()
		if !started.Load() {
			// The write it waited for never came: the fault held
			// nothing, so the run proves nothing of it unless the
			// scenario said it may not come.
			kind := model.Skipped
			if s.Optional {
				kind = model.NotApplied
			}
			x.rec.record(model.Event{Kind: kind, Fault: string(s.Fault), Target: target,
				Detail: describe(i, s) + fmt.Sprintf(": never began, %s sent no write under %s/ before its end", target, s.On)})
			return
		}
		end()
	}
}

// notApplied decides how a step that could not act is recorded. A role
// ("owner of sync-2", "etcd leader", "any agent") that stayed vacant
// through the wait, or whose agent was gone by the time it was injected,
// is not applied: the step acted on nothing, and skipping a fault cannot
// hide a violation (P1, P2 and P4 judge what did happen, and a role left
// vacant because the agent failed to fill it shows in P3 at the end), so
// the run stays decided. A literal target that cannot be hit ("agent-2"
// not running, "m1" already down) means the run did not go as written: it
// is skipped, and the run proves nothing.
func notApplied(s Step, err error) model.Kind {
	if isRole(s.Target) && isVacant(err) {
		return model.NotApplied
	}
	return model.Skipped
}

func (x *executor) skip(i int, s Step, kind model.Kind, target string, err error) {
	x.rec.record(model.Event{Kind: kind, Fault: string(s.Fault), Target: cmp.Or(target, string(s.Target)),
		Detail: fmt.Sprintf("step %d (%s %s): %v", i+1, s.Fault, s.Target, err)})
}

// healAll heals the faults left open, newest first.
func (x *executor) healAll() {
	x.mu.Lock()
	open := x.pending
	x.pending = nil
	x.mu.Unlock()
	for i := len(open) - 1; i >= 0; i-- {
		open[i]()
	}
}

func describe(i int, s Step) string {
	d := fmt.Sprintf("step %d: %s", i+1, s.Fault)
	if s.Target != "" {
		d += " " + string(s.Target)
	}
	if len(s.Members) > 0 {
		d += fmt.Sprintf(" from %v", s.Members)
	}
	if s.Latency > 0 {
		d += fmt.Sprintf(" by %v±%v", s.Latency, s.Jitter)
	}
	if s.On != "" {
		d += fmt.Sprintf(" at its write under %s/", s.On)
	}
	if s.For > 0 {
		d += fmt.Sprintf(" for %v", s.For)
	}
	return d
}

// waitFor polls cond until it holds or limit passes.
func waitFor(ctx context.Context, limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		sleepCtx(ctx, 10*time.Millisecond)
	}
	return true
}
