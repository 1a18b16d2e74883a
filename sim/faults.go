package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/model"
)

// play runs the steps at their offsets. A fault with "for" is healed after
// it; the others wait for healAll.
func (w *world) play(ctx context.Context, steps []Step) {
	order := make([]int, len(steps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(steps[a].At, steps[b].At) })
	t0 := time.Now()
	var heals sync.WaitGroup
	for _, i := range order {
		s := steps[i]
		sleepCtx(ctx, time.Until(t0.Add(s.At.Std())))
		if ctx.Err() != nil {
			break
		}
		skip := func(target string, err error) {
			w.rec.record(model.Event{Kind: model.Skipped, Fault: string(s.Fault), Target: target, Detail: fmt.Sprintf("step %d (%s %s): %v", i+1, s.Fault, s.Target, err)})
		}
		target, err := w.resolve(ctx, i, s)
		if err != nil {
			skip(string(s.Target), err)
			continue
		}
		var started atomic.Bool
		start := func() {
			detail := describe(i, s)
			if late := time.Since(t0.Add(s.At.Std())); late > 100*time.Millisecond && s.On == "" {
				detail += fmt.Sprintf(" (in force %v after its time)", late.Round(time.Millisecond))
			}
			w.rec.record(model.Event{Kind: model.FaultStart, Fault: string(s.Fault), Target: target, Detail: detail})
			started.Store(true)
		}
		heal, err := w.inject(i, s, target, start)
		if err != nil {
			skip(target, err)
			continue
		}
		if s.On == "" {
			start()
		}
		if heal == nil {
			w.rec.record(model.Event{Kind: model.FaultEnd, Fault: string(s.Fault), Target: target})
			continue
		}
		healed := func() {
			heal()
			if !started.Load() {
				// The write it waited for never came: the step ran as
				// written, and had nothing to hold.
				w.rec.record(model.Event{Kind: model.FaultStart, Fault: string(s.Fault), Target: target,
					Detail: describe(i, s) + fmt.Sprintf(": never began, %s sent no write under %s/ before its end", target, s.On)})
			}
			w.rec.record(model.Event{Kind: model.FaultEnd, Fault: string(s.Fault), Target: target})
		}
		if s.For > 0 {
			// Healed on schedule, however long the fault took to inject:
			// a late start shortens the fault, it never stretches it into
			// the next one's window (which could take a quorum down).
			heals.Go(func() {
				sleepCtx(ctx, time.Until(t0.Add(s.At.Std()+s.For.Std())))
				healed()
			})
		} else {
			w.mu.Lock()
			w.pending = append(w.pending, healed)
			w.mu.Unlock()
		}
	}
	heals.Wait()
}

