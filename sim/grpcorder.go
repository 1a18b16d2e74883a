package sim

import (
	"slices"
	"sync"
	"sync/atomic"
	_ "unsafe" // for go:linkname

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/endpointsharding"
	_ "google.golang.org/grpc/balancer/pickfirst" // its internal package defines RandShuffle
	"google.golang.org/grpc/balancer/roundrobin"
	"google.golang.org/grpc/resolver"
)

// In a simulated run grpc chooses nothing by chance, so that which member
// a client's request goes to, and so which of two concurrent requests the
// raft leader sees first, follows from the seed. Released grpc chooses by
// chance twice. Its round robin (clientv3's policy) starts at a random
// endpoint, from math/rand/v2's global source, which no seed reaches; and
// it lists its ready endpoints by ranging over a map, whose order Go
// randomizes on every range. In a bubble the draws are constant (their
// variables are package-level, swapped by grpc's own tests, so linkname
// reaches them) and round_robin is replaced by ordered: the same round
// robin over the endpoints in the order the client listed them, starting
// at the first. The diversity the draws gave comes from the seed instead:
// each agent's link lists the members in an order drawn from its seed
// (memnet.Network.Link).
var (
	//go:linkname grpcRandIntN google.golang.org/grpc/balancer/endpointsharding.randIntN
	grpcRandIntN func(int) int
	//go:linkname grpcRandShuffle google.golang.org/grpc/balancer/pickfirst/internal.RandShuffle
	grpcRandShuffle func(int, func(int, int))
	//go:linkname grpcRandFloat64 google.golang.org/grpc/balancer/pickfirst/internal.RandFloat64
	grpcRandFloat64 func() float64
)

// ordering is set while a bubble runs: clients built meanwhile get the
// ordered round robin.
var ordering atomic.Bool

func init() {
	balancer.Register(ordered{balancer.Get(roundrobin.Name)})
}

// orderGRPC takes chance out of grpc's balancers until the returned
// function restores them.
func orderGRPC() (restore func()) {
	intN, shuffle, float := grpcRandIntN, grpcRandShuffle, grpcRandFloat64
	grpcRandIntN = func(int) int { return 0 }
	grpcRandShuffle = func(int, func(int, int)) {}
	grpcRandFloat64 = func() float64 { return 0.5 }
	ordering.Store(true)
	return func() {
		ordering.Store(false)
		grpcRandIntN, grpcRandShuffle, grpcRandFloat64 = intN, shuffle, float
	}
}

// ordered is grpc's round_robin, registered under its name, with its
// picker rebuilt in the client's endpoint order while ordering is set.
type ordered struct{ balancer.Builder }

func (b ordered) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	if !ordering.Load() {
		return b.Builder.Build(cc, opts)
	}
	occ := &orderedConn{ClientConn: cc}
	return &orderedBalancer{Balancer: b.Builder.Build(occ, opts), cc: occ}
}

type orderedBalancer struct {
	balancer.Balancer
	cc *orderedConn
}

func (b *orderedBalancer) UpdateClientConnState(s balancer.ClientConnState) error {
	b.cc.setOrder(s.ResolverState.Endpoints)
	return b.Balancer.UpdateClientConnState(s)
}

// orderedConn passes the balancer's state on with a picker that takes its
// children in the client's endpoint order.
type orderedConn struct {
	balancer.ClientConn
	mu    sync.Mutex
	order map[string]int // each address's endpoint's place in the client's list
}

func (c *orderedConn) setOrder(eps []resolver.Endpoint) {
	order := map[string]int{}
	for i, ep := range eps {
		for _, a := range ep.Addresses {
			order[a.Addr] = i
		}
	}
	c.mu.Lock()
	c.order = order
	c.mu.Unlock()
}

func (c *orderedConn) place(ep resolver.Endpoint) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(ep.Addresses) == 0 {
		return len(c.order)
	}
	if i, ok := c.order[ep.Addresses[0].Addr]; ok {
		return i
	}
	return len(c.order)
}

func (c *orderedConn) UpdateState(s balancer.State) {
	children := endpointsharding.ChildStatesFromPicker(s.Picker)
	var in []endpointsharding.ChildState
	for _, ch := range children {
		// The children round_robin's own picker rotates over: those in the
		// state it aggregated to.
		if ch.State.ConnectivityState == s.ConnectivityState && ch.State.Picker != nil {
			in = append(in, ch)
		}
	}
	if len(in) == 0 {
		c.ClientConn.UpdateState(s)
		return
	}
	slices.SortStableFunc(in, func(a, b endpointsharding.ChildState) int { return c.place(a.Endpoint) - c.place(b.Endpoint) })
	p := &orderedPicker{}
	for _, ch := range in {
		p.pickers = append(p.pickers, ch.State.Picker)
	}
	s.Picker = p
	c.ClientConn.UpdateState(s)
}

// orderedPicker picks from its pickers in turn, starting with the first.
type orderedPicker struct {
	pickers []balancer.Picker
	next    atomic.Uint32
}

func (p *orderedPicker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	i := p.next.Add(1) - 1
	return p.pickers[i%uint32(len(p.pickers))].Pick(info)
}
