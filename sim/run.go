package sim

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
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
	Prefix string // default "/syncsim/"
	// CommitEvery is how often a simulated worker commits; default 10ms.
	CommitEvery time.Duration
	// ReadyTimeout bounds the wait for every sync to have an owner; default 15s.
	ReadyTimeout time.Duration
}

// Result is what a run recorded.
type Result struct {
	History model.History
	// Logs holds each agent's log, and the etcd members' under "etcd".
	Logs map[string][]byte
}

// Run starts a cluster and the agents, plays the timeline, waits out the
// quiet window, stops everything, and returns the history. An error means
// the harness itself could not run; anything the agents did is in the history.
func Run(ctx context.Context, setup Setup, steps []Step, opts Options) (*Result, error) {
	if opts.System == nil {
		opts.System = agent.Run
	}
	opts.Prefix = cmp.Or(opts.Prefix, "/syncsim/")
	opts.CommitEvery = cmp.Or(opts.CommitEvery, 10*time.Millisecond)
	opts.ReadyTimeout = cmp.Or(opts.ReadyTimeout, 15*time.Second)

	cluster, err := StartCluster(setup.Members)
	if err != nil {
		return nil, err
	}
	defer cluster.Close()

	w := &world{setup: setup, opts: opts, dir: cluster.Dir, members: cluster.Endpoints(), rec: newRecorder(), procs: map[string]*proc{}, lives: map[string]int{}}
	operator, err := clientv3.New(clientv3.Config{Endpoints: w.members, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("connect the operator client: %w", err)
	}
	defer operator.Close()
	var syncs []string
	for i := 1; i <= setup.Syncs; i++ {
		syncs = append(syncs, SyncName(i))
		if err := agent.AddSync(ctx, operator, opts.Prefix, SyncName(i), fmt.Sprintf(`{"name":%q}`, SyncName(i))); err != nil {
			return nil, fmt.Errorf("create sync %s: %w", SyncName(i), err)
		}
	}

	for i := 1; i <= setup.Agents; i++ {
		if err := w.start(AgentName(i)); err != nil {
			w.stopAll()
			return nil, err
		}
	}
	if w.waitFor(ctx, opts.ReadyTimeout, func() bool { return w.rec.owned(syncs) }) {
		w.rec.record(model.Event{Kind: model.Ready})
	} else {
		w.rec.record(model.Event{Kind: model.Skipped, Detail: fmt.Sprintf("not every sync had an owner within %v; the timeline starts anyway", opts.ReadyTimeout)})
	}

	w.play(ctx, steps)
	sleepCtx(ctx, setup.Quiet.Std())
	w.rec.record(model.Event{Kind: model.QuietEnd})
	w.stopAll()

	res := &Result{History: w.rec.history(), Logs: map[string][]byte{"etcd": cluster.Log()}}
	for id, p := range w.procs {
		res.Logs[id] = p.log.bytes()
	}
	return res, ctx.Err()
}

// world is the state of one run.
type world struct {
	setup   Setup
	opts    Options
	dir     string
	rec     *recorder
	members []string

	mu    sync.Mutex
	procs map[string]*proc // the current process of each agent
	lives map[string]int   // how many processes each agent has had
}

// proc is one running agent process.
type proc struct {
	id     string
	link   *link
	client *clientv3.Client
	cancel context.CancelFunc
	done   chan struct{} // closed when the System returned, with its error in err
	err    error
	dead   atomic.Bool
	log    *buffer
}

// start launches agent id as a new process on its own link.
func (w *world) start(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lives[id]++
	l, err := newLink(w.dir, fmt.Sprintf("%s.%d", id, w.lives[id]), w.members)
	if err != nil {
		return fmt.Errorf("start the network of %s: %w", id, err)
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:            l.endpoints,
		DialTimeout:          2 * time.Second,
		DialKeepAliveTime:    time.Second,
		DialKeepAliveTimeout: time.Second,
		Logger:               zap.NewNop(),
	})
	if err != nil {
		l.close()
		return fmt.Errorf("connect %s: %w", id, err)
	}
	log := &buffer{}
	if old := w.procs[id]; old != nil {
		log = old.log // one log per agent across its lives
	}
	p := &proc{id: id, link: l, client: client, done: make(chan struct{}), log: log}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	cfg := agent.Config{
		Client:       client,
		Prefix:       w.opts.Prefix,
		ID:           id,
		LeaseTTL:     w.setup.LeaseTTL.Std(),
		SafetyMargin: w.setup.SafetyMargin.Std(),
		Syncer:       &syncer{rec: w.rec, agent: id, every: w.opts.CommitEvery, dead: &p.dead},
		Observer:     observer{rec: w.rec, agent: id},
		Logger:       slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	w.procs[id] = p
	w.rec.record(model.Event{Kind: model.AgentStart, Agent: id})
	go func() {
		defer close(p.done)
		p.err = w.opts.System(ctx, cfg)
	}()
	return nil
}

// crash kills p abruptly: its connections are cut before it is cancelled,
// so it can neither release nor revoke, and it makes no effect afterwards.
func (w *world) crash(p *proc) {
	p.dead.Store(true)
	p.link.close()
	w.rec.record(model.Event{Kind: model.AgentCrash, Agent: p.id})
	p.client.Close()
	p.cancel()
	w.wait(p)
}

// stop stops p gracefully and waits for it.
func (w *world) stop(p *proc) {
	p.cancel()
	if w.wait(p) {
		stopped := model.Event{Kind: model.AgentStop, Agent: p.id}
		if p.err != nil {
			stopped.Detail = "returned: " + p.err.Error()
		}
		w.rec.record(stopped)
	}
	p.client.Close()
	p.link.close()
}

// wait waits for p's System to return, bounded so a hung agent cannot hang
// the harness; a hang is recorded and reported as false.
func (w *world) wait(p *proc) bool {
	limit := 2*w.setup.LeaseTTL.Std() + 5*time.Second
	select {
	case <-p.done:
		return true
	case <-time.After(limit):
		w.rec.record(model.Event{Kind: model.Skipped, Agent: p.id, Detail: fmt.Sprintf("%s did not return within %v of being stopped", p.id, limit)})
		return false
	}
}

func (w *world) stopAll() {
	w.mu.Lock()
	var live []*proc
	for _, p := range w.procs {
		if !p.dead.Load() {
			live = append(live, p)
		}
	}
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range live {
		wg.Go(func() { w.stop(p) })
	}
	wg.Wait()
}

// play runs the steps at their offsets and waits until every fault healed.
func (w *world) play(ctx context.Context, steps []Step) {
	steps = slices.Clone(steps)
	slices.SortStableFunc(steps, func(a, b Step) int { return cmp.Compare(a.At, b.At) })
	t0 := time.Now()
	var heals sync.WaitGroup
	for i, s := range steps {
		sleepCtx(ctx, time.Until(t0.Add(s.At.Std())))
		if ctx.Err() != nil {
			break
		}
		id, err := w.resolve(ctx, s.Target)
		if err != nil {
			w.rec.record(model.Event{Kind: model.Skipped, Fault: string(s.Fault), Target: string(s.Target), Detail: fmt.Sprintf("step %d: %v", i+1, err)})
			continue
		}
		heal, err := w.inject(s.Fault, id)
		if err != nil {
			w.rec.record(model.Event{Kind: model.Skipped, Fault: string(s.Fault), Target: id, Detail: fmt.Sprintf("step %d: %v", i+1, err)})
			continue
		}
		w.rec.record(model.Event{Kind: model.FaultStart, Fault: string(s.Fault), Target: id, Detail: fmt.Sprintf("step %d: %s %s", i+1, s.Fault, s.Target)})
		if s.For > 0 {
			heals.Go(func() {
				sleepCtx(ctx, s.For.Std())
				heal()
				w.rec.record(model.Event{Kind: model.FaultEnd, Fault: string(s.Fault), Target: id})
			})
		}
	}
	heals.Wait()
}

// inject applies fault to agent id and returns how to heal it.
func (w *world) inject(fault Fault, id string) (heal func(), err error) {
	w.mu.Lock()
	p := w.procs[id]
	w.mu.Unlock()
	if p == nil || p.dead.Load() {
		return nil, fmt.Errorf("%s is not running", id)
	}
	switch fault {
	case Isolate:
		p.link.isolate()
		return p.link.heal, nil
	case Crash:
		w.crash(p)
		return func() {
			if err := w.start(id); err != nil {
				w.rec.record(model.Event{Kind: model.Skipped, Agent: id, Detail: "restart: " + err.Error()})
			}
		}, nil
	}
	return nil, fmt.Errorf("unknown fault %q", fault)
}

// resolve turns a target into an agent id, waiting briefly for a role to be
// filled (an owner may be mid-handover).
func (w *world) resolve(ctx context.Context, t Target) (string, error) {
	n, ownerOf, err := t.Parse()
	if err != nil {
		return "", err
	}
	if n > 0 {
		return AgentName(n), nil
	}
	var id string
	found := w.waitFor(ctx, 2*time.Second, func() bool {
		var ok bool
		if ownerOf > 0 {
			id, ok = w.rec.owner(SyncName(ownerOf))
		} else {
			id, ok = w.rec.currentLeader()
		}
		return ok
	})
	if !found {
		return "", fmt.Errorf("nobody was %s for 2s", t)
	}
	return id, nil
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