// healAll heals the faults left open, newest first.
func (w *world) healAll() {
	w.mu.Lock()
	open := w.pending
	w.pending = nil
	w.mu.Unlock()
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

// resolve turns the step's target into a name: an agent id, a member name
// (several joined by "+" for a split), a sync name, or "" for no target.
// Roles wait to be filled: an owner may be mid-handover, an election under
// way, and after a crash both wait for a lease to expire, so the wait
// allows two lease TTLs and two seconds.
func (w *world) resolve(ctx context.Context, step int, s Step) (string, error) {
	ref, err := ParseTarget(Faults[s.Fault].Target, s.Target)
	if err != nil {
		return "", err
	}
	var name string
	var why error
	found := w.waitFor(ctx, 2*w.setup.LeaseTTL.Std()+2*time.Second, func() bool {
		name, why = w.lookup(step, s, ref)
		return why == nil
	})
	if !found {
		return "", why
	}
	return name, nil
}

// lookup resolves ref once against the current state.
func (w *world) lookup(step int, s Step, ref Ref) (string, error) {
	seed := w.setup.Seed
	switch Faults[s.Fault].Target {
	case NoTarget:
		return "", nil
	case SyncTarget:
		return SyncName(ref.N), nil
	case AgentTarget:
		switch ref.Role {
		case Literal:
			return AgentName(ref.N), nil
		case OwnerOf:
			// The recorder still names a crashed owner until another
			// agent takes over; a role is held by a running agent.
			if id, ok := w.rec.owner(SyncName(ref.N), w.running); ok {
				return id, nil
			}
			return "", fmt.Errorf("no running agent works on %s", SyncName(ref.N))
		case LeaderAgent:
			if id, ok := w.rec.currentLeader(); ok && w.running(id) {
				return id, nil
			}
			return "", fmt.Errorf("no running agent leads")
		case AnyAgent:
			if id := Choose(seed, step, w.liveAgents()); id != "" {
				return id, nil
			}
			return "", fmt.Errorf("no agent is running")
		}
	case MemberTarget:
		m, err := w.lookupMember(step, ref)
		if err != nil || s.Fault != Split {
			return m, err
		}
		var n int
		fmt.Sscanf(m, "m%d", &n)
		return names(minority(n, w.cluster.size())), nil
	}
	return "", fmt.Errorf("cannot resolve %q", s.Target)
}

// lookupMember resolves a member target once; only members in the quorum
// count for roles.
func (w *world) lookupMember(step int, ref Ref) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	size := w.cluster.size()
	if ref.Role == Literal {
		if ref.N >= size {
			return "", fmt.Errorf("the cluster has members m0 to m%d", size-1)
		}
		return MemberName(ref.N), nil
	}
	var up []string
	for i := range size {
		if _, isDown := w.down[i]; !isDown {
			up = append(up, MemberName(i))
		}
	}
	if ref.Role == AnyMember {
		if m := Choose(w.setup.Seed, step, up); m != "" {
			return m, nil
		}
		return "", fmt.Errorf("no member is up")
	}
	leader, ok := w.cluster.leader(w.downSet())
	switch {
	case !ok:
		return "", fmt.Errorf("the cluster has no leader")
	case ref.Role == EtcdLeader:
		return MemberName(leader), nil
	}
	followers := slices.DeleteFunc(up, func(m string) bool { return m == MemberName(leader) })
	if m := Choose(w.setup.Seed, step, followers); m != "" {
		return m, nil
	}
	return "", fmt.Errorf("no follower is up")
}

func (w *world) running(id string) bool {
	_, ok := w.live(id)
	return ok
}

