// Package bubble runs the etcd integration framework's members and clientv3
// clients inside a testing/synctest bubble, on in-memory connections, so
// that a test's timers run on simulated time (issue 15). A bubble advances
// its clock only when every goroutine in it is durably blocked, and a
// goroutine waiting on a real socket never is: every listener and every dial
// here goes through a Network instead.
//
// What it cannot do yet: members dial their peers through
// go.etcd.io/etcd/client/pkg/v3/transport.NewTransport, which hard-wires a
// net.Dialer, so a cluster of more than one member does not elect a leader
// in a bubble (see StartCluster).
package bubble

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	"google.golang.org/grpc/test/bufconn"
)

// bufSize is the capacity of each direction of an in-memory connection.
const bufSize = 256 << 10

// Network is a set of in-memory listeners by address. Make it, listen and
// dial inside the bubble whose goroutines use it.
type Network struct {
	mu sync.Mutex
	ls map[string]*listener
}

// NewNetwork returns an empty network.
func NewNetwork() *Network { return &Network{ls: map[string]*listener{}} }

// Listen opens an in-memory listener at addr; it fails if addr is taken.
// Closing the listener frees addr.
func (n *Network) Listen(addr string) (net.Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.ls[addr]; ok {
		return nil, fmt.Errorf("listen %s: address already in use", addr)
	}
	l := &listener{Listener: bufconn.Listen(bufSize), addr: addr, net: n}
	n.ls[addr] = l
	return l, nil
}

// DialContext connects to the listener at addr. It accepts addresses as
// gRPC's custom dialer passes them: "unix:host:port" and "unix://host:port"
// name the listener at "host:port".
func (n *Network) DialContext(ctx context.Context, addr string) (net.Conn, error) {
	for _, prefix := range []string{"unix://", "unixs://", "unix:", "unixs:"} {
		if rest, ok := strings.CutPrefix(addr, prefix); ok {
			addr = rest
			break
		}
	}
	n.mu.Lock()
	l, ok := n.ls[addr]
	n.mu.Unlock()
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: Addr(addr), Err: fmt.Errorf("connection refused")}
	}
	return l.DialContext(ctx)
}

// Addrs lists the addresses being listened on.
func (n *Network) Addrs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var addrs []string
	for a := range n.ls {
		addrs = append(addrs, a)
	}
	return addrs
}

const network = "mem"

// Addr is an in-memory address.
type Addr string

func (Addr) Network() string  { return network }
func (a Addr) String() string { return string(a) }

// listener is a bufconn listener that reports the address it was opened at
// (the framework builds member URLs from Addr) and frees it on Close.
type listener struct {
	*bufconn.Listener
	addr string
	net  *Network
}

func (l *listener) Addr() net.Addr { return Addr(l.addr) }

func (l *listener) Close() error {
	l.net.mu.Lock()
	if l.net.ls[l.addr] == l {
		delete(l.net.ls, l.addr)
	}
	l.net.mu.Unlock()
	return l.Listener.Close()
}
