package sim

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/model"
)

// world is the state of one run.
type world struct {
	setup    Setup
	opts     Options
	cluster  *Cluster
	operator *clientv3.Client
	rec      *recorder
	log      *etcdLog  // etcd's own account of the run
	sink     *sinkSide // where agent processes report; nil for a System

	mu     sync.Mutex
	procs  map[string]*proc // the current process of each agent
	lives  map[string]int   // how many processes each agent has had
	agents int              // agents started so far, for naming joiners
}

func newWorld(setup Setup, opts Options, cluster *Cluster, operator *clientv3.Client) *world {
	return &world{setup: setup, opts: opts, cluster: cluster, operator: operator, rec: newRecorder(),
		procs: map[string]*proc{}, lives: map[string]int{}}
}

// executor plays timelines on this world: its agents, members and operator.
func (w *world) executor() *executor {
	return newExecutor(w.setup, w.rec, w, clusterMembers{w.cluster}, w)
}

// proc is one running agent process.
type proc struct {
	id       string
	link     network
	client   *clientv3.Client
	cancel   context.CancelFunc
	done     chan struct{} // closed when the System returned, with its error in err
	err      error
	dead     atomic.Bool // crashed: it makes no effect any more
	stopping atomic.Bool // the harness asked it to stop
	frozen   *gate       // closed while the agent is paused
	log      *buffer
	os       *osProcess // the OS process of an agent run as a command; nil for a System
}

// join starts the next agent, named after the last one.
func (w *world) join() error {
	w.mu.Lock()
	w.agents++
	id := AgentName(w.agents)
	w.mu.Unlock()
	return w.start(id)
}

// start launches agent id as a new process on its own link.
func (w *world) start(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lives[id]++
	l, err := w.newLink(id)
	if err != nil {
		return fmt.Errorf("start the network of %s: %w", id, err)
	}
	log := &buffer{}
	if old := w.procs[id]; old != nil {
		log = old.log // one log per agent across its lives
	}
	if w.opts.Command != nil {
		return w.startCommand(&proc{id: id, link: l, done: make(chan struct{}), frozen: &gate{}, log: log})
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:            l.endpoints(),
		DialTimeout:          2 * time.Second,
		DialKeepAliveTime:    time.Second,
		DialKeepAliveTimeout: time.Second,
		DialOptions: []grpc.DialOption{
			grpc.WithContextDialer(l.dial),
			grpc.WithChainUnaryInterceptor((&tap{link: l, rec: w.rec, agent: id, prefix: w.opts.Prefix}).unary),
		},
		Logger: zap.NewNop(),
	})
	if err != nil {
		l.close()
		return fmt.Errorf("connect %s: %w", id, err)
	}
	p := &proc{id: id, link: l, client: client, done: make(chan struct{}), frozen: &gate{}, log: log}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	cfg := agent.Config{
		Client:       client,
		Prefix:       w.opts.Prefix,
		ID:           id,
		LeaseTTL:     w.setup.LeaseTTL.Std(),
		SafetyMargin: w.setup.SafetyMargin.Std(),
		Syncer:       &syncer{rec: w.rec, agent: id, every: w.opts.CommitEvery, windDown: w.opts.WindDown, dead: &p.dead, frozen: p.frozen},
		Observer:     observer{rec: w.rec, agent: id},
		Logger:       slog.New(harnessTime{slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}), w.rec.now}),
	}
	w.procs[id] = p
	w.rec.record(model.Event{Kind: model.AgentStart, Agent: id})
	go func() {
		defer close(p.done)
		p.err = w.opts.System(ctx, cfg)
		if !p.stopping.Load() {
			exit := model.Event{Kind: model.AgentExit, Agent: id}
			if p.err != nil {
				exit.Detail = p.err.Error()
			}
			w.rec.record(exit)
		}
	}()
	return nil
}

