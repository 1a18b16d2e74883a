package sim

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/model"
)

// System runs the agent under test until ctx is cancelled, then stops it
// gracefully. The harness plugs in its Syncer, Observer, Logger and etcd
// client through cfg. The reference is agent.Run; a user tests their own
// agent by passing theirs.
type System func(ctx context.Context, cfg agent.Config) error

// Options tunes a run.
type Options struct {
	System System // default agent.Run
	// Command runs each agent incarnation as an OS process instead of
	// System (real clock only; see agentproc.go).
	Command *Command
	// Agent is what the agent under test declares of itself; the zero
	// value for System, Reference for the default.
	Agent  Declared
	Prefix string // default "/syncsim/"
	// CommitEvery is how often a simulated worker commits; default
	// CommitEvery(setup.Syncs, Clock).
	CommitEvery time.Duration
	// WindDown is how long a simulated worker takes to return once told
	// to stop, as a real one finishing its step in flight does; default
	// 50ms. An agent that releases a claim before its worker returned is
	// caught in that window.
	WindDown time.Duration
	// ReadyTimeout bounds the wait for every sync to have an owner; default 15s.
	ReadyTimeout time.Duration
	// SettleTimeout bounds the wait, after the quiet window, for the fleet
	// to settle (model.Settled); default 15s.
	SettleTimeout time.Duration
	// Clock is the time the world lives in; default RealClock. SimClock
	// needs a test binary that called SimulateIn.
	Clock Clock
	// Expect lists the properties the run will be judged on; nil means
	// all. Without progress (P3) the run does not wait to settle.
	Expect []model.Property
}

// Result is what a run recorded.
type Result struct {
	History model.History
	// Logs holds each agent's log, and the etcd members' under "etcd".
	Logs map[string][]byte
}

// Commit spacing: a worker commits every 10ms, or more slowly when there
// are many syncs, so that the fleet's commits stay near what a small
// cluster sustains while each worker still commits several times within
// model.Recent, which progress (P3) asks of it. On the simulated clock the
// rate is what makes a run cost wall time (CPU is free in simulated time,
// so every commit is work done at once): there a worker commits every
// 100ms, still five times a Recent or more.
const (
	maxCommitEvery = model.Recent / 5
	maxCommitRate  = 1000 // commits per second, the whole fleet, real clock
	simCommitRate  = 40   // the same on the simulated clock
)

// CommitEvery is how often each simulated worker commits in a world of
// syncs syncs on clock.
func CommitEvery(syncs int, clock Clock) time.Duration {
	least, rate := 10*time.Millisecond, maxCommitRate
	if clock == SimClock {
		least, rate = 100*time.Millisecond, simCommitRate
	}
	return min(max(least, time.Duration(syncs)*time.Second/time.Duration(rate)), maxCommitEvery)
}

// joinSpacing separates the first agents' starts: a millisecond, less than
// the first agent takes to win leadership and assign, so that the first
// assignment still sees the whole fleet (7 ms let the first agent take
// every sync, and "stable" saw the rebalance that followed).
const joinSpacing = time.Millisecond

// Run starts a cluster and the agents, plays the timeline, waits out the
// quiet window, stops everything, and returns the history. An error means
// the harness itself could not run; anything the agents did is in the history.
func Run(ctx context.Context, setup Setup, steps []Step, opts Options) (*Result, error) {
	switch {
	case opts.Command != nil && opts.System != nil:
		return nil, errors.New("the agent under test is given both as a System and as a Command; give one")
	case opts.Command != nil && opts.Clock == SimClock:
		return nil, errProcessClock
	case opts.Command == nil && opts.System == nil:
		opts.System = agent.Run
		if opts.Agent.Layout == "" {
			opts.Agent = Reference
		}
	}
	opts.Prefix = cmp.Or(opts.Prefix, "/syncsim/")
	opts.CommitEvery = cmp.Or(opts.CommitEvery, CommitEvery(setup.Syncs, opts.Clock))
	opts.WindDown = cmp.Or(opts.WindDown, 50*time.Millisecond)
	opts.ReadyTimeout = cmp.Or(opts.ReadyTimeout, 15*time.Second)
	opts.SettleTimeout = cmp.Or(opts.SettleTimeout, opts.Agent.SettleTimeout.Std(), 15*time.Second)
	switch opts.Clock {
	case "", RealClock:
		return run(ctx, setup, steps, opts, StartCluster)
	case SimClock:
		return runSimulated(setup, steps, opts)
	}
	return nil, fmt.Errorf("unknown clock %q", opts.Clock)
}

