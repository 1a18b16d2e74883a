// Package bubble runs the etcd integration framework's members and clientv3
// clients inside a testing/synctest bubble, on in-memory connections, so
// that a test's timers run on simulated time (issue 15). A bubble advances
// its clock only when every goroutine in it is durably blocked, and a
// goroutine waiting on a real socket never is: every listener and every dial
// here goes through a memnet.Network instead.
//
// What it cannot do yet: members dial their peers through
// go.etcd.io/etcd/client/pkg/v3/transport.NewTransport, which hard-wires a
// net.Dialer, so a cluster of more than one member does not elect a leader
// in a bubble (see StartCluster).
package bubble

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"

	"github.com/syncsim/syncsim/sim/memnet"
)

// Cluster is an integration cluster whose members listen on Net.
type Cluster struct {
	*integration.Cluster
	Net *memnet.Network
}

// StartCluster starts size members inside the calling synctest bubble and
// terminates them in t's cleanup. Call it from the bubble's goroutine, in a
// process that called sim.Init (the framework opens, and here at once
// closes, unix sockets named relative to the working directory).
//
// Each member is built by the framework (Cluster.MustNewMember), then its
// real listeners are closed and replaced, before Launch, by in-memory ones
// at pinned addresses (mN.peer:2380, mN.client:2379, and the framework's own
// gRPC address localhost:mN). The framework's addresses embed the process
// id, and member ids are a hash of the peer URLs: pinned addresses give the
// same member and cluster ids in every run. Fsync is off. core, if not nil,
// receives every member's log at info level and above.
//
// More than one member does not work: peers dial each other through
// transport.NewTransport's net.Dialer (client/pkg/v3 transport.go, lines
// 43 and 54-60, reached from rafthttp's NewRoundTripper and
// newStreamRoundTripper and from etcdserver's peerRt), a real socket, which
// has no in-memory listener to reach; neither ServerConfig nor TLSInfo nor
// integration.Member offers a dialer. Three members in a bubble log "dial
// unix m1.peer:2380: connect: no such file or directory" and never elect.
func StartCluster(t testing.TB, size int, core zapcore.Core) *Cluster {
	t.Helper()
	c := &Cluster{
		Cluster: &integration.Cluster{Cfg: &integration.ClusterConfig{Size: size}},
		Net:     memnet.New(),
	}
	var initial []string
	for i := 0; i < size; i++ {
		m := c.MustNewMember(t)
		if err := c.moveInMemory(m, core); err != nil {
			t.Fatal(err)
		}
		c.Members = append(c.Members, m)
		initial = append(initial, m.Name+"="+m.PeerURLs[0].String())
	}
	urls, err := types.NewURLsMap(strings.Join(initial, ","))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		m.InitialPeerURLsMap = urls
	}
	c.Launch(t) // on failure it terminates the members itself
	t.Cleanup(func() { c.Terminate(t) })
	return c
}

// moveInMemory closes the member's real listeners and opens in-memory ones.
func (c *Cluster) moveInMemory(m *integration.Member, core zapcore.Core) error {
	for _, l := range append(append(m.PeerListeners, m.ClientListeners...), m.GRPCListener) {
		l.Close()
	}
	peer, client := m.Name+".peer:2380", m.Name+".client:2379"
	grpcAddr := strings.TrimPrefix(m.GRPCURL, "unix://")
	if grpcAddr == m.GRPCURL {
		return fmt.Errorf("member %s: gRPC URL %s is not unix://", m.Name, m.GRPCURL)
	}
	pl, err := c.Net.Listen(peer)
	if err != nil {
		return err
	}
	cl, err := c.Net.Listen(client)
	if err != nil {
		return err
	}
	gl, err := c.Net.Listen(grpcAddr)
	if err != nil {
		return err
	}
	m.PeerListeners, m.ClientListeners, m.GRPCListener = []net.Listener{pl}, []net.Listener{cl}, gl
	m.PeerURLs = types.MustNewURLs([]string{"unix://" + peer})
	m.ClientURLs = types.MustNewURLs([]string{"unix://" + client})
	m.DialOptions = append(m.DialOptions, grpc.WithContextDialer(c.Net.Dial))
	m.UnsafeNoFsync = true
	if core == nil {
		core = zapcore.NewNopCore()
	}
	m.Logger = zap.New(core).Named(m.Name).With(zap.String("member", m.Name))
	return nil
}

// Client connects a clientv3 client to member i through the network; close
// it before the bubble ends.
func (c *Cluster) Client(i int) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   []string{c.Members[i].GRPCURL},
		DialTimeout: 5 * time.Second,
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(c.Net.Dial)},
		Logger:      zap.NewNop(),
	})
}