// newLink is the network of agent id's next process: proxies on the real
// clock, an in-memory link on the simulated one, whose jitter the seed,
// the agent and its incarnation draw.
func (w *world) newLink(id string) (network, error) {
	if n := w.cluster.net; n != nil {
		seed := w.setup.Seed ^ int64(len(w.procs))<<32 ^ int64(w.lives[id])<<48
		return newMemLink(n, seed, w.cluster.Endpoints()), nil
	}
	return newLink(w.cluster.Dir, fmt.Sprintf("%s.%d", id, w.lives[id]), w.cluster.Endpoints())
}

// live is the current process of agent id, if it is running.
func (w *world) live(id string) (*proc, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.procs[id]
	if p == nil || !p.running() {
		return nil, false
	}
	return p, true
}

// running reports whether p neither is stopping nor has returned.
func (p *proc) running() bool {
	if p.stopping.Load() {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// running lists the agents with a running process, sorted.
func (w *world) running() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []string
	for id, p := range w.procs {
		if p.running() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// process is agent id's running process, as faults see it.
func (w *world) process(id string) (process, bool) {
	p, ok := w.live(id)
	if !ok {
		return nil, false
	}
	return liveProc{w, p}, true
}

// liveProc is one of the world's running processes.
type liveProc struct {
	w *world
	p *proc
}

func (r liveProc) network() network { return r.p.link }
func (r liveProc) crash()           { r.w.crash(r.p) }
func (r liveProc) stop()            { r.w.stop(r.p) }
func (r liveProc) freeze()          { r.p.freeze() }
func (r liveProc) thaw()            { r.p.thaw() }

// freeze holds p's workers at their next step, or stops its OS process
// (SIGSTOP), timers and all.
func (p *proc) freeze() {
	if p.os != nil {
		p.os.freeze()
		return
	}
	p.frozen.close()
}

func (p *proc) thaw() {
	if p.os != nil {
		p.os.thaw()
		return
	}
	p.frozen.open()
}

// crash kills p abruptly: its connections are cut before it is cancelled,
// so it can neither release nor revoke, and it makes no effect afterwards.
func (w *world) crash(p *proc) {
	if p.os != nil {
		w.killProcess(p)
		return
	}
	p.stopping.Store(true)
	p.dead.Store(true)
	p.link.isolate(nil) // nothing it sends from now on reaches etcd
	w.rec.record(model.Event{Kind: model.AgentCrash, Agent: p.id})
	p.client.Close()
	p.link.close()
	p.cancel()
	p.frozen.open() // a killed process does not stay frozen
	w.wait(p)
}

// stop stops p gracefully and waits for it. A process that already
// exited on its own (recorded then) only has its connections closed.
func (w *world) stop(p *proc) {
	if p.os != nil {
		w.stopProcess(p)
		return
	}
	select {
	case <-p.done:
		p.client.Close()
		p.link.close()
		return
	default:
	}
	p.stopping.Store(true)
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

// stopAll stops every agent process still running.
func (w *world) stopAll() {
	w.mu.Lock()
	var live []*proc
	for _, p := range w.procs {
		if !p.stopping.Load() {
			live = append(live, p)
		}
	}
	w.mu.Unlock()
	// In a fixed order, joinSpacing apart, as they started: agents told to
	// stop at one instant release at one instant, in an order the real
	// scheduler picks, and the wind-down would differ run by run.
	slices.SortFunc(live, func(a, b *proc) int { return strings.Compare(a.id, b.id) })
	var wg sync.WaitGroup
	for i, p := range live {
		if i > 0 {
			time.Sleep(joinSpacing)
		}
		wg.Go(func() { w.stop(p) })
	}
	wg.Wait()
}

// gate holds goroutines while it is closed.
type gate struct {
	mu     sync.Mutex
	closed chan struct{} // nil while open
}

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed == nil {
		g.closed = make(chan struct{})
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed != nil {
		close(g.closed)
		g.closed = nil
	}
}

// isClosed reports whether the gate holds goroutines now.
func (g *gate) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed != nil
}

// wait returns once the gate is open.
// waitCtx waits while the gate is closed, or until ctx ends.
func (g *gate) waitCtx(ctx context.Context) {
	g.mu.Lock()
	ch := g.closed
	g.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
}
