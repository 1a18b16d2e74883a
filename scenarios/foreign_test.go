package scenarios

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim"
)

// Foreign-style agents: designs unlike the reference, each with a clean
// variant that must pass with no false alarm and a buggy one that must be
// caught. They keep keys of their own layout and declare so.

// batchAgent works in short batches under a per-sync lock, letting each
// sync go idle between batches; its offsets live under "batch/". A batch
// starts only while its lease has margin left (a keepalive answered
// recently), so it ends before the lock could expire. Fenced, a commit
// also checks that its lock still exists; unfenced (its bug), a batch
// frozen past its lease writes over its successor's offsets.
func batchAgent(fenced bool) sim.System {
	return func(ctx context.Context, cfg agent.Config) error {
		lease, err := cfg.Client.Grant(ctx, int64(cfg.LeaseTTL/time.Second))
		if err != nil {
			return nil // stopped before it could start
		}
		alive, err := cfg.Client.KeepAlive(ctx, lease.ID)
		if err != nil {
			return nil
		}
		var answered atomic.Int64 // when a keepalive was last answered, unix ns
		answered.Store(time.Now().UnixNano())
		lost := make(chan struct{})
		go func() {
			defer close(lost)
			for range alive {
				answered.Store(time.Now().UnixNano())
			}
		}()
		session, err := concurrency.NewSession(cfg.Client, concurrency.WithLease(lease.ID), concurrency.WithContext(ctx))
		if err != nil {
			return nil
		}
		defer session.Close()
		left := func() time.Duration { return cfg.LeaseTTL - time.Since(time.Unix(0, answered.Load())) }
		for ctx.Err() == nil {
			select {
			case <-lost:
				return nil
			default:
			}
			syncs, err := cfg.Client.Get(ctx, cfg.Prefix+"syncs/", clientv3.WithPrefix())
			for i := 0; err == nil && i < len(syncs.Kvs); i++ {
				kv := syncs.Kvs[i]
				batch(ctx, cfg, session, strings.TrimPrefix(string(kv.Key), cfg.Prefix+"syncs/"), kv.Value, fenced, left)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return nil
	}
}

// batchLength is how long one batch runs; the Syncer winds down after it.
// batchMargin is the lease a batch needs left to start: the batch, its
// wind-down and the lock round trips fit well within it.
const (
	batchLength = 60 * time.Millisecond
	batchPace   = 10 * time.Millisecond // its worker's commits
	batchMargin = 400 * time.Millisecond
)

// batch runs one batch on sync if its lock is free and the lease has
// margin left.
func batch(ctx context.Context, cfg agent.Config, session *concurrency.Session, sync string, def []byte, fenced bool, left func() time.Duration) {
	if left() < batchMargin {
		return
	}
	lock := concurrency.NewMutex(session, cfg.Prefix+"batch/locks/"+sync)
	try, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if lock.TryLock(try) != nil {
		return
	}
	defer func() {
		unlock, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		lock.Unlock(unlock)
	}()
	offsetKey := cfg.Prefix + "batch/offsets/" + sync
	held, err := cfg.Client.Get(try, lock.Key())
	cp, err2 := cfg.Client.Get(try, offsetKey)
	if err != nil || err2 != nil || len(held.Kvs) == 0 || left() < batchMargin {
		return
	}
	token := held.Kvs[0].CreateRevision
	var resume []byte
	if len(cp.Kvs) > 0 {
		resume = cp.Kvs[0].Value
	}
	guard := clientv3.Compare(clientv3.CreateRevision(lock.Key()), "=", token)
	commit := func(ctx context.Context, checkpoint []byte) error {
		txn := cfg.Client.Txn(ctx)
		if fenced {
			txn = txn.If(guard)
		}
		return outcome(txn.Then(clientv3.OpPut(offsetKey, string(checkpoint))).Commit())
	}
	work, stop := context.WithTimeout(ctx, batchLength)
	defer stop()
	cfg.Syncer.Run(work, agent.NewWork(sync, def, token, resume, commit))
}

// outcome is a commit's error as the Syncer reads it.
func outcome(resp *clientv3.TxnResponse, err error) error {
	switch {
	case err != nil:
		return agent.ErrUnknownOutcome
	case !resp.Succeeded:
		return agent.ErrFenced
	}
	return nil
}

// record is a client-go style leader-election record: one holder runs
// every sync, renewing the record before its lease runs out; Transitions
// counts holders and is the fencing token, an epoch.
type record struct {
	Holder      string `json:"holder"`
	Transitions int64  `json:"transitions"`
}

// recordAgent holds a lease record under "records/" and runs every sync
// while it does. A holder stops working once it has not renewed for
// renewDeadline; a contender takes over once the record has not changed
// for the lease's length. Clean, renewDeadline is two thirds of the lease;
// its bug trusts the record for twice the lease, so an isolated holder
// works on after another took over.
func recordAgent(renewDeadline func(ttl time.Duration) time.Duration) sim.System {
	return func(ctx context.Context, cfg agent.Config) error {
		key, epochKey := cfg.Prefix+"records/leader", cfg.Prefix+"records/epoch"
		var seen int64 // the record's mod revision last observed
		observed := time.Now()
		for ctx.Err() == nil {
			time.Sleep(cfg.LeaseTTL / 6)
			get, cancel := context.WithTimeout(ctx, cfg.LeaseTTL/3)
			resp, err := cfg.Client.Get(get, key)
			cancel()
			if err != nil {
				continue
			}
			var rec record
			var rev int64
			if len(resp.Kvs) > 0 {
				json.Unmarshal(resp.Kvs[0].Value, &rec)
				rev = resp.Kvs[0].ModRevision
			}
			if rev != seen {
				seen, observed = rev, time.Now()
			}
			if rev != 0 && rec.Holder != cfg.ID && time.Since(observed) < cfg.LeaseTTL {
				continue // held by another, not yet expired
			}
			rec = record{Holder: cfg.ID, Transitions: rec.Transitions + 1}
			if ok := putRecord(ctx, cfg, key, epochKey, rev, rec, cfg.LeaseTTL/3); ok {
				holdRecord(ctx, cfg, key, epochKey, rec, renewDeadline(cfg.LeaseTTL))
				seen, observed = 0, time.Now()
			}
		}
		return nil
	}
}

// putRecord writes rec if the record is still at rev, and its epoch with
// it, within limit.
func putRecord(ctx context.Context, cfg agent.Config, key, epochKey string, rev int64, rec record, limit time.Duration) bool {
	data, _ := json.Marshal(rec)
	put, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	resp, err := cfg.Client.Txn(put).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
		Then(clientv3.OpPut(key, string(data)), clientv3.OpPut(epochKey, strconv.FormatInt(rec.Transitions, 10))).Commit()
	return err == nil && resp.Succeeded
}

// holdRecord runs every sync under epoch rec.Transitions, renewing the
// record, until a renewal is deadline overdue or ctx ends.
func holdRecord(ctx context.Context, cfg agent.Config, key, epochKey string, rec record, deadline time.Duration) {
	work, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runAll(work, cfg, epochKey, rec.Transitions)
	}()
	// Each turn takes at most three steps, so a holder cut off stops
	// within deadline + 3 steps of its last renewal.
	step := cfg.LeaseTTL / 10
	renewed := time.Now()
	for work.Err() == nil && time.Since(renewed) < deadline {
		time.Sleep(step)
		get, cancel := context.WithTimeout(ctx, step)
		resp, err := cfg.Client.Get(get, key)
		cancel()
		if err != nil || len(resp.Kvs) == 0 {
			continue
		}
		var now record
		json.Unmarshal(resp.Kvs[0].Value, &now)
		if now.Holder != cfg.ID || now.Transitions != rec.Transitions {
			break // another took over
		}
		if putRecord(ctx, cfg, key, epochKey, resp.Kvs[0].ModRevision, rec, step) {
			renewed = time.Now()
		}
	}
	stop()
	<-done
}

// runAll hands every sync to the Syncer under epoch, each commit fenced
// by the epoch key, until ctx ends.
func runAll(ctx context.Context, cfg agent.Config, epochKey string, epoch int64) {
	syncs, err := cfg.Client.Get(ctx, cfg.Prefix+"syncs/", clientv3.WithPrefix())
	if err != nil {
		return
	}
	var workers sync.WaitGroup
	for _, kv := range syncs.Kvs {
		name := strings.TrimPrefix(string(kv.Key), cfg.Prefix+"syncs/")
		offsetKey := cfg.Prefix + "records/offsets/" + name
		cp, err := cfg.Client.Get(ctx, offsetKey)
		if err != nil {
			continue
		}
		var resume []byte
		if len(cp.Kvs) > 0 {
			resume = cp.Kvs[0].Value
		}
		commit := func(ctx context.Context, checkpoint []byte) error {
			return outcome(cfg.Client.Txn(ctx).If(clientv3.Compare(clientv3.Value(epochKey), "=", strconv.FormatInt(epoch, 10))).
				Then(clientv3.OpPut(offsetKey, string(checkpoint))).Commit())
		}
		workers.Go(func() { cfg.Syncer.Run(ctx, agent.NewWork(name, kv.Value, epoch, resume, commit)) })
	}
	workers.Wait()
}

// batchDesign and recordDesign are what the agents declare: a layout of their own, no leader,
// no balance.
var (
	batchDesign  = sim.Declared{TokenKind: "revision"}
	recordDesign = sim.Declared{TokenKind: "epoch"}
)

func TestForeignAgents(t *testing.T) {
	clean, lazy := func(ttl time.Duration) time.Duration { return ttl / 2 }, func(ttl time.Duration) time.Duration { return 2 * ttl }
	for _, c := range []struct {
		name      string
		system    sim.System
		design    sim.Declared
		scenarios []string
		caught    bool          // the property the scenario expects fails
		pace      time.Duration // how often a worker commits, when the design needs its own
		// everyAgentPaused aims owner-paused-past-ttl's pause at the
		// agents in turn (see pausing)
		everyAgentPaused bool
	}{
		// A batch lasts 60 ms: its worker must commit several times in
		// one, on either clock (the simulated clock's default is 100 ms).
		{"batch", batchAgent(true), batchDesign, []string{"owner-crash", "owner-isolated-past-ttl", "owner-paused-past-ttl"}, false, batchPace, true},
		{"batch-unfenced", batchAgent(false), batchDesign, []string{"owner-paused-past-ttl"}, true, batchPace, true},
		{"record", recordAgent(clean), recordDesign, []string{"owner-crash", "owner-isolated-past-ttl"}, false, 0, false},
		{"record-trusts-expired-lease", recordAgent(lazy), recordDesign, []string{"owner-isolated-past-ttl"}, true, 0, false},
	} {
		for _, name := range c.scenarios {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				parallelOnRealClock(t)
				sc, err := Find(name)
				if err != nil {
					t.Fatal(err)
				}
				if c.everyAgentPaused {
					sc = pausing(sc)
				}
				opts := testOptions(t)
				opts.System, opts.Agent, opts.Timeouts.CommitEvery = c.system, c.design, c.pace
				// A catch on the real clock depends on where the pause
				// falls in a batch: up to five runs, as the Session.Done()
				// test does. The simulated clock repeats its schedule.
				attempts := 1
				if c.caught && testClock == sim.RealClock {
					attempts = 5
				}
				var out *Outcome
				for range attempts {
					if out, err = Run(context.Background(), sc, opts); err != nil {
						t.Fatal(err)
					}
					if out.Verdict.Status == model.Fail {
						break
					}
				}
				switch {
				case c.caught && out.Verdict.Status != model.Fail:
					t.Fatalf("the bug went uncaught in %d runs: %s\nreport: %s", attempts, out.Verdict, out.Report)
				case !c.caught && out.Verdict.Status != model.Pass:
					t.Fatalf("a false alarm: %s\n%s\nreport: %s", out.Verdict, out.Verdict.First().Summary, out.Report)
				}
				assertExercised(t, sc, out.History)
			})
		}
	}
}

// pausing is sc with its pause aimed at every agent but the last in turn,
// 40 ms apart,
// instead of at a role: a batch agent's syncs have no owner between
// batches, and a batch (60 ms in a cycle of about 120) is what a pause must
// freeze for an unfenced write to be held and land late. On the simulated
// clock the catalogue's one pause at 1 s found every agent between batches
// in every run.
func pausing(sc *Scenario) *Scenario {
	c := *sc
	c.Steps = nil
	for _, s := range sc.Steps {
		if s.Fault != sim.Pause {
			c.Steps = append(c.Steps, s)
			continue
		}
		for i := 1; i < sc.Agents; i++ { // one agent stays up to take the syncs over
			p := s
			p.Target = sim.Target(sim.AgentName(i))
			p.At += sim.Duration(time.Duration(i-1) * 40 * time.Millisecond)
			c.Steps = append(c.Steps, p)
		}
	}
	return &c
}
