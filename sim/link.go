package sim

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/pkg/v3/proxy"
	"go.uber.org/zap"

	"github.com/syncsim/syncsim/sim/memnet"
)

// link is one agent's network: a proxy to each member, so the agent can be
// cut off (or slowed) alone while the members still see each other. The
// agent's client dials through link.dial, so the link knows its
// connections and can drop them.
type link struct {
	mu      sync.Mutex
	closed  bool // the process is gone
	proxies []proxy.Server
	eps     []string
	conns   map[*conn]bool // the agent's open connections through the proxies
	held    bool           // traffic is held (pause, stall): what is sent now arrives when it ends
	armed   *memnet.Armed  // a stall waiting for the agent's next write under a directory
}

// newLink starts a proxy per member URL, listening on unix sockets in dir.
func newLink(dir, name string, members []string) (*link, error) {
	l := &link{conns: map[*conn]bool{}}
	for i, m := range members {
		to, err := url.Parse(m)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("member URL %q: %w", m, err)
		}
		sock := filepath.Join(dir, fmt.Sprintf("%s-m%d.sock", name, i))
		cfg := proxy.ServerConfig{
			Logger: zap.NewNop(),
			From:   url.URL{Scheme: "unix", Host: sock},
			To:     url.URL{Scheme: "tcp", Host: to.Host},
		}
		p, err := startProxy(cfg)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("proxy to %s: %w", m, err)
		}
		l.proxies = append(l.proxies, p)
		l.eps = append(l.eps, "unix://"+sock)
	}
	return l, nil
}

func startProxy(cfg proxy.ServerConfig) (proxy.Server, error) {
	p := proxy.NewServer(cfg)
	select {
	case <-p.Ready():
	case err := <-p.Error():
		return nil, err
	}
	go drain(p)
	return p, nil
}

// drain discards the proxy's transmission errors, which are expected under
// faults; the proxy blocks once its error buffer is full.
func drain(p proxy.Server) {
	for {
		select {
		case <-p.Error():
		case <-p.Done():
			return
		}
	}
}

// each applies f to every proxy, in member order.
func (l *link) each(f func(member int, p proxy.Server)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, p := range l.proxies {
		f(i, p)
	}
}

// isolate drops everything between the agent and the given members (all
// when none are given), both ways.
func (l *link) isolate(members []int) {
	l.each(func(i int, p proxy.Server) {
		if len(members) == 0 || slices.Contains(members, i) {
			p.BlackholeTx()
			p.BlackholeRx()
		}
	})
}

// reconnect ends an isolation. Blackholing dropped bytes in the middle of
// the agent's HTTP/2 streams, which no real network does (TCP delivers in
// order or breaks the connection), and a desynchronised connection can
// refuse every request with PROTOCOL_ERROR, or wait for a handshake that
// was dropped, for good; so the connections are dropped too, as TCP would
// have after a long cut, and the agent reconnects.
func (l *link) reconnect() {
	l.each(func(_ int, p proxy.Server) { p.UnblackholeTx(); p.UnblackholeRx() })
	l.reset()
}

// delay slows both directions by latency ± jitter.
func (l *link) delay(latency, jitter time.Duration) {
	l.each(func(_ int, p proxy.Server) { p.DelayTx(latency, jitter); p.DelayRx(latency, jitter) })
}

func (l *link) undelay() {
	l.each(func(_ int, p proxy.Server) { p.UndelayTx(); p.UndelayRx() })
}

// endpoints are the addresses the agent's client dials, one per member.
func (l *link) endpoints() []string { return l.eps }

// hold holds all traffic, both ways, until release delivers it, late and
// in order.
func (l *link) hold() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holdLocked()
}

func (l *link) holdLocked() {
	for _, p := range l.proxies {
		p.PauseTx()
		p.PauseRx()
	}
	l.held = true
}

func (l *link) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held, l.armed = false, nil
	for _, p := range l.proxies {
		p.UnpauseTx()
		p.UnpauseRx()
	}
}

func (l *link) isHeld() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

// arm makes the link hold traffic as the agent next sends a write under dir (a
// directory of the key space, such as "assign"); began is called then.
func (l *link) arm(dir string, began func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed = memnet.NewArmed(dir, began)
}

// fire begins an armed hold if one of keys (relative to the prefix) is
// under its directory. It returns once the link holds traffic, so the
// write that fired it is held.
func (l *link) fire(keys []string) {
	l.mu.Lock()
	began, hit := l.armed.Take(keys)
	if hit {
		l.armed = nil
		l.holdLocked()
	}
	l.mu.Unlock()
	if hit {
		began()
	}
}

// reset drops every connection the agent has through the link, from the
// agent's end, as a broken TCP connection would; it reconnects. (The proxy
// itself can only drop a connection that carries data, and one whose
// handshake was blackholed carries none: the agent would wait on it for
// gRPC's 20 s connect timeout.)
func (l *link) reset() {
	l.mu.Lock()
	open := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		open = append(open, c)
	}
	l.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// dial connects the agent's client to one of the link's proxies ("unix:"
// addresses, as clientv3 hands them to gRPC) and keeps the connection for
// reset.
func (l *link) dial(ctx context.Context, addr string) (net.Conn, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(addr, "unix://"), "unix:")
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		nc.Close()
		return nil, fmt.Errorf("%s: the agent's network is gone", addr)
	}
	c := &conn{Conn: nc, link: l}
	l.conns[c] = true
	return c, nil
}

// conn is one of the agent's connections; closing it forgets it.
type conn struct {
	net.Conn
	link *link
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.link.mu.Lock()
		delete(c.link.conns, c)
		c.link.mu.Unlock()
	})
	return err
}

// close stops listening and lets every connection end. It does not wait:
// a proxy's Close blocks until each connection carried data or its other
// end closed, which the agent's client or the members do in their time.
func (l *link) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for _, p := range l.proxies {
		go p.Close()
	}
}
