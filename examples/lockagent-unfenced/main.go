// Command lockagent-unfenced is lockagent-good with a classic mistake, as
// found in the wild: it trusts etcd's Session.Done() to say when its lease
// is gone, and commits its checkpoint with a plain put. Session.Done() fires
// only after the client's own deadline, which starts when a keepalive
// answer arrives, after the server's timer restarted: an agent cut off from
// etcd keeps working past the moment its lease expired on the server and
// another agent took its lock. The harness catches it (P1) in
// owner-isolated-past-ttl.
//
// Run it under the harness: syncsim run --agent 'lockagent-unfenced' (see ../README.md).
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
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
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
	// Each pass is one session; when it is done, every worker has
	// stopped, and the next pass opens a new one.
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

// run holds one session: it runs a worker on every sync whose lock it
// takes, until ctx ends or the session is done.
func (a *agent) run(ctx context.Context) error {
	session, err := concurrency.NewSession(a.cli, concurrency.WithTTL(int(a.env.LeaseTTL/time.Second)), concurrency.WithContext(ctx))
	if err != nil {
		return err
	}
	defer session.Close()
	// MISTAKE: Session.Done() closes too late to stop work safely.
	trusted := func() bool {
		select {
		case <-session.Done():
			return false
		default:
			return true
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	working := map[string]context.CancelFunc{}
	for ctx.Err() == nil && trusted() {
		if syncs, err := a.syncs(ctx); err == nil {
			reconcile(ctx, working, syncs, func(ctx context.Context, name string) {
				wg.Go(func() { a.work(ctx, name, session.Lease(), trusted) })
			})
		}
		sleep(ctx, poll)
	}
	cancel()
	wg.Wait()
	return fmt.Errorf("session of lease %x is done", session.Lease())
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
		// MISTAKE: an unguarded put; a late one overwrites a newer owner's offset.
		if _, err := a.cli.Put(ctx, offset, strconv.FormatInt(pos+1, 10)); err == nil {
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
