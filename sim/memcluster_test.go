package sim

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/cryptotest"
	"testing/synctest"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// wallClock reads the real clock from inside a bubble, where time.Now is
// simulated: a goroutine started outside the bubble answers on channels
// made outside it. Call it outside the bubble.
func wallClock(t *testing.T) func() time.Time {
	req, resp := make(chan struct{}), make(chan time.Time)
	go func() {
		for range req {
			resp <- time.Now()
		}
	}()
	t.Cleanup(func() { close(req) })
	return func() time.Time {
		req <- struct{}{}
		return <-resp
	}
}

// watchdog ends the test binary if the bubble is still running after d of
// real time: a bubble whose clock stopped (a goroutine blocked on a real
// socket or on a channel made outside the bubble) would otherwise hang
// until go test's own timeout. Call it outside the bubble.
func watchdog(t *testing.T, d time.Duration) {
	timer := time.AfterFunc(d, func() {
		panic(fmt.Sprintf("%s: still running after %v of real time: simulated time stopped advancing", t.Name(), d))
	})
	t.Cleanup(func() { timer.Stop() })
}

// trace is what one run of leaseExpiry saw, on the simulated clock.
type trace struct {
	MemberID, ClusterID uint64
	LeaderAt            time.Duration // from the bubble's start to raft's "became leader"
	LeaseID             clientv3.LeaseID
	PutRev, DeleteRev   int64
	DeletedAt           time.Duration // from the bubble's start to the watch's delete event
}

// expiry is one run of leaseExpiry, with its measured waits.
type expiry struct {
	trace
	simWait, wallWait time.Duration // from the put to the delete event
}

// leaseExpiry starts a 1-member cluster in a bubble, watches key k, puts it
// with a 1 s lease and waits until the lease's expiry deletes it. seed, if
// not 0, seeds crypto/rand (and so raft's election jitter) for the run.
func leaseExpiry(t *testing.T, seed uint64) expiry {
	t.Helper()
	wall := wallClock(t)
	watchdog(t, 30*time.Second)
	noWatchDone()
	var got expiry
	synctest.Test(t, func(t *testing.T) {
		if seed != 0 {
			cryptotest.SetGlobalRandom(t, seed)
		}
		start := time.Now()
		c, err := startMemCluster(1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		m := c.c.Members[0]
		got.MemberID, got.ClusterID = uint64(m.Server.MemberID()), uint64(m.Server.Cluster().ID())
		got.LeaderAt = electedAt(t, c.Log()).Sub(start)

		cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, DialOptions: c.dialer(), Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		ctx := t.Context()
		wch := cli.Watch(ctx, "k", clientv3.WithCreatedNotify())
		if r := <-wch; !r.Created {
			t.Fatalf("watch: %+v, want created", r)
		}
		lease, err := cli.Grant(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if lease.TTL != 1 {
			t.Fatalf("granted TTL %d, want 1", lease.TTL)
		}
		got.LeaseID = lease.ID
		put, err := cli.Put(ctx, "k", "v", clientv3.WithLease(lease.ID))
		if err != nil {
			t.Fatal(err)
		}
		got.PutRev = put.Header.Revision
		sim0, wall0 := time.Now(), wall()
		for got.DeleteRev == 0 {
			select {
			case r, ok := <-wch:
				if !ok || r.Err() != nil {
					t.Fatalf("watch ended: %v", r.Err())
				}
				for _, ev := range r.Events {
					if ev.Type == clientv3.EventTypeDelete {
						got.DeleteRev = ev.Kv.ModRevision
					}
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no delete of k within 10 s of simulated time after its 1 s lease")
			}
		}
		got.simWait, got.wallWait = time.Since(sim0), wall().Sub(wall0)
		got.DeletedAt = time.Since(start)
		ttl, err := cli.TimeToLive(ctx, lease.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ttl.TTL != -1 {
			t.Errorf("after the delete the lease has TTL %d, want -1 (expired)", ttl.TTL)
		}
	})
	return got
}

// TestMemberInABubble: a member and a client run inside a synctest bubble
// on in-memory connections; a 1 s lease expires after a second of simulated
// time while the real clock barely moves, and a watch sees the expiry.
func TestMemberInABubble(t *testing.T) {
	start := time.Now()
	e := leaseExpiry(t, 0)
	total := time.Since(start)
	t.Logf("lease expiry: %v simulated, %v real; whole bubble (start, expiry, stop) %v real; %+v", e.simWait, e.wallWait, total, e.trace)
	if e.simWait < time.Second {
		t.Errorf("the 1 s lease expired after %v of simulated time", e.simWait)
	}
	if e.simWait > 3*time.Second {
		t.Errorf("the 1 s lease expired only after %v of simulated time", e.simWait)
	}
	if e.wallWait >= time.Second {
		t.Errorf("waiting for the expiry took %v of real time: the clock is not simulated", e.wallWait)
	}
	if e.DeleteRev != e.PutRev+1 {
		t.Errorf("put at revision %d, deleted at %d; want the next revision", e.PutRev, e.DeleteRev)
	}
}

// TestSeededRunsRepeat: runs seeded alike see the same member and cluster
// ids, the same election time, the same lease id and the same revisions at
// the same simulated times; another seed moves the election. Raft draws its
// election jitter from crypto/rand (raft.go, lockedRand.Intn), which
// cryptotest.SetGlobalRandom replaces; unseeded, the election time varies
// between runs (10 to 100 ms: one to ten 10 ms ticks).
func TestSeededRunsRepeat(t *testing.T) {
	var runs []trace
	for i := 0; i < 3; i++ {
		runs = append(runs, leaseExpiry(t, 1).trace)
	}
	other := leaseExpiry(t, 2).trace
	t.Logf("seed 1: %+v", runs[0])
	t.Logf("seed 2: %+v", other)
	for _, r := range runs[1:] {
		if !reflect.DeepEqual(runs[0], r) {
			t.Errorf("two runs with seed 1 differ:\n%+v\n%+v", runs[0], r)
		}
	}
	if other.LeaderAt == runs[0].LeaderAt {
		t.Errorf("seeds 1 and 2 both elected a leader at %v: the seed does not reach raft's election jitter", other.LeaderAt)
	}
}

// electedAt is when the cluster's log says a member became leader.
func electedAt(t *testing.T, log []byte) time.Time {
	for line := range strings.Lines(string(log)) {
		if stamp, _, ok := strings.Cut(line, "\t"); ok && strings.Contains(line, "became leader") {
			at, err := time.Parse(time.RFC3339Nano, stamp)
			if err != nil {
				t.Fatalf("the log line %q has no time: %v", line, err)
			}
			return at
		}
	}
	t.Fatal("no member logged that it became leader")
	return time.Time{}
}
