package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// worker is the member loop's record of one sync it works on.
type worker struct {
	sync     string
	defRev   int64 // mod revision of the definition the worker runs
	stop     chan struct{}
	stopping bool
}

// ctx returns a context also cancelled when the worker is told to stop.
func (w *worker) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// member runs the syncs assigned to this agent until the incarnation ends,
// then waits for every worker to stop and release.
func (inc *incarnation) member() {
	wake := newTrigger()
	inc.spawn(func() { inc.hint(inc.ctx, inc.k.assignments(), wake.poke) })
	inc.spawn(func() { inc.hint(inc.ctx, inc.k.syncs(), wake.poke) })
	resync := time.NewTicker(inc.cfg.LeaseTTL)
	defer resync.Stop()

	m := &memberState{inc: inc, workers: map[string]*worker{}, invalid: map[string]int64{}, exited: make(chan string)}
	for {
		if err := m.reconcile(); err != nil {
			inc.cfg.Logger.Debug("cannot list assignments; retrying", "err", err)
			wake.poke()
		}
		select {
		case <-inc.ctx.Done():
			for _, sync := range slices.Sorted(maps.Keys(m.workers)) {
				m.workers[sync].halt()
			}
			for len(m.workers) > 0 {
				delete(m.workers, <-m.exited)
			}
			return
		case name := <-m.exited:
			delete(m.workers, name)
		case <-wake:
			wake.debounce(inc.ctx)
		case <-resync.C:
		}
	}
}

// memberState is the member loop's state; only that loop touches it.
type memberState struct {
	inc     *incarnation
	workers map[string]*worker
	invalid map[string]int64 // sync -> mod revision of a definition already reported invalid
	exited  chan string
}

// halt tells the worker to stop; it releases once its Syncer returned.
func (w *worker) halt() {
	if !w.stopping {
		w.stopping = true
		close(w.stop)
	}
}

// reconcile starts a worker for every valid sync assigned here and stops the
// others, and any whose definition changed (it restarts once stopped). It
// lists definitions keys only and reads the values of just the syncs it
// starts, so a rebalance costs each agent little however large they are.
func (m *memberState) reconcile() error {
	inc := m.inc
	ctx, cancel := inc.request()
	defer cancel()
	resp, err := inc.cfg.Client.Txn(ctx).Then(
		clientv3.OpGet(inc.k.assignments(), clientv3.WithPrefix()),
		clientv3.OpGet(inc.k.syncs(), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		return err
	}
	mine := map[string]bool{}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		if string(kv.Value) == inc.cfg.ID {
			mine[name(inc.k.assignments(), string(kv.Key))] = true
		}
	}
	wanted := map[string]bool{}
	var start []string
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		sync := name(inc.k.syncs(), string(kv.Key))
		if !mine[sync] || m.invalid[sync] == kv.ModRevision {
			continue
		}
		wanted[sync] = true
		switch w, running := m.workers[sync]; {
		case !running && inc.trusted():
			start = append(start, sync)
		case running && w.defRev != kv.ModRevision:
			w.halt()
		}
	}
	// In name order, as everything the agent sends: the releases that
	// follow go out in an order its inputs decide, not the map's.
	for _, sync := range slices.Sorted(maps.Keys(m.workers)) {
		if !wanted[sync] {
			m.workers[sync].halt()
		}
	}
	for batch := range slices.Chunk(start, maxOpsPerTxn) {
		if err := m.start(ctx, batch, resp.Header.Revision); err != nil {
			return err
		}
	}
	return nil
}

