package memnet

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// Link is one client's view of the network: the members it may dial, and
// the faults on its traffic with them. Every connection it dials runs
// through a relay, which reads each direction as it arrives and delivers
// it in order, after the link's delay and while it is not held; what the
// link cuts is dropped. The operations match the proxies of sim/link.go.
type Link struct {
	net     *Network
	eps     []string // as given, one per member
	members []string // their hosts

	mu      sync.Mutex
	rng     *rand.Rand
	closed  bool
	cut     map[int]bool // members whose traffic is dropped, both ways
	latency time.Duration
	jitter  time.Duration
	skew    []time.Duration // each member's own latency, under any delay
	held    bool
	open    chan struct{} // closed while not held
	armed   *Armed
	relays  map[*relay]bool
	dialled int // connections made, to number them
}

// Armed is a hold waiting for a client's next write under a directory of
// the key space; both of the harness's links keep one.
type Armed struct {
	dir   string
	began func() // called as the hold begins
}

// NewArmed arms a hold on the next write under dir; began is called when
// it begins.
func NewArmed(dir string, began func()) *Armed { return &Armed{dir: dir, began: began} }

// Take reports whether one of keys is under the armed directory and, if so,
// returns what to call once the hold began. A nil Armed takes nothing.
func (a *Armed) Take(keys []string) (began func(), hit bool) {
	if a == nil || !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, a.dir+"/") }) {
		return nil, false
	}
	return a.began, true
}

// Link returns a view of the network in which members (addresses, in
// member order) can be dialled. Its delays' jitter is drawn from seed, so
// the same traffic gets the same delays.
func (n *Network) Link(seed int64, members ...string) *Link {
	l := &Link{net: n, eps: slices.Clone(members), cut: map[int]bool{}, relays: map[*relay]bool{},
		rng: rand.New(rand.NewPCG(uint64(seed), 0x6d656d6e6574)), open: make(chan struct{})}
	close(l.open)
	for _, m := range members {
		l.members = append(l.members, Host(m))
		l.skew = append(l.skew, 0)
	}
	// The client is given the members in an order of its own, drawn from
	// the seed: a client's balancer starts with the first it lists.
	l.rng.Shuffle(len(l.eps), func(i, j int) { l.eps[i], l.eps[j] = l.eps[j], l.eps[i] })
	return l
}

// Endpoints are the addresses a client dials through the link, one per
// member, in the link's own order (drawn from its seed).
func (l *Link) Endpoints() []string { return slices.Clone(l.eps) }

// Isolate drops everything between the client and the given members (all
// when none are given), both ways: what is sent is lost, what was in
// flight is lost when it would arrive. Connections stay open, as over a
// cut network.
func (l *Link) Isolate(members []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.members {
		if len(members) == 0 || slices.Contains(members, i) {
			l.cut[i] = true
		}
	}
}

// Reconnect ends an isolation and drops every connection. Bytes dropped in
// the middle of an HTTP/2 stream desynchronise it for good (TCP delivers
// in order or breaks the connection; no real network loses a stretch and
// carries on), so the connections are dropped as TCP would have after a
// long cut, and the client dials afresh.
func (l *Link) Reconnect() {
	l.mu.Lock()
	clear(l.cut)
	l.mu.Unlock()
	l.Reset()
}

// Delay slows both directions by latency ± jitter (uniform, from the
// link's seed). Each piece of traffic is delayed on its own, in order:
// the latency of a link, not a cap on its throughput.
func (l *Link) Delay(latency, jitter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.latency, l.jitter = latency, jitter
}

// Skew gives the path to each member a latency of its own, drawn from the
// link's seed to the nanosecond, below most (none if most is not
// positive), and added to any delay. On
// the simulated clock, traffic over paths of equal latency arrives at one
// instant, where the real scheduler orders it; over paths of unequal
// latency the order is the seed's.
func (l *Link) Skew(most time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.skew {
		l.skew[i] = 0
		if most > 0 {
			l.skew[i] = time.Duration(l.rng.Int64N(int64(most)))
		}
	}
}

// Undelay removes the delay; traffic already under way keeps its own.
func (l *Link) Undelay() { l.Delay(0, 0) }

// Hold holds all traffic, both ways, until Release.
func (l *Link) Hold() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holdLocked()
}

func (l *Link) holdLocked() {
	if !l.held {
		l.held = true
		l.open = make(chan struct{})
	}
}

// Release delivers what was held, late and in order, and disarms a hold
// that has not begun.
func (l *Link) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed = nil
	if l.held {
		l.held = false
		close(l.open)
	}
}

// IsHeld tells whether traffic is held.
func (l *Link) IsHeld() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

// Arm makes the link hold traffic as the client next sends a write under
// dir (a directory of the key space, such as "assign"); began is called
// then. The caller's tap reports each write's keys to Fire.
func (l *Link) Arm(dir string, began func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed = NewArmed(dir, began)
}

// Fire begins an armed hold if one of keys is under its directory. It
// returns once the link holds, so the write that fired it is held.
func (l *Link) Fire(keys []string) {
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

// Reset drops every connection from the client's end, as a broken TCP
// connection would: the client's reads and writes fail at once, what was
// in flight is lost, and the member sees the connection end.
func (l *Link) Reset() {
	for _, r := range l.connections() {
		r.reset()
	}
}

// connections lists the link's connections, oldest first: a map's order
// would drop them in a different order every run.
func (l *Link) connections() []*relay {
	l.mu.Lock()
	defer l.mu.Unlock()
	rs := make([]*relay, 0, len(l.relays))
	for r := range l.relays {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *relay) int { return cmp.Compare(a.seq, b.seq) })
	return rs
}

