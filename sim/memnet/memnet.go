// Package memnet is an in-memory network for the harness: named endpoints
// listen, clients dial them by address, and an agent's view of the network
// (a Link) carries the faults syncsim injects: isolation from all or some
// members, delay with jitter, dropped connections, and traffic held and
// delivered late, in order.
//
// It opens no socket and waits only on channels, sync.Cond and the time
// package, so it runs inside a testing/synctest bubble, where its delays
// and holds pass on the bubble's simulated clock. Everything must then be
// created inside the bubble, and closed there.
package memnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"google.golang.org/grpc/test/bufconn"
)

// bufSize is each direction's buffer in a connection to a listener: a
// writer blocks only when its peer has not read this much. Every dial
// allocates and clears two, and etcd's peers dial often (a connection per
// pipeline request): 256 KiB made clearing them a tenth of a simulated
// run's CPU.
const bufSize = 32 << 10

// Addr is an address on the in-memory network.
type Addr string

// Network names the network, so net.Addr users can tell it from tcp.
func (Addr) Network() string  { return "memnet" }
func (a Addr) String() string { return string(a) }

// Network is a set of listeners, by address.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*Listener
}

// New returns an empty network.
func New() *Network { return &Network{listeners: map[string]*Listener{}} }

// Listener accepts the connections dialled to its address. Closing it
// frees the address; connections already accepted stay open.
type Listener struct {
	net      *Network
	addr     string
	bl       *bufconn.Listener
	once     sync.Once
	accepted atomic.Int64 // to name the dialling ends
}

// Listen listens at addr (any name; "host:port" by convention, a URL's
// scheme and path are ignored). The address must be free.
func (n *Network) Listen(addr string) (*Listener, error) {
	a := Host(addr)
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, taken := n.listeners[a]; taken {
		return nil, &net.OpError{Op: "listen", Net: "memnet", Addr: Addr(a), Err: syscall.EADDRINUSE}
	}
	l := &Listener{net: n, addr: a, bl: bufconn.Listen(bufSize)}
	n.listeners[a] = l
	return l, nil
}

// Accept waits for the next connection dialled to the listener.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.bl.Accept()
	if err != nil {
		return nil, &net.OpError{Op: "accept", Net: "memnet", Addr: Addr(l.addr), Err: net.ErrClosed}
	}
	k := l.accepted.Add(1)
	return &addressed{Conn: c, local: Addr(l.addr), remote: Addr(fmt.Sprintf("%s-client-%d", l.addr, k))}, nil
}

// Close stops accepting and frees the address.
func (l *Listener) Close() error {
	l.once.Do(func() {
		l.net.mu.Lock()
		if l.net.listeners[l.addr] == l {
			delete(l.net.listeners, l.addr)
		}
		l.net.mu.Unlock()
		l.bl.Close()
	})
	return nil
}

// Addr is the address the listener was opened at.
func (l *Listener) Addr() net.Addr { return Addr(l.addr) }

// Dial connects to the listener at addr, with no fault in between; a
// connection to an address nobody listens at is refused.
func (n *Network) Dial(ctx context.Context, addr string) (net.Conn, error) {
	a := Host(addr)
	n.mu.Lock()
	l := n.listeners[a]
	n.mu.Unlock()
	if l == nil {
		return nil, &net.OpError{Op: "dial", Net: "memnet", Addr: Addr(a), Err: syscall.ECONNREFUSED}
	}
	c, err := l.bl.DialContext(ctx)
	if err != nil {
		if ctx.Err() == nil {
			err = syscall.ECONNREFUSED // closed meanwhile
		}
		return nil, &net.OpError{Op: "dial", Net: "memnet", Addr: Addr(a), Err: err}
	}
	return &addressed{Conn: c, local: Addr("memnet-client"), remote: Addr(a)}, nil
}

// addressed is a bufconn end that reports addresses on the network
// (bufconn's own all read "bufconn").
type addressed struct {
	net.Conn
	local, remote Addr
}

func (c *addressed) LocalAddr() net.Addr  { return c.local }
func (c *addressed) RemoteAddr() net.Addr { return c.remote }

// Host is the part of a dialled address that names a listener: clientv3
// and gRPC hand a dialer "host:port", "unix:host:port" or a URL.
func Host(addr string) string {
	if i := strings.Index(addr, "://"); i >= 0 {
		addr = addr[i+3:]
	} else if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
		addr = rest
	}
	addr = strings.TrimLeft(addr, "/")
	if i := strings.IndexByte(addr, '/'); i >= 0 {
		addr = addr[:i]
	}
	return addr
}

// ErrClosed is returned by a link's Dial once the link is closed.
var ErrClosed = errors.New("memnet: the link is closed")
