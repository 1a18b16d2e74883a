package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// An incarnation is one life of the agent, bound to one lease. It ends when
// the agent stops or the lease can no longer be trusted; all its workers have
// stopped by then.
type incarnation struct {
	cfg   Config
	k     keys
	lease clientv3.LeaseID

	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	// base is when the incarnation began; trustedFor is how long after base
	// the lease is certainly still alive on the server (monotonic clock).
	base       time.Time
	trustedFor atomic.Int64
	fenceOnce  sync.Once
	stuck      atomic.Bool
}

// register creates the agent key bound to a new lease. A key left by the
// agent's previous incarnation is revoked; one held by another live agent is
// waited out for two TTLs (a crashed predecessor's lease expires in one) and
// then refused with ErrDuplicateID.
func register(ctx context.Context, cfg Config, k keys, previous clientv3.LeaseID) (*incarnation, error) {
	giveUp := time.Now().Add(2*cfg.LeaseTTL + time.Second)
	for {
		cfg.Alive()
		rctx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
		held, err := cfg.Client.Get(rctx, k.agent(cfg.ID))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", k.agent(cfg.ID), err)
		}
		if len(held.Kvs) > 0 {
			owner := clientv3.LeaseID(held.Kvs[0].Lease)
			switch {
			case previous != 0 && owner == previous:
				revoke(ctx, cfg, owner)
			case time.Now().After(giveUp):
				return nil, fmt.Errorf("%w: %s is held by lease %x", ErrDuplicateID, k.agent(cfg.ID), int64(owner))
			default:
				sleep(ctx, cfg.LeaseTTL/4)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}

		base := time.Now()
		rctx, cancel = context.WithTimeout(ctx, cfg.RequestTimeout)
		grant, err := cfg.Client.Grant(rctx, int64(cfg.LeaseTTL/time.Second))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("grant a lease: %w", err)
		}
		key := k.agent(cfg.ID)
		rctx, cancel = context.WithTimeout(ctx, cfg.RequestTimeout)
		resp, err := cfg.Client.Txn(rctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, cfg.ID, clientv3.WithLease(grant.ID))).
			Commit()
		cancel()
		if err != nil || !resp.Succeeded {
			revoke(ctx, cfg, grant.ID)
			if err != nil {
				return nil, fmt.Errorf("create %s: %w", key, err)
			}
			continue // another incarnation won the race; look again
		}
		inc := &incarnation{cfg: cfg, k: k, lease: grant.ID, base: base}
		inc.extend(base, grant.TTL)
		cfg.Observer.Observe(Event{Kind: Registered, Lease: int64(grant.ID)})
		cfg.Logger.Info("registered", "lease", fmt.Sprintf("%x", int64(grant.ID)))
		return inc, nil
	}
}

func revoke(ctx context.Context, cfg Config, lease clientv3.LeaseID) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.RequestTimeout)
	defer cancel()
	if _, err := cfg.Client.Revoke(rctx, lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		cfg.Logger.Warn("cannot revoke lease; it will expire", "lease", fmt.Sprintf("%x", int64(lease)), "err", err)
	}
}

// run serves the incarnation until it ends, then revokes its lease, which
// deletes its agent key, its leader key and any claim not yet released.
func (inc *incarnation) run(parent context.Context) error {
	inc.ctx, inc.cancel = context.WithCancelCause(parent)
	defer inc.cancel(nil)
	inc.spawn(inc.keepAlive)
	inc.spawn(inc.watchdog)
	inc.spawn(inc.lead)
	inc.member()
	inc.wg.Wait()
	if inc.stuck.Load() {
		// A worker may still be running: keep the claim until the lease expires.
		return ErrWorkerStuck
	}
	revoke(parent, inc.cfg, inc.lease)
	inc.cfg.Logger.Info("incarnation ended", "lease", fmt.Sprintf("%x", int64(inc.lease)), "cause", context.Cause(inc.ctx))
	return nil
}

