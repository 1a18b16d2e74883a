package sim

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim/memnet"
)

// networks are the implementations of network, each between an agent and
// a fresh one-member etcd; TestNetworkContract holds them to one contract,
// so a fault means the same on the proxy link and the in-memory one.
var networks = []struct {
	name string
	make func(t *testing.T) network
}{
	{"proxy", func(t *testing.T) network {
		_, l := linkedCluster(t)
		return l
	}},
	{"memnet", func(t *testing.T) network {
		n := memnet.New()
		memberOnMemnet(t, n, "m0:2379")
		l := newMemLink(n, 1, []string{"http://m0:2379"})
		t.Cleanup(l.close)
		return l
	}},
}

// linkedClient is a clientv3 client of agent-1 dialling through l, its
// requests seen by a tap that records into the returned recorder.
func linkedClient(t *testing.T, l network) (*clientv3.Client, *recorder) {
	t.Helper()
	rec := newRecorder()
	tp := &tap{link: l, rec: rec, agent: "agent-1", prefix: "p/"}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   l.endpoints(),
		DialTimeout: 2 * time.Second,
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(l.dial), grpc.WithChainUnaryInterceptor(tp.unary)},
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli, rec
}

// within runs f with a context that ends after d.
func within(d time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return f(ctx)
}

func TestNetworkContract(t *testing.T) {
	for _, nw := range networks {
		t.Run(nw.name, func(t *testing.T) {
			t.Run("reconnect after a blackholed handshake", func(t *testing.T) { reconnectAfterBlackholedHandshake(t, nw.make(t)) })
			t.Run("delay", func(t *testing.T) { delaySlowsEachWay(t, nw.make(t)) })
			t.Run("stall delivers late", func(t *testing.T) { stallDeliversLate(t, nw.make(t)) })
		})
	}
}

// reconnectAfterBlackholedHandshake: an agent cut off as it starts has its
// connection handshakes dropped. Once the link reconnects, the agent must
// reach etcd at once, not after gRPC's 20 s connect timeout (a false P3
// failure exploration found).
func reconnectAfterBlackholedHandshake(t *testing.T, l network) {
	l.isolate(nil)
	cli, _ := linkedClient(t, l)
	get := func(ctx context.Context) error { _, err := cli.Get(ctx, "p/k"); return err }
	if err := within(300*time.Millisecond, get); err == nil {
		t.Fatal("a request got through an isolated link")
	}
	l.reconnect()
	if err := within(2*time.Second, get); err != nil {
		t.Fatalf("2 s after reconnecting, the client still cannot reach etcd: %v", err)
	}
}

// delaySlowsEachWay: a delay of 150 ms each way slows a request by 300 ms
// or more, and undelay ends it.
func delaySlowsEachWay(t *testing.T, l network) {
	cli, _ := linkedClient(t, l)
	get := func(ctx context.Context) error { _, err := cli.Get(ctx, "p/k"); return err }
	if err := within(5*time.Second, get); err != nil {
		t.Fatal(err)
	}
	l.delay(150*time.Millisecond, 0)
	start := time.Now()
	if err := within(2*time.Second, get); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("a request over a link delayed 150 ms each way took %v", d)
	}
	l.undelay()
	start = time.Now()
	if err := within(2*time.Second, get); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= 300*time.Millisecond {
		t.Fatalf("a request after undelay still took %v", d)
	}
}

// stallDeliversLate: a stall armed on writes under "assign" begins as the
// agent sends one; the caller gives up at its deadline, yet the write is
// delivered and applied when the stall ends, and the harness records who
// wrote it. A write outside the directory, sent before, is not held.
func stallDeliversLate(t *testing.T, l network) {
	cli, rec := linkedClient(t, l)
	began := make(chan struct{})
	l.arm("assign", func() { close(began) })
	if err := within(5*time.Second, func(ctx context.Context) error { _, err := cli.Put(ctx, "p/claims/s", "x"); return err }); err != nil {
		t.Fatalf("a write outside the armed directory was held: %v", err)
	}
	if err := within(200*time.Millisecond, func(ctx context.Context) error {
		_, err := cli.Txn(ctx).Then(clientv3.OpPut("p/assign/s", "agent-2")).Commit()
		return err
	}); err == nil {
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
		var resp *clientv3.GetResponse
		err := within(time.Second, func(ctx context.Context) (err error) { resp, err = cli.Get(ctx, "p/assign/s"); return err })
		if err == nil && len(resp.Kvs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the held write was not applied after the stall ended: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the tap records once the answer is back
	h := rec.history()
	if len(h.Events) != 1 || h.Events[0].Kind != model.Wrote || h.Events[0].Agent != "agent-1" || h.Events[0].Key != "assign/s" {
		t.Fatalf("want one Wrote event for agent-1's assign/s, got %+v", h.Events)
	}
}