// start reads the definitions of syncs as of rev and starts a worker for
// each valid one; an invalid one is reported once per revision and skipped.
func (m *memberState) start(ctx context.Context, syncs []string, rev int64) error {
	inc := m.inc
	ops := make([]clientv3.Op, len(syncs))
	for i, s := range syncs {
		ops[i] = clientv3.OpGet(inc.k.sync(s), clientv3.WithRev(rev))
	}
	resp, err := inc.cfg.Client.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return err
	}
	for i, sync := range syncs {
		kvs := resp.Responses[i].GetResponseRange().Kvs
		if len(kvs) == 0 {
			continue
		}
		kv := kvs[0]
		if err := ValidDefinition(kv.Value); err != nil {
			m.invalid[sync] = kv.ModRevision
			inc.cfg.Logger.Error("skipping sync with an invalid definition", "sync", sync, "err", err)
			inc.observe(Event{Kind: InvalidSync, Sync: sync, Err: err})
			continue
		}
		delete(m.invalid, sync)
		w := &worker{sync: sync, defRev: kv.ModRevision, stop: make(chan struct{})}
		m.workers[sync] = w
		inc.spawn(func() {
			defer func() { m.exited <- sync }()
			inc.work(w, kv.Value)
		})
	}
	return nil
}

// work claims the sync, runs the Syncer until told to stop, waits for it to
// return, and only then releases the claim.
func (inc *incarnation) work(w *worker, definition []byte) {
	t, ok := inc.claim(w)
	if !ok {
		return
	}
	work := NewWork(w.sync, definition, t.token, t.checkpoint, func(ctx context.Context, cp []byte) error {
		return inc.commit(ctx, t, cp)
	})

	ctx, cancel := context.WithCancel(inc.ctx)
	defer cancel()
	returned := make(chan struct{})
	var runErr error
	go func() {
		defer close(returned)
		runErr = inc.cfg.Syncer.Run(ctx, work)
	}()
	select {
	case <-w.stop:
	case <-inc.ctx.Done():
	case <-returned:
		// The Syncer gave up on its own; it has stopped, so release and let
		// the next reconcile start it again.
		inc.cfg.Logger.Warn("syncer returned", "sync", w.sync, "err", runErr)
	}
	cancel()
	select {
	case <-returned:
	case <-time.After(inc.cfg.StopTimeout):
		inc.cfg.Logger.Error("worker did not stop; keeping the claim and stopping the agent", "sync", w.sync, "timeout", inc.cfg.StopTimeout)
		inc.stuck.Store(true)
		inc.fence(fmt.Errorf("%w: sync %s", ErrWorkerStuck, w.sync))
		return
	}
	inc.release(w.sync, t.token)
}

// tenure is one claim on a sync: its fencing token, and the checkpoint as
// last seen, whose mod revision every commit compares against so that a
// write delayed in the network can never overwrite a newer one.
type tenure struct {
	sync       string
	token      int64
	checkpoint []byte

	mu  sync.Mutex // commits may come from several goroutines
	rev int64      // mod revision of the checkpoint as last seen; 0 for none
}

func newTenure(sync string, token int64, cp []*mvccpb.KeyValue) *tenure {
	t := &tenure{sync: sync, token: token}
	if len(cp) > 0 {
		t.checkpoint, t.rev = cp[0].Value, cp[0].ModRevision
	}
	return t
}

