package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxOpsPerTxn stays below etcd's default --max-txn-ops (128).
const maxOpsPerTxn = 100

// lead campaigns for leadership and, while leader, keeps the assignment
// balanced. A win is confirmed before acting (the lease may have expired
// meanwhile), and every write is guarded by the term.
func (inc *incarnation) lead() {
	retry := backoff{min: 50 * time.Millisecond, max: inc.cfg.LeaseTTL}
	for inc.ctx.Err() == nil {
		key, term, err := inc.campaign()
		if err == nil {
			err = inc.confirmLeader(key, term)
		}
		if err != nil {
			if inc.ctx.Err() == nil {
				inc.cfg.Logger.Debug("campaign failed", "err", err)
				retry.sleep(inc.ctx)
			}
			continue
		}
		retry.reset()
		inc.observe(Event{Kind: LeaderWon, Token: term})
		inc.cfg.Logger.Info("leading", "term", term)
		err = inc.leadTerm(key, term)
		inc.observe(Event{Kind: LeaderLost, Token: term, Err: err})
		inc.cfg.Logger.Info("stopped leading", "term", term, "err", err)
	}
}

// campaign puts this incarnation's candidate key under the election prefix,
// bound to its lease, and returns once no older candidate remains. The term
// is the key's create revision. (concurrency.Election is not used: on
// cancellation its Campaign resigns with the client's context, which hangs
// for as long as etcd is unreachable.)
func (inc *incarnation) campaign() (key string, term int64, err error) {
	key = fmt.Sprintf("%s%x", inc.k.leader(), int64(inc.lease))
	ctx, cancel := inc.request()
	resp, err := inc.cfg.Client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, inc.cfg.ID, clientv3.WithLease(inc.lease))).
		Else(clientv3.OpGet(key)).
		Commit()
	cancel()
	if err != nil {
		return "", 0, err
	}
	term = resp.Header.Revision
	if !resp.Succeeded {
		term = resp.Responses[0].GetResponseRange().Kvs[0].CreateRevision
	}
	for {
		ctx, cancel := inc.request()
		older, err := inc.cfg.Client.Get(ctx, inc.k.leader(),
			append(clientv3.WithLastCreate(), clientv3.WithPrefix(), clientv3.WithMaxCreateRev(term-1))...)
		cancel()
		if err != nil {
			return "", 0, err
		}
		if len(older.Kvs) == 0 {
			return key, term, nil
		}
		inc.waitDeleted(inc.ctx, string(older.Kvs[0].Key), older.Header.Revision)
		if inc.ctx.Err() != nil {
			return "", 0, inc.ctx.Err()
		}
	}
}

// confirmLeader checks that the lease is trusted and the leader key still
// exists with this term and lease.
func (inc *incarnation) confirmLeader(key string, term int64) error {
	if !inc.trusted() {
		return errors.New("lease not trusted")
	}
	ctx, cancel := inc.request()
	defer cancel()
	resp, err := inc.cfg.Client.Get(ctx, key)
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != term || resp.Kvs[0].Lease != int64(inc.lease) {
		return errDeposed
	}
	return nil
}

// leadTerm rebalances on every change of agents or syncs until deposed or the
// incarnation ends.
func (inc *incarnation) leadTerm(key string, term int64) error {
	ctx, cancel := context.WithCancel(inc.ctx)
	defer cancel()
	wake := newTrigger()
	go inc.hint(ctx, inc.k.agents(), wake.poke)
	go inc.hint(ctx, inc.k.syncs(), wake.poke)
	resync := time.NewTicker(inc.cfg.LeaseTTL)
	defer resync.Stop()
	for {
		if err := inc.rebalance(key, term); errors.Is(err, errDeposed) {
			return err
		} else if err != nil {
			inc.cfg.Logger.Debug("rebalance failed; retrying", "err", err)
			wake.poke()
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-wake:
			wake.debounce(ctx)
		case <-resync.C:
		}
	}
}

// rebalance reads agents, syncs and assignments at one revision and writes
// the changes Assign asks for, each txn guarded by the term.
func (inc *incarnation) rebalance(key string, term int64) error {
	if !inc.trusted() {
		return errors.New("lease not trusted")
	}
	ctx, cancel := inc.request()
	defer cancel()
	resp, err := inc.cfg.Client.Txn(ctx).Then(
		clientv3.OpGet(inc.k.agents(), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		clientv3.OpGet(inc.k.syncs(), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		clientv3.OpGet(inc.k.assignments(), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return err
	}
	var agents, syncs []string
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		agents = append(agents, name(inc.k.agents(), string(kv.Key)))
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		syncs = append(syncs, name(inc.k.syncs(), string(kv.Key)))
	}
	current := map[string]string{}
	for _, kv := range resp.Responses[2].GetResponseRange().Kvs {
		current[name(inc.k.assignments(), string(kv.Key))] = string(kv.Value)
	}
	next := Assign(agents, syncs, current)

	var changed []string
	for s := range current {
		if next[s] != current[s] {
			changed = append(changed, s)
		}
	}
	for s := range next {
		if _, ok := current[s]; !ok {
			changed = append(changed, s)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	slices.Sort(changed)
	guard := clientv3.Compare(clientv3.CreateRevision(key), "=", term)
	var rev int64
	for batch := range slices.Chunk(changed, maxOpsPerTxn) {
		ops := make([]clientv3.Op, 0, len(batch))
		for _, s := range batch {
			if a, ok := next[s]; ok {
				ops = append(ops, clientv3.OpPut(inc.k.assign(s), a))
			} else {
				ops = append(ops, clientv3.OpDelete(inc.k.assign(s)))
			}
		}
		ctx, cancel := inc.request()
		resp, err := inc.cfg.Client.Txn(ctx).If(guard).Then(ops...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("write assignments: %w", err)
		}
		if !resp.Succeeded {
			return errDeposed
		}
		rev = resp.Header.Revision
	}
	inc.observe(Event{Kind: Rebalanced, Token: term, Moves: len(changed), Rev: rev})
	return nil
}
