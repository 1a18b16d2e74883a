package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/etcd/tests/v3/framework/integration"
	"google.golang.org/grpc"

	"github.com/syncsim/syncsim/sim/memnet"
)

// setPeerDial makes every etcd member dial its peers through dial. It is
// set only in builds with the simclock tag and etcd's peer dial hook
// (internal/etcdpatch): released etcd dials peers on real sockets only.
var setPeerDial func(dial func(ctx context.Context, network, addr string) (net.Conn, error))

// errNoPeerDial explains why a cluster of several members cannot run in
// memory in this build.
var errNoPeerDial = errors.New("this binary has no in-memory peer network: the simulated clock needs " +
	"etcd's peer dial hook, in a test binary built with -tags simclock against the go.work of " +
	"internal/etcdpatch (syncsim --clock sim builds one)")

// startMemCluster starts members on an in-memory network, to run inside a
// synctest bubble, whose clock a real socket would stop. The framework
// builds each member, then its listeners are swapped, before Launch, for
// in-memory ones at pinned addresses (mN.peer:2380, mN.client:2379,
// mN.grpc:2379): member and cluster ids hash the peer URLs, so pinned
// addresses give the same ids in every run. Fsync is off.
func startMemCluster(members int) (*Cluster, error) {
	if err := checkInit(); err != nil {
		return nil, err
	}
	if members > 1 && setPeerDial == nil {
		return nil, errNoPeerDial
	}
	dir, err := os.MkdirTemp("", "syncsim-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, log: &buffer{}, net: memnet.New()}
	c.t = newTB("syncsim", dir, c.log)
	if setPeerDial != nil {
		setPeerDial(func(ctx context.Context, _, addr string) (net.Conn, error) { return c.net.Dial(ctx, addr) })
	}
	if err := c.t.do(func() { c.launchInMemory(members) }); err != nil {
		c.t.close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start a %d-member etcd cluster in memory: %w", members, err)
	}
	return c, nil
}

func (c *Cluster) launchInMemory(members int) {
	c.c = &integration.Cluster{Cfg: &integration.ClusterConfig{Size: members, GRPCKeepAliveMinTime: 500 * time.Millisecond}}
	var initial []string
	for range members {
		m := c.c.MustNewMember(c.t)
		for _, l := range append(append(m.PeerListeners, m.ClientListeners...), m.GRPCListener) {
			l.Close()
		}
		m.PeerURLs = types.MustNewURLs([]string{"unix://" + m.Name + ".peer:2380"})
		m.ClientURLs = types.MustNewURLs([]string{"unix://" + m.Name + ".client:2379"})
		m.GRPCURL = "unix://" + m.Name + ".grpc:2379"
		m.DialOptions = append(m.DialOptions, grpc.WithContextDialer(c.net.Dial))
		m.UnsafeNoFsync = true
		// The framework's election timeout (100 to 200 ms), from fewer
		// ticks: 25 ms rather than 10 between heartbeats. In simulated time
		// an idle tick costs CPU and nothing else; this one change runs 25%
		// more scenarios a minute, and failover takes as long as before.
		m.TickMs, m.ElectionTicks = 25, 4
		if err := c.listenInMemory(m); err != nil {
			c.t.Fatal(err)
		}
		c.c.Members = append(c.c.Members, m)
		initial = append(initial, m.Name+"="+m.PeerURLs[0].String())
	}
	urls, err := types.NewURLsMap(strings.Join(initial, ","))
	if err != nil {
		c.t.Fatal(err)
	}
	for _, m := range c.c.Members {
		m.InitialPeerURLsMap = urls
	}
	// The framework launches members together, each in a goroutine, and
	// they race through their start in real time (files, raft's draw of
	// each member's election timeout): launched one by one, memberSpacing
	// apart, they draw in member order and their tickers never fire at one
	// instant, so the seed decides the first election.
	for i, m := range c.c.Members {
		if i > 0 {
			time.Sleep(memberSpacing)
		}
		if err := m.Launch(); err != nil {
			c.c.Terminate(c.t)
			c.t.Fatalf("launch member %s: %v", m.Name, err)
		}
	}
	c.c.WaitMembersMatch(c.t, c.c.ProtoMembers())
	for _, m := range c.c.Members {
		for m.Server.ClusterVersion() == nil {
			time.Sleep(time.Duration(m.TickMs) * time.Millisecond)
		}
	}
}

// memberSpacing separates the members' launches in simulated time.
const memberSpacing = 3 * time.Millisecond

// listenInMemory gives m in-memory listeners at its URLs.
func (c *Cluster) listenInMemory(m *integration.Member) error {
	pl, err := c.net.Listen(m.PeerURLs[0].Host)
	if err != nil {
		return err
	}
	cl, err := c.net.Listen(m.ClientURLs[0].Host)
	if err != nil {
		pl.Close()
		return err
	}
	gl, err := c.net.Listen(strings.TrimPrefix(m.GRPCURL, "unix://"))
	if err != nil {
		pl.Close()
		cl.Close()
		return err
	}
	m.PeerListeners, m.ClientListeners, m.GRPCListener = []net.Listener{pl}, []net.Listener{cl}, gl
	return nil
}

// restartInMemory is Member.Restart on the in-memory network, which
// reopens real sockets.
func (c *Cluster) restartInMemory(m *integration.Member) error {
	for _, l := range append(append(m.PeerListeners, m.ClientListeners...), m.GRPCListener) {
		if l != nil {
			l.Close() // a stopped member may have left them open; the addresses must be free
		}
	}
	if err := c.listenInMemory(m); err != nil {
		return err
	}
	return m.Launch()
}

// dialer is how a client of the cluster connects: through the in-memory
// network when the cluster is in memory, else by the system's.
func (c *Cluster) dialer() []grpc.DialOption {
	if c.net == nil {
		return nil
	}
	return []grpc.DialOption{grpc.WithContextDialer(c.net.Dial)}
}