func (inc *incarnation) spawn(f func()) {
	inc.wg.Add(1)
	go func() {
		defer inc.wg.Done()
		f()
	}()
}

// fence ends the incarnation: every worker is told to stop.
func (inc *incarnation) fence(cause error) {
	inc.fenceOnce.Do(func() {
		if inc.ctx.Err() == nil {
			inc.cfg.Logger.Warn("fencing", "cause", cause)
			inc.cfg.Observer.Observe(Event{Kind: Fenced, Lease: int64(inc.lease), Err: cause})
		}
		inc.cancel(cause)
	})
}

// extend records an acknowledged keepalive sent at sent: the server cannot
// expire the lease before sent + ttl, so the agent trusts it until that
// instant less the safety margin.
func (inc *incarnation) extend(sent time.Time, ttlSeconds int64) {
	until := int64(sent.Sub(inc.base) + time.Duration(ttlSeconds)*time.Second - inc.cfg.SafetyMargin)
	for {
		old := inc.trustedFor.Load()
		if until <= old || inc.trustedFor.CompareAndSwap(old, until) {
			return
		}
	}
}

// untilDeadline is how long the lease remains trusted; <= 0 once it is not.
func (inc *incarnation) untilDeadline() time.Duration {
	return time.Duration(inc.trustedFor.Load()) - time.Since(inc.base)
}

func (inc *incarnation) trusted() bool {
	return inc.ctx.Err() == nil && inc.untilDeadline() > 0
}

// keepAlive renews the lease every TTL/3, remembering when each acknowledged
// request was sent. A renewal that fails is retried soon, not at the next
// slot: one lost packet must not cost a whole interval of trust.
func (inc *incarnation) keepAlive() {
	every := inc.cfg.LeaseTTL / 3
	for inc.ctx.Err() == nil {
		inc.cfg.Alive()
		sent := time.Now()
		ctx, cancel := context.WithTimeout(inc.ctx, every/2)
		resp, err := inc.cfg.Client.KeepAliveOnce(ctx, inc.lease)
		cancel()
		switch {
		case err == nil:
			inc.extend(sent, resp.TTL)
			sleep(inc.ctx, time.Until(sent.Add(every)))
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			inc.fence(fmt.Errorf("lease %x expired", int64(inc.lease)))
			return
		default:
			inc.cfg.Logger.Debug("keepalive failed; retrying", "err", err)
			sleep(inc.ctx, every/10)
		}
	}
}

// watchdog fences the incarnation the moment its lease stops being trusted.
func (inc *incarnation) watchdog() {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-inc.ctx.Done():
			return
		case <-t.C:
		}
		left := inc.untilDeadline()
		if left <= 0 {
			inc.fence(errors.New("no keepalive acknowledged in time: the lease may expire"))
			return
		}
		t.Reset(left)
	}
}

// request bounds one etcd request by the incarnation and RequestTimeout.
func (inc *incarnation) request() (context.Context, context.CancelFunc) {
	return context.WithTimeout(inc.ctx, inc.cfg.RequestTimeout)
}

// hint calls poke once a watch on prefix is established and again on every
// change below it, until ctx is done. Watches are only hints: the caller
// re-lists on every poke, and the re-list after the watch is established
// sees everything that happened before it.
func (inc *incarnation) hint(ctx context.Context, prefix string, poke func()) {
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(ctx)
		for resp := range inc.cfg.Client.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify()) {
			if resp.Err() != nil {
				break
			}
			poke()
		}
		cancel()
		sleep(ctx, inc.cfg.RequestTimeout/4)
	}
}

// trigger is a one-slot wake-up signal.
type trigger chan struct{}

func newTrigger() trigger { return make(trigger, 1) }

func (t trigger) poke() {
	select {
	case t <- struct{}{}:
	default:
	}
}

// debounce waits briefly so a burst of changes causes one re-list.
func (t trigger) debounce(ctx context.Context) {
	sleep(ctx, 20*time.Millisecond)
	select {
	case <-t:
	default:
	}
}
