package scenarios

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/model"
)

// lockAgent is a deliberately small agent of a user's own: whoever holds one
// etcd lock runs every sync. It shows what a sim.System must do: use
// cfg.Client under cfg.Prefix, hand each sync to cfg.Syncer with a fenced
// commit, and return once ctx is cancelled and its workers stopped. It
// trusts Session.Done(), which closes only once the lease has expired, so
// an isolated holder works on until about the moment its successor takes
// the lock: the two race, within the lease's check intervals, and a run of
// owner-isolated-past-ttl may or may not catch the overlap (its fenced
// commits keep P2). It survives owner-crash.
func lockAgent(ctx context.Context, cfg agent.Config) error {
	session, err := concurrency.NewSession(cfg.Client, concurrency.WithTTL(int(cfg.LeaseTTL/time.Second)))
	if err != nil {
		return err
	}
	defer session.Close()
	lock := concurrency.NewMutex(session, cfg.Prefix+"lock")
	if err := lock.Lock(ctx); err != nil {
		return nil // stopped while waiting
	}
	held, err := cfg.Client.Get(ctx, lock.Key())
	if err != nil || len(held.Kvs) == 0 {
		return nil
	}
	token := held.Kvs[0].CreateRevision
	syncs, err := cfg.Client.Get(ctx, cfg.Prefix+"syncs/", clientv3.WithPrefix())
	if err != nil {
		return nil
	}

	work, stop := context.WithCancel(ctx)
	var workers sync.WaitGroup
	for _, kv := range syncs.Kvs {
		name := strings.TrimPrefix(string(kv.Key), cfg.Prefix+"syncs/")
		checkpointKey := cfg.Prefix + "checkpoints/" + name
		cp, err := cfg.Client.Get(ctx, checkpointKey)
		if err != nil {
			continue
		}
		var resume []byte
		if len(cp.Kvs) > 0 {
			resume = cp.Kvs[0].Value
		}
		commit := func(ctx context.Context, checkpoint []byte) error {
			resp, err := cfg.Client.Txn(ctx).
				If(clientv3.Compare(clientv3.CreateRevision(lock.Key()), "=", token)).
				Then(clientv3.OpPut(checkpointKey, string(checkpoint))).
				Commit()
			switch {
			case err != nil:
				return agent.ErrUnknownOutcome
			case !resp.Succeeded:
				return agent.ErrFenced
			}
			return nil
		}
		workers.Go(func() { cfg.Syncer.Run(work, agent.NewWork(name, kv.Value, token, resume, commit)) })
	}
	select {
	case <-ctx.Done():
	case <-session.Done():
	}
	stop()
	workers.Wait()
	unlock, cancel := context.WithTimeout(context.Background(), cfg.LeaseTTL)
	defer cancel()
	lock.Unlock(unlock)
	return nil
}

// TestYourOwnAgent drives a user's own agent through a catalogue scenario:
// the same harness, scenarios and checkers as the reference agent.
func TestYourOwnAgent(t *testing.T) {
	sc, err := Find("owner-crash")
	if err != nil {
		t.Fatal(err)
	}
	// One holder runs every sync, so the lock agent cannot balance: a
	// System that declares nothing is judged on progress without balance,
	// and without the reference layout's checks of etcd's log.
	opts := testOptions(t)
	opts.System = lockAgent
	out, err := Run(context.Background(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if out.Verdict.Status != model.Pass {
		t.Fatalf("%s\n%s\nreport: %s", out.Verdict, out.Verdict.First().Summary, out.Report)
	}
	assertExercised(t, sc, out.History)
	if n := len(model.Intervals(out.History)); n < 2*sc.Syncs {
		t.Fatalf("%d work intervals: the crashed lock holder's syncs did not move", n)
	}
}