// run is Run on a cluster that start makes, in the caller's clock.
func run(ctx context.Context, setup Setup, steps []Step, opts Options, start func(members int) (*Cluster, error)) (*Result, error) {
	cluster, err := start(setup.Members)
	if err != nil {
		return nil, err
	}
	defer cluster.Close()

	operator, err := clientv3.New(clientv3.Config{Endpoints: cluster.Endpoints(), DialTimeout: 5 * time.Second, DialOptions: cluster.dialer(), Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("connect the operator client: %w", err)
	}
	defer operator.Close()
	w := newWorld(setup, opts, cluster, operator)
	if opts.Command != nil {
		if w.sink, err = startSink(w.rec, opts.Agent.Fenced); err != nil {
			return nil, err
		}
		defer w.sink.close()
	}
	etcdLog := w.watchLog()
	// finish stops what still runs and returns what the run recorded.
	finish := func() (*Result, error) {
		w.stopAll()
		etcdLog.finish()
		res := &Result{History: w.rec.history(), Logs: map[string][]byte{"etcd": cluster.Log()}}
		for id, p := range w.procs {
			res.Logs[id] = p.log.bytes()
		}
		return res, ctx.Err()
	}
	var syncs []string
	for i := 1; i <= setup.Syncs; i++ {
		syncs = append(syncs, SyncName(i))
		def := fmt.Sprintf(`{"name":%q}`, SyncName(i))
		if err := w.addSync(SyncName(i), def); err != nil {
			return nil, fmt.Errorf("create sync %s: %w", SyncName(i), err)
		}
		w.rec.record(model.Event{Kind: model.SyncAdded, Sync: SyncName(i), Value: def})
	}

	for i := range setup.Agents {
		if i > 0 {
			// Agents start a few milliseconds apart, as a fleet's pods do:
			// on the simulated clock, agents started at one instant race
			// in real time, and the run diverges from its seed at once.
			sleepCtx(ctx, joinSpacing)
		}
		if err := w.join(); err != nil {
			if errors.As(err, new(*startError)) {
				w.rec.record(model.Event{Kind: model.Skipped, Detail: err.Error()})
				return finish() // the run is undecided
			}
			w.stopAll()
			return nil, err
		}
	}
	if waitFor(ctx, opts.ReadyTimeout, func() bool { return w.rec.owned(syncs, opts.Agent.Layout != ReferenceLayout) }) {
		w.rec.record(model.Event{Kind: model.Ready})
	} else {
		w.rec.record(model.Event{Kind: model.Skipped, Detail: fmt.Sprintf("not every sync had an owner within %v; the timeline starts anyway", opts.ReadyTimeout)})
		if w.sink != nil && w.noReports(opts.ReadyTimeout) {
			return finish() // no agent said anything: nothing to judge
		}
	}

	x := w.executor()
	x.play(ctx, steps)
	x.healAll()
	sleepCtx(ctx, setup.Quiet.Std())
	// Wait, bounded, for the fleet to settle; P3 judges the moment recorded.
	checks := opts.checks(setup)
	waitFor(ctx, opts.SettleTimeout, func() bool { return w.rec.settled(checks) == nil })
	w.rec.record(model.Event{Kind: model.QuietEnd})
	return finish()
}

// buffer is a bytes.Buffer safe for concurrent writers.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
