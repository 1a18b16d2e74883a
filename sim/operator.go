package sim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/syncsim/syncsim/agent"
)

// addSync creates or changes a sync as an operator would.
func (w *world) addSync(name, definition string) error {
	return operate(func(ctx context.Context) error {
		return agent.AddSync(ctx, w.operator, w.opts.Prefix, name, definition)
	})
}

// removeSync removes a sync as an operator would.
func (w *world) removeSync(name string) error {
	return operate(func(ctx context.Context) error { return agent.RemoveSync(ctx, w.operator, w.opts.Prefix, name) })
}

// compact compacts etcd's history at the current revision.
func (w *world) compact() error {
	return operate(func(ctx context.Context) error {
		resp, err := w.operator.Get(ctx, "compact")
		if err != nil {
			return err
		}
		// Compaction must not eat the harness's own record of etcd.
		if !w.log.caughtUp(ctx, resp.Header.Revision) {
			return fmt.Errorf("etcd's log did not reach revision %d to compact at", resp.Header.Revision)
		}
		_, err = w.operator.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
		if errors.Is(err, rpctypes.ErrCompacted) {
			return nil // an attempt that timed out got through
		}
		return err
	})
}

// operate runs an operator's request as an operator would: each attempt
// bounded by a second and retried for five. A request sent to a member that
// is paused or cut off hangs rather than fails, and the next attempt may
// reach another member. Every operator request is idempotent.
func operate(do func(ctx context.Context) error) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := do(ctx)
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

// clusterMembers is the in-process cluster as faults see it.
type clusterMembers struct{ c *Cluster }

func (m clusterMembers) size() int                            { return m.c.size() }
func (m clusterMembers) leader(down map[int]bool) (int, bool) { return m.c.leader(down) }
func (m clusterMembers) stop(i int) error                     { return m.c.stopMember(i) }
func (m clusterMembers) restart(i int) error                  { return m.c.restartMember(i) }
func (m clusterMembers) pause(i int)                          { m.c.pauseMember(i) }
func (m clusterMembers) resume(i int)                         { m.c.resumeMember(i) }
func (m clusterMembers) partition(group []int) error          { return m.c.partition(group, false) }
func (m clusterMembers) rejoin(group []int) error             { return m.c.partition(group, true) }
