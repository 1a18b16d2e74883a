// Command lockagent-good is a small sync agent for the syncsim harness,
// written as a user would, outside syncsim: each sync is held through a lock
// key in etcd, and it is correct because
//
//   - every write to the target carries the lock key's create revision as
//     a fencing token, which the target checks, and every checkpoint commit
//     is guarded by that same token in etcd;
//   - it stops working before its lease could expire on the server: at the
//     send time of its last acknowledged keepalive plus the TTL, less a
//     margin. etcd's Session.Done() would fire later than that.
//
// Run it under the harness: syncsim run --agent 'lockagent-good' (see ../README.md).
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/syncsim/syncsim/agent/sink"
)

const (
	step = 50 * time.Millisecond  // how often a worker writes the next position
	poll = 200 * time.Millisecond // how often the agent looks for syncs and tries locks
)

func main() {
	env, err := sink.EnvFrom(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cli, err := clientv3.New(clientv3.Config{Endpoints: env.Endpoints, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	a := &agent{env: env, cli: cli, report: sink.NewClient(env, sink.Revision)}
	// Each pass is one lease; when the lease can no longer be trusted,
	// every worker has stopped, and the next pass takes a new lease.
	for ctx.Err() == nil {
		if err := a.run(ctx); err != nil && ctx.Err() == nil {
			log.Printf("lease ended: %v; starting again", err)
			time.Sleep(poll)
		}
	}
}

type agent struct {
	env    sink.Env
	cli    *clientv3.Client
	report *sink.Client
}

// run holds one lease: it keeps it alive, and runs a worker on every sync
// whose lock it takes, until ctx ends or the lease is no longer trusted.
func (a *agent) run(ctx context.Context) error {
	ttl := a.env.LeaseTTL
	sent := time.Now()
	lease, err := a.cli.Grant(ctx, int64(ttl/time.Second))
	if err != nil {
		return err
	}
	var deadline atomic.Int64 // unix nanos: work stops here
	trust := func(sent time.Time) { deadline.Store(sent.Add(ttl - ttl/4).UnixNano()) }
	trust(sent)
	trusted := func() bool { return time.Now().UnixNano() < deadline.Load() }

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	go func() {
		defer cancel()
		for ctx.Err() == nil && trusted() {
			sent := time.Now()
			kctx, kcancel := context.WithTimeout(ctx, ttl/3)
			_, err := a.cli.KeepAliveOnce(kctx, lease.ID)
			kcancel()
			if err == nil {
				trust(sent)
			}
			sleep(ctx, ttl/3)
		}
	}()
	working := map[string]context.CancelFunc{}
	for ctx.Err() == nil && trusted() {
		if syncs, err := a.syncs(ctx); err == nil {
			reconcile(ctx, working, syncs, func(ctx context.Context, name string) {
				wg.Go(func() { a.work(ctx, name, lease.ID, trusted) })
			})
		}
		sleep(ctx, poll)
	}
	cancel()
	wg.Wait() // workers stop before the lease is revoked
	rctx, rcancel := afterwards()
	defer rcancel()
	a.cli.Revoke(rctx, lease.ID)
	return fmt.Errorf("lease %x no longer trusted", lease.ID)
}

// reconcile starts a worker on each sync that has none, and stops the
// workers of syncs the operator removed.
func reconcile(ctx context.Context, working map[string]context.CancelFunc, syncs map[string]bool, start func(context.Context, string)) {
	for name, stop := range working {
		if !syncs[name] {
			stop()
			delete(working, name)
		}
	}
	for name := range syncs {
		if working[name] == nil {
			wctx, stop := context.WithCancel(ctx)
			working[name] = stop
			start(wctx, name)
		}
	}
}

func (a *agent) syncs(ctx context.Context) (map[string]bool, error) {
	resp, err := a.cli.Get(ctx, a.env.Prefix+"syncs/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, kv := range resp.Kvs {
		names[strings.TrimPrefix(string(kv.Key), a.env.Prefix+"syncs/")] = true
	}
	return names, nil
}

// work takes the sync's lock whenever it is free, and works while it holds it.
func (a *agent) work(ctx context.Context, name string, lease clientv3.LeaseID, trusted func() bool) {
	lock, offset := a.env.Prefix+"locks/"+name, a.env.Prefix+"offsets/"+name
	for ctx.Err() == nil && trusted() {
		resp, err := a.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(lock), "=", 0)).
			Then(clientv3.OpPut(lock, a.env.Agent, clientv3.WithLease(lease)), clientv3.OpGet(offset)).
			Commit()
		if err != nil || !resp.Succeeded {
			sleep(ctx, poll)
			continue
		}
		token := resp.Header.Revision // the lock key's create revision
		pos := int64(0)
		if kvs := resp.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
			pos, _ = strconv.ParseInt(string(kvs[0].Value), 10, 64)
		}
		a.hold(ctx, name, lock, offset, token, pos, trusted)
		// Release only what this tenure holds.
		rctx, rcancel := afterwards()
		a.cli.Txn(rctx).If(clientv3.Compare(clientv3.CreateRevision(lock), "=", token)).Then(clientv3.OpDelete(lock)).Commit()
		rcancel()
	}
}

// hold works on the sync with token until told to stop, the lease is no
// longer trusted, or the target or etcd refuses the token.
func (a *agent) hold(ctx context.Context, name, lock, offset string, token, pos int64, trusted func() bool) {
	if _, err := a.report.Started(ctx, sink.Started{Sync: name, Token: token, Position: pos}); err != nil {
		log.Printf("%s: cannot report the start: %v", name, err)
		return
	}
	defer func() {
		rctx, rcancel := afterwards()
		defer rcancel()
		a.report.Stopped(rctx, sink.Stopped{Sync: name, Token: token})
	}()
	for ctx.Err() == nil && trusted() {
		if err := a.report.Effect(ctx, sink.Effect{Sync: name, Token: token, Position: pos + 1}); err != nil {
			log.Printf("%s: target refused position %d: %v", name, pos+1, err)
			return
		}
		resp, err := a.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(lock), "=", token)).
			Then(clientv3.OpPut(offset, strconv.FormatInt(pos+1, 10))).
			Commit()
		switch {
		case err == nil && !resp.Succeeded:
			log.Printf("%s: lock %d is gone; stopping", name, token)
			return
		case err == nil:
			pos++
		}
		sleep(ctx, step)
	}
}

// afterwards bounds a request made once the work's context ended (a
// release, a report), so an unreachable etcd cannot hold up a stop.
func afterwards() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Second)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