// claim creates the claim once the previous one is gone. The claim txn also
// reads the checkpoint, so the worker resumes from the last committed one.
func (inc *incarnation) claim(w *worker) (*tenure, bool) {
	key, assign := inc.k.claim(w.sync), inc.k.assign(w.sync)
	retry := backoff{min: 20 * time.Millisecond, max: inc.cfg.RequestTimeout}
	began := time.Now()
	for {
		select {
		case <-w.stop:
			return nil, false
		default:
		}
		if !inc.trusted() {
			return nil, false
		}
		inc.observe(Event{Kind: ClaimStart, Sync: w.sync})
		ctx, cancel := inc.request()
		resp, err := inc.cfg.Client.Txn(ctx).
			If(
				clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
				clientv3.Compare(clientv3.Value(assign), "=", inc.cfg.ID),
				clientv3.Compare(clientv3.CreateRevision(inc.k.sync(w.sync)), ">", 0),
			).
			Then(
				clientv3.OpPut(key, inc.cfg.ID, clientv3.WithLease(inc.lease)),
				clientv3.OpGet(inc.k.checkpoint(w.sync)),
			).
			Else(clientv3.OpGet(key)).
			Commit()
		cancel()
		switch {
		case err != nil:
			inc.observe(Event{Kind: ClaimDone, Sync: w.sync, Err: fmt.Errorf("%w: %w", ErrUnknownOutcome, err)})
			// Resolve the unknown outcome by reading, never by retrying blindly.
			if t, ok := inc.heldClaim(w.sync); ok {
				inc.observe(Event{Kind: ClaimDone, Sync: w.sync, Token: t.token, Elapsed: time.Since(began)})
				return t, true
			}
			retry.sleep(inc.ctx)
		case resp.Succeeded:
			t := newTenure(w.sync, resp.Header.Revision, resp.Responses[1].GetResponseRange().Kvs)
			inc.observe(Event{Kind: ClaimDone, Sync: w.sync, Token: t.token, Elapsed: time.Since(began)})
			return t, true
		default:
			inc.observe(Event{Kind: ClaimDone, Sync: w.sync, Err: ErrFenced})
			held := resp.Responses[0].GetResponseRange().Kvs
			if len(held) == 0 {
				return nil, false // no longer assigned here, or the sync is gone
			}
			if held[0].Lease == int64(inc.lease) {
				// Ours, from an earlier worker whose release is unknown: resume it.
				if t, ok := inc.heldClaim(w.sync); ok {
					inc.observe(Event{Kind: ClaimDone, Sync: w.sync, Token: t.token, Elapsed: time.Since(began)})
					return t, true
				}
				retry.sleep(inc.ctx)
				continue
			}
			ctx, cancel := w.ctx(inc.ctx)
			inc.waitDeleted(ctx, key, resp.Header.Revision)
			cancel()
		}
	}
}

// heldClaim reports whether this incarnation holds the claim on sync, with its
// token and the committed checkpoint.
func (inc *incarnation) heldClaim(sync string) (*tenure, bool) {
	ctx, cancel := inc.request()
	defer cancel()
	resp, err := inc.cfg.Client.Txn(ctx).Then(
		clientv3.OpGet(inc.k.claim(sync)),
		clientv3.OpGet(inc.k.checkpoint(sync)),
	).Commit()
	if err != nil {
		return nil, false
	}
	claim := resp.Responses[0].GetResponseRange().Kvs
	if len(claim) == 0 || claim[0].Lease != int64(inc.lease) {
		return nil, false
	}
	return newTenure(sync, claim[0].CreateRevision, resp.Responses[1].GetResponseRange().Kvs), true
}

// waitDeleted returns once key is deleted after revision rev, ctx is done,
// or one TTL passed (the caller then looks again).
func (inc *incarnation) waitDeleted(ctx context.Context, key string, rev int64) {
	ctx, cancel := context.WithTimeout(ctx, inc.cfg.LeaseTTL)
	defer cancel()
	for resp := range inc.cfg.Client.Watch(ctx, key, clientv3.WithRev(rev+1)) {
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypeDelete {
				return
			}
		}
		if resp.Err() != nil {
			return
		}
	}
}

// release deletes the claim if it still carries token. While the incarnation
// lives it retries until it knows the claim is gone; once the incarnation
// ended, the lease's revocation or expiry removes the claim anyway.
func (inc *incarnation) release(sync string, token int64) {
	key := inc.k.claim(sync)
	inc.observe(Event{Kind: ReleaseStart, Sync: sync, Token: token})
	retry := backoff{min: 20 * time.Millisecond, max: inc.cfg.RequestTimeout}
	for {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(inc.ctx), inc.cfg.RequestTimeout)
		_, err := inc.cfg.Client.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", token)).
			Then(clientv3.OpDelete(key)).
			Commit()
		cancel()
		if err == nil {
			inc.observe(Event{Kind: ReleaseDone, Sync: sync, Token: token})
			return
		}
		if inc.ctx.Err() != nil {
			inc.observe(Event{Kind: ReleaseDone, Sync: sync, Token: token, Err: fmt.Errorf("%w: %w", ErrUnknownOutcome, err)})
			return
		}
		retry.sleep(inc.ctx)
	}
}

