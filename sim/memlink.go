package sim

import (
	"context"
	"net"
	"time"

	"github.com/syncsim/syncsim/sim/memnet"
)

// memLink is an agent's network over an in-memory network (sim/memnet):
// the operations of the proxies in link.go with no socket, so that it can
// run inside a synctest bubble. The members must listen on n.
type memLink struct{ l *memnet.Link }

// memLatency is an in-memory link's own latency, each way, when no fault
// slows it: a real network's, small. With none, every exchange would
// happen at one simulated instant, and concurrent requests would be
// ordered by the real scheduler rather than by the simulated clock.
const memLatency = 500 * time.Microsecond

// memSkew bounds how much each path's latency differs from memLatency:
// enough that two agents' requests rarely arrive at one instant.
const memSkew = 100 * time.Microsecond

// newMemLink returns the agent's link to members (their addresses on n,
// in member order); seed draws its delays' jitter.
func newMemLink(n *memnet.Network, seed int64, members []string) network {
	l := memLink{n.Link(seed, members...)}
	l.l.Skew(memSkew)
	l.undelay()
	return l
}

func (m memLink) isolate(members []int)               { m.l.Isolate(members) }
func (m memLink) reconnect()                          { m.l.Reconnect() }
func (m memLink) delay(latency, jitter time.Duration) { m.l.Delay(latency, jitter) }
func (m memLink) undelay()                            { m.l.Delay(memLatency, 0) }
func (m memLink) reset()                              { m.l.Reset() }
func (m memLink) hold()                               { m.l.Hold() }
func (m memLink) release()                            { m.l.Release() }
func (m memLink) arm(dir string, began func())        { m.l.Arm(dir, began) }
func (m memLink) endpoints() []string                 { return m.l.Endpoints() }
func (m memLink) fire(keys []string)                  { m.l.Fire(keys) }
func (m memLink) isHeld() bool                        { return m.l.IsHeld() }
func (m memLink) close()                              { m.l.Close() }

func (m memLink) dial(ctx context.Context, addr string) (net.Conn, error) {
	return m.l.Dial(ctx, addr)
}
