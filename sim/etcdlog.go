package sim

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

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
	ctx, cancel := context.WithCancel(context.Background())
	l := &etcdLog{w: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		ch := w.operator.Watch(ctx, w.opts.Prefix, clientv3.WithPrefix(), clientv3.WithRev(1), clientv3.WithPrevKV())
		for resp := range ch {
			if err := resp.Err(); err != nil {
				w.rec.record(model.Event{Kind: model.Skipped, Detail: fmt.Sprintf("etcd's log is incomplete: the watch failed: %v", err)})
				return
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
			}
			l.seen.Store(resp.Header.Revision)
		}
	}()
	return l
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
	for l.seen.Load() < resp.Header.Revision {
		if err := l.w.operator.RequestProgress(ctx); err != nil || ctx.Err() != nil {
			l.w.rec.record(model.Event{Kind: model.Skipped, Detail: fmt.Sprintf("etcd's log is incomplete: the watch reached revision %d of %d", l.seen.Load(), resp.Header.Revision)})
			return
		}
		sleepCtx(ctx, 20*time.Millisecond)
	}
}
