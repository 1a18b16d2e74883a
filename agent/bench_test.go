package agent_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/syncsim/syncsim/agent"
)

// BenchmarkAssign: 1,000 agents and 100,000 syncs, rebalancing after one
// agent joined a balanced fleet.
func BenchmarkAssign(b *testing.B) {
	var agents, syncs []string
	for i := range 1000 {
		agents = append(agents, fmt.Sprintf("agent-%04d", i))
	}
	for i := range 100_000 {
		syncs = append(syncs, fmt.Sprintf("sync-%06d", i))
	}
	current := agent.Assign(agents[:999], syncs, nil)
	b.ResetTimer()
	for b.Loop() {
		agent.Assign(agents, syncs, current)
	}
}

// field watches a fleet of idle workers: when each started and stopped.
type field struct {
	mu     sync.Mutex
	owner  map[string]string    // sync -> agent working on it
	start  map[string]time.Time // sync -> when its current worker started
	stop   map[string]time.Time // sync -> when its last worker exited
	double int                  // times a sync had two workers
}

func newField() *field {
	return &field{owner: map[string]string{}, start: map[string]time.Time{}, stop: map[string]time.Time{}}
}

func (f *field) syncer(id string) agent.Syncer {
	return syncerFunc(func(ctx context.Context, w *agent.Work) error {
		f.mu.Lock()
		if _, ok := f.owner[w.Sync]; ok {
			f.double++
		}
		f.owner[w.Sync], f.start[w.Sync] = id, time.Now()
		f.mu.Unlock()
		<-ctx.Done()
		f.mu.Lock()
		delete(f.owner, w.Sync)
		f.stop[w.Sync] = time.Now()
		f.mu.Unlock()
		return nil
	})
}

// balanced reports whether all n syncs have a worker and the loads of the
// given agents differ by at most one.
func (f *field) balanced(n int, agents []string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.owner) != n {
		return false
	}
	load := map[string]int{}
	for _, a := range f.owner {
		load[a]++
	}
	lo, hi := n, 0
	for _, a := range agents {
		lo, hi = min(lo, load[a]), max(hi, load[a])
	}
	return hi-lo <= 1
}

type fleetRun struct {
	clus    *integration.Cluster
	clients []*clientv3.Client
	field   *field
	cancels map[string]context.CancelFunc
	done    map[string]chan error
}

// startFleet starts a cluster holding syncs; stopAll ends both. The caller
// has entered the framework's test context once.
func startFleet(b *testing.B, members, syncs int) *fleetRun {
	clus := integration.NewCluster(b, &integration.ClusterConfig{Size: members, UseTCP: true})
	r := &fleetRun{clus: clus, field: newField(), cancels: map[string]context.CancelFunc{}, done: map[string]chan error{}}
	for i := range members {
		r.clients = append(r.clients, clus.Client(i))
	}
	ctx := context.Background()
	for i := 0; i < syncs; i += 100 {
		var ops []clientv3.Op
		for j := i; j < min(i+100, syncs); j++ {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("/t/syncs/s%05d", j), "{}"))
		}
		if _, err := r.clients[0].Txn(ctx).Then(ops...).Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

// add starts agent id on its own client, so it can be crashed alone.
func (r *fleetRun) add(b *testing.B, id string, client *clientv3.Client, ttl time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancels[id], r.done[id] = cancel, make(chan error, 1)
	go func() {
		r.done[id] <- agent.Run(ctx, agent.Config{Client: client, Prefix: "/t/", ID: id, LeaseTTL: ttl, Syncer: r.field.syncer(id)})
	}()
}

func (r *fleetRun) stopAll(b *testing.B) {
	for id, cancel := range r.cancels {
		cancel()
		<-r.done[id]
	}
	r.clus.Terminate(b)
}

func waitUntil(b *testing.B, limit time.Duration, what string, cond func() bool) {
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %v waiting until %s", limit, what)
		}
	}
}

