package sim

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/syncsim/syncsim/model"
)

// linkedCluster starts a one-member cluster and an agent's link to it, both
// closed when the test ends.
func linkedCluster(t *testing.T) (*Cluster, *link) {
	t.Helper()
	c, err := StartCluster(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	l, err := newLink(c.Dir, "agent", c.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	return c, l
}

// TestReconnectAfterBlackholedHandshake: an agent cut off as it starts
// has its connection handshakes dropped by the blackhole. Once the link
// reconnects, the agent must reach etcd at once, not after gRPC's 20 s
// connect timeout (a false P3 failure exploration found).
func TestReconnectAfterBlackholedHandshake(t *testing.T) {
	_, l := linkedCluster(t)
	l.isolate(nil)
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   l.endpoints(),
		DialTimeout: time.Second,
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(l.dial)},
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	if _, err := cli.Get(ctx, "k"); err == nil {
		t.Fatal("a request got through an isolated link")
	}
	cancel()

	l.reconnect()
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := cli.Get(ctx, "k"); err != nil {
		t.Fatalf("2 s after reconnecting, the client still cannot reach etcd: %v", err)
	}
}

// TestStallDeliversLate: a stall armed on writes under "assign" begins as
// the agent sends one; the caller gives up at its deadline, yet the write
// is delivered and applied when the stall ends, and the harness records
// who wrote it. A read sent before the trigger is not held.
func TestStallDeliversLate(t *testing.T) {
	c, l := linkedCluster(t)
	rec := newRecorder()
	tp := &tap{link: l, rec: rec, agent: "agent-1", prefix: "p/"}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   l.endpoints(),
		DialTimeout: time.Second,
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(l.dial), grpc.WithChainUnaryInterceptor(tp.unary)},
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	began := make(chan struct{})
	l.arm("assign", func() { close(began) })

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "p/claims/s", "x"); err != nil {
		t.Fatalf("a write outside the armed directory was held: %v", err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	if _, err := cli.Txn(short).Then(clientv3.OpPut("p/assign/s", "agent-2")).Commit(); err == nil {
		t.Fatal("a write sent into a stalled network was answered")
	}
	select {
	case <-began:
	default:
		t.Fatal("the armed stall did not begin at the write")
	}
	l.release()
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp, err := c.c.Members[0].Client.Get(ctx, "p/assign/s")
		if err == nil && len(resp.Kvs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the held write was not applied after the stall ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the tap records once the answer is back
	h := rec.history()
	if len(h.Events) != 1 || h.Events[0].Kind != model.Wrote || h.Events[0].Agent != "agent-1" || h.Events[0].Key != "assign/s" {
		t.Fatalf("want one Wrote event for agent-1's assign/s, got %+v", h.Events)
	}
}