func (w *world) liveAgents() []string {
	w.mu.Lock()
	ids := make([]string, 0, len(w.procs))
	for id := range w.procs {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	return slices.DeleteFunc(ids, func(id string) bool { return !w.running(id) })
}

// downSet is the members out of the quorum; w.mu is held.
func (w *world) downSet() map[int]bool {
	set := map[int]bool{}
	for i := range w.down {
		set[i] = true
	}
	return set
}

// inject applies the step's fault to target and returns how to heal it
// (nil when the fault is over at once). A stall "on" a write calls start
// when the agent sends it; every other fault has begun when inject returns.
func (w *world) inject(step int, s Step, target string, start func()) (heal func(), err error) {
	switch Faults[s.Fault].Target {
	case AgentTarget:
		return w.injectAgent(s, target, start)
	case MemberTarget:
		var group []int
		for _, name := range strings.Split(target, "+") {
			var m int
			fmt.Sscanf(name, "m%d", &m)
			group = append(group, m)
		}
		return w.injectMember(s.Fault, group)
	}
	def := cmp.Or(s.Definition, fmt.Sprintf(`{"name":%q,"step":%d}`, target, step+1))
	switch s.Fault {
	case Join:
		return nil, w.join()
	case Compact:
		return nil, operate(func(ctx context.Context) error {
			resp, err := w.operator.Get(ctx, "compact")
			if err != nil {
				return err
			}
			// Compaction must not eat the harness's own record of etcd.
			if !w.log.caughtUp(ctx, resp.Header.Revision) {
				return fmt.Errorf("etcd's log did not reach revision %d to compact at", resp.Header.Revision)
			}
			_, err = w.operator.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
			if errors.Is(err, rpctypes.ErrCompacted) {
				return nil // an attempt that timed out got through
			}
			return err
		})
	case AddSync, ChangeSync:
		return nil, w.addSync(target, def)
	case RemoveSync:
		if err := operate(func(ctx context.Context) error { return agent.RemoveSync(ctx, w.operator, w.opts.Prefix, target) }); err != nil {
			return nil, err
		}
		w.rec.record(model.Event{Kind: model.SyncRemoved, Sync: target})
		return nil, nil
	}
	return nil, fmt.Errorf("unknown fault %q", s.Fault)
}

func (w *world) injectAgent(s Step, id string, start func()) (heal func(), err error) {
	p, ok := w.live(id)
	if !ok {
		return nil, fmt.Errorf("%s is not running", id)
	}
	if s.On != "" { // a stall that begins at the agent's next write there
		p.link.arm(s.On, start)
		return p.link.unpause, nil // also disarms a stall that never began
	}
	restart := func() {
		if err := w.start(id); err != nil {
			w.rec.record(model.Event{Kind: model.Skipped, Agent: id, Detail: "restart: " + err.Error()})
		}
	}
	switch s.Fault {
	case Isolate:
		var members []int
		for _, t := range s.Members {
			ref, err := ParseTarget(MemberTarget, t)
			if err != nil || ref.Role != Literal {
				return nil, fmt.Errorf("\"members\" takes member names such as \"m0\", got %q", t)
			}
			members = append(members, ref.N)
		}
		p.link.isolate(members)
		return p.link.reconnect, nil
	case Delay:
		p.link.delay(s.Latency.Std(), s.Jitter.Std())
		return p.link.undelay, nil
	case Disconnect:
		p.link.reset()
		return nil, nil
	case Crash:
		w.crash(p)
		return restart, nil
	case Stop:
		w.stop(p)
		return restart, nil
	case Stall:
		p.link.pause()
		return p.link.unpause, nil
	case Pause:
		p.frozen.close()
		p.link.pause()
		return func() {
			p.link.unpause()
			p.frozen.open()
		}, nil
	}
	return nil, fmt.Errorf("unknown agent fault %q", s.Fault)
}

// injectMember applies a member fault to group: one member, or a split's
// minority.
func (w *world) injectMember(fault Fault, group []int) (heal func(), err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, i := range group {
		if why, isDown := w.down[i]; isDown {
			return nil, fmt.Errorf("%s is already down (%s)", MemberName(i), why)
		}
	}
	m := group[0]
	var undo func() error
	switch fault {
	case MemberCrash:
		if err := w.cluster.stopMember(m); err != nil {
			return nil, err
		}
		undo = func() error { return w.cluster.restartMember(m) }
	case MemberPause:
		w.cluster.pauseMember(m)
		undo = func() error { w.cluster.resumeMember(m); return nil }
	case MemberIsolate, Split:
		if err := w.cluster.partition(group, false); err != nil {
			return nil, err
		}
		undo = func() error { return w.cluster.partition(group, true) }
	default:
		return nil, fmt.Errorf("unknown member fault %q", fault)
	}
	for _, i := range group {
		w.down[i] = fault
	}
	return func() {
		if err := undo(); err != nil {
			w.rec.record(model.Event{Kind: model.Skipped, Fault: string(fault), Target: names(group), Detail: "heal: " + err.Error()})
		}
		w.mu.Lock()
		for _, i := range group {
			delete(w.down, i)
		}
		w.mu.Unlock()
	}, nil
}

// addSync creates or changes a sync as an operator would, and records it.
func (w *world) addSync(name, definition string) error {
	err := operate(func(ctx context.Context) error {
		return agent.AddSync(ctx, w.operator, w.opts.Prefix, name, definition)
	})
	if err != nil {
		return err
	}
	w.rec.record(model.Event{Kind: model.SyncAdded, Sync: name, Value: definition})
	return nil
}

// operate runs an operator's request as an operator would: each attempt
// bounded by a second and retried for five. A request sent to a member that
// is paused or cut off hangs rather than fails, and the next attempt may
// reach another member. Every operator request is idempotent.
func operate(do func(ctx context.Context) error) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := do(ctx)
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

// waitFor polls cond until it holds or limit passes.
func (w *world) waitFor(ctx context.Context, limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		sleepCtx(ctx, 10*time.Millisecond)
	}
	return true
}

// minority is the split of a cluster of size members that holds m: m and the
// lowest-numbered others, as many as a minority allows.
func minority(m, size int) []int {
	group := []int{m}
	for i := 0; i < size && len(group) < (size-1)/2; i++ {
		if i != m {
			group = append(group, i)
		}
	}
	return group
}

// names joins member names for a recorded target.
func names(group []int) string {
	var ns []string
	for _, i := range group {
		ns = append(ns, MemberName(i))
	}
	return strings.Join(ns, "+")
}
