package sim

import (
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/etcd/tests/v3/framework/integration"

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
