package sim

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// TestReconnectAfterBlackholedHandshake: an agent cut off as it starts
// has its connection handshakes dropped by the blackhole. Once the link
// reconnects, the agent must reach etcd at once, not after gRPC's 20 s
// connect timeout (a false P3 failure exploration found).
func TestReconnectAfterBlackholedHandshake(t *testing.T) {
	c, err := StartCluster(1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, err := newLink(c.Dir, "agent", c.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	l.isolate(nil)
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   l.endpoints,
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
