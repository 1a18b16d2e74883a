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

// newMemLink returns the agent's link to members (their addresses on n,
// in member order); seed draws its delays' jitter.
func newMemLink(n *memnet.Network, seed int64, members []string) network {
	return memLink{n.Link(seed, members...)}
}

func (m memLink) isolate(members []int)               { m.l.Isolate(members) }
func (m memLink) reconnect()                          { m.l.Reconnect() }
func (m memLink) delay(latency, jitter time.Duration) { m.l.Delay(latency, jitter) }
func (m memLink) undelay()                            { m.l.Undelay() }
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
