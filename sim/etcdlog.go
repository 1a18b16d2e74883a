package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/syncsim/syncsim/model"
)

// etcdLog records every change under the prefix, in revision order, from a
// watch started before the run's first write: etcd's own account, against
// which model cross-checks what the agents reported.
type etcdLog struct {
	w      *world
	cancel context.CancelFunc
	done   chan struct{}
	seen   atomic.Int64 // the highest revision the watch has reported
}

func (w *world) watchLog() *etcdLog {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(context.Background()))
	l := &etcdLog{w: w, cancel: cancel, done: make(chan struct{})}
	w.log = l
	go func() {
		defer close(l.done)
		// A watch served by a member that lost its leader ends ("no
		// leader"); the next one starts where it stopped, on whichever
		// member the client picks. Only compaction past the last revision
		// seen loses events, and compact steps wait for the log first.
		for ctx.Err() == nil {
			ch := w.operator.Watch(ctx, w.opts.Prefix, clientv3.WithPrefix(), clientv3.WithRev(l.seen.Load()+1), clientv3.WithPrevKV())
			for resp := range ch {
				if err := resp.Err(); err != nil {
					if errors.Is(err, rpctypes.ErrCompacted) {
						w.rec.record(model.Event{Kind: model.Skipped, Detail: fmt.Sprintf("etcd's log is incomplete: the watch failed: %v", err)})
						return
					}
					break
				}
				for _, ev := range resp.Events {
					e := model.Event{Key: strings.TrimPrefix(string(ev.Kv.Key), w.opts.Prefix), Rev: ev.Kv.ModRevision}
					if ev.Type == clientv3.EventTypeDelete {
						e.Kind = model.EtcdDelete
						if ev.PrevKv != nil {
							e.Token, e.Lease = ev.PrevKv.CreateRevision, ev.PrevKv.Lease
						}
					} else {
						e.Kind, e.Value, e.Token, e.Lease = model.EtcdPut, string(ev.Kv.Value), ev.Kv.CreateRevision, ev.Kv.Lease
					}
					w.rec.record(e)
					l.seen.Store(ev.Kv.ModRevision)
				}
				l.seen.Store(max(l.seen.Load(), resp.Header.Revision))
			}
			sleepCtx(ctx, 20*time.Millisecond)
		}
	}()
	return l
}

// caughtUp waits until the log has reported revision rev or ctx ends.
func (l *etcdLog) caughtUp(ctx context.Context, rev int64) bool {
	// A progress request reaches the watch streams opened with the same
	// metadata, so it must require a leader as the watch does.
	ctx = clientv3.WithRequireLeader(ctx)
	for l.seen.Load() < rev {
		if err := l.w.operator.RequestProgress(ctx); err != nil || ctx.Err() != nil {
			return false
		}
		sleepCtx(ctx, 20*time.Millisecond)
	}
	return true
}

// finish waits until the watch has reported etcd's current revision, then
// stops it. A log that cannot catch up is recorded as incomplete.
func (l *etcdLog) finish() {
	defer func() {
		l.cancel()
		<-l.done
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := l.w.operator.Get(ctx, "log-end")
	if err != nil {
		l.w.rec.record(model.Event{Kind: model.Skipped, Detail: fmt.Sprintf("etcd's log may be incomplete: cannot read the last revision: %v", err)})
		return
	}
	if !l.caughtUp(ctx, resp.Header.Revision) {
		l.w.rec.record(model.Event{Kind: model.Skipped, Detail: fmt.Sprintf("etcd's log is incomplete: the watch reached revision %d of %d", l.seen.Load(), resp.Header.Revision)})
	}
}
