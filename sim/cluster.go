package sim

import (
	"fmt"
	"os"
	"slices"
	"time"

	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/syncsim/syncsim/sim/memnet"
)

// Cluster is an in-process etcd cluster. Several may run side by side.
type Cluster struct {
	// Dir is a scratch directory that lives as long as the cluster.
	Dir string

	t   *tb
	c   *integration.Cluster
	log *buffer
	net *memnet.Network // the network of a cluster in memory, nil on sockets
}

// StartCluster starts an in-process cluster of the given size and waits
// until it serves. The process must have called Init.
func StartCluster(members int) (*Cluster, error) {
	if err := checkInit(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "syncsim-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, log: &buffer{}}
	c.t = newTB("syncsim", dir, c.log)
	if err := c.t.do(func() {
		c.c = integration.NewCluster(c.t, &integration.ClusterConfig{
			Size:   members,
			UseTCP: true, // unix sockets named after members would collide between clusters
			// agents ping every second to notice dead connections
			GRPCKeepAliveMinTime: 500 * time.Millisecond,
		})
	}); err != nil {
		c.t.close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start a %d-member etcd cluster: %w", members, err)
	}
	return c, nil
}

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.c.Members {
		eps = append(eps, m.GRPCURL)
	}
	return eps
}

// Log is what the members logged so far.
func (c *Cluster) Log() []byte { return c.log.bytes() }

// Close stops every member and removes the cluster's files.
func (c *Cluster) Close() {
	c.t.do(func() { c.c.Terminate(c.t) })
	c.t.close()
	os.RemoveAll(c.Dir)
	if c.net != nil && setPeerDial != nil {
		setPeerDial(nil) // a cluster on sockets started next must dial its peers on sockets
	}
}

// size is the number of members.
func (c *Cluster) size() int { return len(c.c.Members) }

// leader returns the member that leads, if a running one does.
func (c *Cluster) leader(down map[int]bool) (int, bool) {
	for i, m := range c.c.Members {
		if !down[i] && m.Server != nil && m.Server.Lead() == uint64(m.Server.MemberID()) {
			return i, true
		}
	}
	return 0, false
}

// stopMember crashes member i. Its gRPC server is stopped first, dropping
// every client connection at once as a crash would: Stop alone drains
// them gracefully, and an open watch stream holds that for two seconds,
// which made the step late and its outage longer than written.
func (c *Cluster) stopMember(i int) error {
	m := c.c.Members[i]
	return c.t.do(func() {
		if m.GRPCServer != nil {
			m.GRPCServer.Stop()
		}
		m.Stop(c.t)
	})
}

func (c *Cluster) restartMember(i int) error {
	var err error
	restart := func() { err = c.c.Members[i].Restart(c.t) }
	if c.net != nil {
		restart = func() { err = c.restartInMemory(c.c.Members[i]) }
	}
	if terr := c.t.do(restart); terr != nil {
		return terr
	}
	return err
}

func (c *Cluster) pauseMember(i int)  { c.c.Members[i].Pause() }
func (c *Cluster) resumeMember(i int) { c.c.Members[i].Resume() }

// partition cuts every member of group off from every member outside it;
// heal reconnects them.
func (c *Cluster) partition(group []int, heal bool) error {
	var others []*integration.Member
	for i, m := range c.c.Members {
		if !slices.Contains(group, i) {
			others = append(others, m)
		}
	}
	return c.t.do(func() {
		for _, i := range group {
			if heal {
				c.c.Members[i].RecoverPartition(c.t, others...)
			} else {
				c.c.Members[i].InjectPartition(c.t, others...)
			}
		}
	})
}
