package sim

import (
	"context"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim/memnet"
)

// memberOnMemnet launches a one-member etcd whose gRPC listener is an
// in-memory one at addr on n (its peer and client listeners stay the
// framework's: one member has no peer to reach). Stopped when the test ends.
func memberOnMemnet(t *testing.T, n *memnet.Network, addr string) *integration.Member {
	t.Helper()
	c := &integration.Cluster{Cfg: &integration.ClusterConfig{Size: 1, UseTCP: true}}
	m := c.MustNewMember(t)
	m.InitialPeerURLsMap = types.URLsMap{m.Name: m.PeerURLs}
	m.GRPCListener.Close()
	ln, err := n.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	m.GRPCListener = ln
	m.GRPCURL = "" // the framework's own client would dial a socket
	if err := m.Launch(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Terminate(t) })
	select {
	case <-m.Server.ReadyNotify():
	case <-time.After(10 * time.Second):
		t.Fatal("the member did not become ready")
	}
	return m
}

// TestMemLinkServesEtcd: a real etcd member serves a clientv3 client
// through an in-memory link; isolation cuts the client off and Reconnect
// heals it within 2 s; a delay of 150 ms each way slows every request by
// 300 ms or more; a stall armed on writes under assign/ holds the write,
// which etcd applies once released and the tap credits to the agent.
func TestMemLinkServesEtcd(t *testing.T) {
	n := memnet.New()
	memberOnMemnet(t, n, "m0:2379")
	l := newMemLink(n, 1, []string{"http://m0:2379"})
	t.Cleanup(l.close)
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
	defer cli.Close()
	within := func(d time.Duration, f func(context.Context) error) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return f(ctx)
	}
	get := func(ctx context.Context) error { _, err := cli.Get(ctx, "p/k"); return err }
	if err := within(5*time.Second, func(ctx context.Context) error { _, err := cli.Put(ctx, "p/k", "v"); return err }); err != nil {
		t.Fatalf("put through the link: %v", err)
	}

	l.isolate(nil)
	if err := within(300*time.Millisecond, get); err == nil {
		t.Fatal("a request got through an isolated link")
	}
	l.reconnect()
	if err := within(2*time.Second, get); err != nil {
		t.Fatalf("2 s after reconnecting: %v", err)
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

	began := make(chan struct{})
	l.arm("assign", func() { close(began) })
	if err := within(time.Second, func(ctx context.Context) error { _, err := cli.Put(ctx, "p/claims/s", "x"); return err }); err != nil {
		t.Fatalf("a write outside the armed directory was held: %v", err)
	}
	if err := within(200*time.Millisecond, func(ctx context.Context) error {
		_, err := cli.Txn(ctx).Then(clientv3.OpPut("p/assign/s", "agent-2")).Commit()
		return err
	}); err == nil {
		t.Fatal("a write sent into a stalled link was answered")
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