// commit stores a checkpoint under the tenure's claim, and only over the
// checkpoint it last saw: a request delayed in the network and applied
// late then fails its comparison instead of moving the checkpoint back.
// An unknown outcome is resolved by reading, while the caller still wants
// an answer; a read can prove a write happened, never that it will not.
func (inc *incarnation) commit(ctx context.Context, t *tenure, checkpoint []byte) (err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	began := time.Now()
	defer func() {
		inc.observe(Event{Kind: Committed, Sync: t.sync, Token: t.token, Elapsed: time.Since(began), Err: err})
		inc.logCommit(ctx, t, checkpoint, time.Since(began), err)
	}()
	if !inc.trusted() {
		return ErrFenced
	}
	claimKey, cpKey := inc.k.claim(t.sync), inc.k.checkpoint(t.sync)
	rctx, cancel := context.WithTimeout(ctx, inc.cfg.RequestTimeout)
	resp, err := inc.cfg.Client.Txn(rctx).
		If(
			clientv3.Compare(clientv3.CreateRevision(claimKey), "=", t.token),
			clientv3.Compare(clientv3.ModRevision(cpKey), "=", t.rev),
		).
		Then(clientv3.OpPut(cpKey, string(checkpoint))).
		Else(clientv3.OpGet(claimKey), clientv3.OpGet(cpKey)).
		Commit()
	cancel()
	switch {
	case err == nil && resp.Succeeded:
		t.rev = resp.Header.Revision
		return nil
	case err == nil: // definitely not applied
		return t.settle(resp.Responses[0].GetResponseRange().Kvs, resp.Responses[1].GetResponseRange().Kvs, checkpoint, nil)
	case ctx.Err() != nil || !inc.trusted():
		return fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
	}
	rctx, cancel = context.WithTimeout(ctx, inc.cfg.RequestTimeout)
	defer cancel()
	read, rerr := inc.cfg.Client.Txn(rctx).Then(clientv3.OpGet(claimKey), clientv3.OpGet(cpKey)).Commit()
	if rerr != nil {
		return fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
	}
	return t.settle(read.Responses[0].GetResponseRange().Kvs, read.Responses[1].GetResponseRange().Kvs, checkpoint, fmt.Errorf("%w: %w", ErrUnknownOutcome, err))
}

// logCommit writes one debug line per commit. Enabled is asked first: at
// the usual level a commit then costs no formatting.
func (inc *incarnation) logCommit(ctx context.Context, t *tenure, checkpoint []byte, took time.Duration, err error) {
	log := inc.cfg.Logger
	if !log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []any{"sync", t.sync, "token", t.token, "checkpoint", brief(checkpoint), "took", took}
	if err != nil {
		log.Debug("checkpoint not committed", append(attrs, "err", err)...)
		return
	}
	log.Debug("committed checkpoint", append(attrs, "rev", t.rev)...)
}

// maxLogged bounds a checkpoint as logged: checkpoints are opaque and may be large.
const maxLogged = 64

// brief is b as a string, cut to maxLogged bytes with its length noted.
func brief(b []byte) string {
	if len(b) <= maxLogged {
		return string(b)
	}
	return fmt.Sprintf("%s...(%d bytes)", strings.ToValidUTF8(string(b[:maxLogged]), ""), len(b))
}

// settle interprets the claim and checkpoint as read after a commit that
// did not plainly succeed. unknown is nil when the commit was definitely not
// applied, else the error to report when nothing more can be said. The
// checkpoint holding our value means an attempt of ours landed.
func (t *tenure) settle(claim, cp []*mvccpb.KeyValue, checkpoint []byte, unknown error) error {
	if len(cp) > 0 {
		t.rev = cp[0].ModRevision
	}
	ours := len(claim) > 0 && claim[0].CreateRevision == t.token
	switch {
	case ours && len(cp) > 0 && string(cp[0].Value) == string(checkpoint):
		return nil
	case unknown != nil:
		return unknown
	case !ours:
		return ErrFenced
	}
	return fmt.Errorf("%w: an earlier commit landed late; the checkpoint moved", ErrNotStored)
}

func (inc *incarnation) observe(e Event) {
	e.Lease = int64(inc.lease)
	inc.cfg.Observer.Observe(e)
}

var errDeposed = errors.New("deposed: the leader key is gone or belongs to a newer term")