// Close drops every connection and refuses new ones; it does not wait.
func (l *Link) Close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.Reset()
}

// Dial connects the client to the member at addr (one of the endpoints,
// in any of the forms clientv3 hands a dialer) through the link.
func (l *Link) Dial(ctx context.Context, addr string) (net.Conn, error) {
	m := slices.Index(l.members, Host(addr))
	if m < 0 {
		return nil, fmt.Errorf("memnet: %s is not a member this link reaches", addr)
	}
	far, err := l.net.Dial(ctx, l.members[m])
	if err != nil {
		return nil, err
	}
	client, near := net.Pipe()
	r := &relay{link: l, member: m, far: far, near: near, done: make(chan struct{})}
	r.client = &clientConn{Conn: client, remote: Addr(l.members[m])}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		far.Close()
		near.Close()
		client.Close()
		return nil, ErrClosed
	}
	l.dialled++
	r.seq = l.dialled
	l.relays[r] = true
	l.mu.Unlock()
	up, down := &flow{wake: make(chan struct{}, 1)}, &flow{wake: make(chan struct{}, 1)}
	go r.ingress(near, up)
	go r.egress(up, far)
	go r.ingress(far, down)
	go r.egress(down, near)
	return r.client, nil
}

// delayLocked draws the delay of the next piece of traffic to or from
// member m.
func (l *Link) delayLocked(m int) time.Duration {
	d := l.latency + l.skew[m]
	if l.jitter > 0 {
		d += time.Duration(l.rng.Int64N(2*int64(l.jitter)+1)) - l.jitter
	}
	return max(d, 0)
}

// clientConn is the client's end of a connection through a link.
type clientConn struct {
	net.Conn
	remote Addr
}

func (c *clientConn) LocalAddr() net.Addr  { return Addr("memnet-client") }
func (c *clientConn) RemoteAddr() net.Addr { return c.remote }

// relay carries one connection: near is the end facing the client (whose
// own end is client), far the connection to the member.
type relay struct {
	link      *Link
	seq       int // its place among the link's connections
	member    int
	client    net.Conn
	near, far net.Conn
	done      chan struct{} // closed when the connection is torn down
	once      sync.Once
}

// chunk is what one read carried, due at a time; eof marks the end.
type chunk struct {
	b   []byte
	due time.Time
	eof bool
}

// flow is one direction's traffic in flight, in order: one egress pops
// it, so later traffic with a shorter delay waits behind earlier traffic,
// as over TCP.
type flow struct {
	mu   sync.Mutex
	q    []chunk
	wake chan struct{}
}

func (f *flow) push(c chunk) {
	f.mu.Lock()
	f.q = append(f.q, c)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *flow) pop() (chunk, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.q) == 0 {
		return chunk{}, false
	}
	c := f.q[0]
	f.q[0] = chunk{}
	f.q = f.q[1:]
	return c, true
}

// ingress reads what src sends as it comes and queues it, stamped with
// its delay; what the link cuts is dropped here.
func (r *relay) ingress(src net.Conn, f *flow) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			l := r.link
			l.mu.Lock()
			cut, d := l.cut[r.member], l.delayLocked(r.member)
			l.mu.Unlock()
			if !cut {
				f.push(chunk{b: slices.Clone(buf[:n]), due: time.Now().Add(d)})
			}
		}
		if err != nil {
			f.push(chunk{eof: true, due: time.Now()})
			return
		}
	}
}

// egress delivers f's traffic to dst in order: each piece when it is due
// and the link is not held, unless the link cut it off meanwhile. The end
// of the stream tears the connection down.
func (r *relay) egress(f *flow, dst net.Conn) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		c, ok := f.pop()
		if !ok {
			select {
			case <-f.wake:
				continue
			case <-r.done:
				return
			}
		}
		if wait := time.Until(c.due); wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
			case <-r.done:
				return
			}
		}
		if !r.wait() {
			return
		}
		if c.eof {
			r.teardown()
			return
		}
		r.link.mu.Lock()
		cut := r.link.cut[r.member]
		r.link.mu.Unlock()
		if cut {
			continue
		}
		if _, err := dst.Write(c.b); err != nil {
			r.teardown()
			return
		}
	}
}

// wait waits while the link is held; false if the connection ended.
func (r *relay) wait() bool {
	r.link.mu.Lock()
	open := r.link.open
	r.link.mu.Unlock()
	select {
	case <-open:
		return true
	case <-r.done:
		return false
	}
}

// teardown ends the connection at the relay: the client reads the end of
// the stream once it read what was delivered, the member sees it closed.
func (r *relay) teardown() {
	r.once.Do(func() {
		close(r.done)
		r.near.Close()
		r.far.Close()
		r.link.mu.Lock()
		delete(r.link.relays, r)
		r.link.mu.Unlock()
	})
}

// reset ends the connection from the client's end: its own reads and
// writes fail at once.
func (r *relay) reset() {
	r.client.Close()
	r.teardown()
}