// BenchmarkJoin: 20 agents share 2,000 syncs on a 3-member cluster; a 21st
// joins. Reported: seconds from its start to a balanced fleet, syncs moved,
// etcd revisions (write txns) per moved sync, and the median and worst
// planned handover (old worker exited .. new worker started).
func BenchmarkJoin(b *testing.B) {
	integration.BeforeTestExternal(b)
	for range b.N {
		b.StopTimer()
		const syncs = 2000
		r := startFleet(b, 3, syncs)
		var ids []string
		for i := range 20 {
			ids = append(ids, fmt.Sprintf("a%02d", i))
			r.add(b, ids[i], r.clients[i%3], 5*time.Second)
		}
		waitUntil(b, time.Minute, "20 agents share the syncs", func() bool { return r.field.balanced(syncs, ids) })
		before := r.owners()
		rev0 := r.revision(b)

		b.StartTimer()
		began := time.Now()
		ids = append(ids, "joiner")
		r.add(b, "joiner", r.clients[0], 5*time.Second)
		waitUntil(b, time.Minute, "21 agents share the syncs", func() bool { return r.field.balanced(syncs, ids) })
		b.StopTimer()

		converged := time.Since(began)
		after := r.owners()
		var handovers []time.Duration
		r.field.mu.Lock()
		for s, a := range after {
			if before[s] != a {
				handovers = append(handovers, r.field.start[s].Sub(r.field.stop[s]))
			}
		}
		double := r.field.double
		r.field.mu.Unlock()
		slices.Sort(handovers)
		writes := r.revision(b) - rev0
		b.ReportMetric(converged.Seconds(), "s-to-balanced")
		b.ReportMetric(float64(len(handovers)), "moved")
		b.ReportMetric(float64(writes)/float64(len(handovers)), "write-txns/moved")
		b.ReportMetric(float64(handovers[len(handovers)/2].Microseconds())/1000, "ms-handover-median")
		b.ReportMetric(float64(handovers[len(handovers)-1].Microseconds())/1000, "ms-handover-max")
		if double > 0 {
			b.Fatalf("%d times a sync had two workers", double)
		}
		r.stopAll(b)
	}
}

func (r *fleetRun) owners() map[string]string {
	r.field.mu.Lock()
	defer r.field.mu.Unlock()
	out := map[string]string{}
	for s, a := range r.field.owner {
		out[s] = a
	}
	return out
}

func (r *fleetRun) revision(b *testing.B) int64 {
	resp, err := r.clients[0].Get(context.Background(), "/t/none")
	if err != nil {
		b.Fatal(err)
	}
	return resp.Header.Revision
}

// BenchmarkFailover: three agents, six syncs, TTL 1s. The owner of one sync
// crashes (its connection closes: no release, no revoke). Reported: time
// from the crash until another agent works on each of its syncs, as a ratio
// to the TTL (the target is TTL + 1 s, a ratio of 2).
func BenchmarkFailover(b *testing.B) {
	integration.BeforeTestExternal(b)
	var ratios []float64
	for range b.N {
		b.StopTimer()
		r := startFleet(b, 3, 6)
		ids := []string{"a0", "a1", "a2"}
		own := map[string]*clientv3.Client{}
		for _, id := range ids {
			c, err := integration.NewClientV3(r.clus.Members[0])
			if err != nil {
				b.Fatal(err)
			}
			own[id] = c
			r.add(b, id, c, time.Second)
		}
		waitUntil(b, 20*time.Second, "the fleet is balanced", func() bool { return r.field.balanced(6, ids) })
		victim := r.owners()["s00000"]
		var lost []string
		for s, a := range r.owners() {
			if a == victim {
				lost = append(lost, s)
			}
		}

		crashed := time.Now()
		own[victim].Close() // cut first: the agent can neither release nor revoke
		r.cancels[victim]()
		waitUntil(b, 20*time.Second, "the victim's syncs have new owners", func() bool {
			o := r.owners()
			for _, s := range lost {
				if o[s] == "" || o[s] == victim {
					return false
				}
			}
			return true
		})
		var worst time.Duration
		r.field.mu.Lock()
		for _, s := range lost {
			worst = max(worst, r.field.start[s].Sub(crashed))
		}
		r.field.mu.Unlock()
		ratios = append(ratios, worst.Seconds()/time.Second.Seconds())
		for _, c := range own {
			c.Close()
		}
		r.stopAll(b)
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "failover/TTL-median")
	b.ReportMetric(ratios[len(ratios)-1], "failover/TTL-max")
}

// BenchmarkHandover: three agents share 30 syncs on a 3-member cluster; one
// stops gracefully. Reported: the median and worst gap between its workers
// exiting and their successors starting, over all iterations.
func BenchmarkHandover(b *testing.B) {
	integration.BeforeTestExternal(b)
	var gaps []time.Duration
	for range b.N {
		r := startFleet(b, 3, 30)
		ids := []string{"a0", "a1", "a2"}
		for i, id := range ids {
			r.add(b, id, r.clients[i], 5*time.Second)
		}
		waitUntil(b, 20*time.Second, "the fleet is balanced", func() bool { return r.field.balanced(30, ids) })
		before := r.owners()
		r.cancels["a0"]()
		<-r.done["a0"]
		delete(r.cancels, "a0")
		waitUntil(b, 20*time.Second, "the others took over", func() bool { return r.field.balanced(30, ids[1:]) })
		r.field.mu.Lock()
		for s, a := range before {
			if a == "a0" {
				gaps = append(gaps, r.field.start[s].Sub(r.field.stop[s]))
			}
		}
		r.field.mu.Unlock()
		r.stopAll(b)
	}
	slices.Sort(gaps)
	b.ReportMetric(float64(gaps[len(gaps)/2].Microseconds())/1000, "ms-handover-median")
	b.ReportMetric(float64(gaps[len(gaps)-1].Microseconds())/1000, "ms-handover-max")
}
