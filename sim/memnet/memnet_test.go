package memnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// echo listens at each address and sends back whatever it reads; its
// accepted connections are sent on the returned channel. Everything is
// closed when the test ends.
func echo(t *testing.T, n *Network, addrs ...string) chan net.Conn {
	t.Helper()
	accepted := make(chan net.Conn, 16)
	for _, a := range addrs {
		ln, err := n.Listen(a)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				select {
				case accepted <- c:
				default:
				}
				go func() {
					defer c.Close()
					io.Copy(c, c)
				}()
			}
		}()
	}
	return accepted
}

// dial dials addr through l; the connection is closed when the test ends.
func dial(t *testing.T, l *Link, addr string) net.Conn {
	t.Helper()
	c, err := l.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends msg and reads back as many bytes, within limit.
func roundTrip(c net.Conn, msg []byte, limit time.Duration) ([]byte, error) {
	c.SetDeadline(time.Now().Add(limit))
	defer c.SetDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() { _, err := c.Write(msg); errc <- err }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return nil, err
	}
	return got, <-errc
}

// silent tells whether nothing at all comes back on c for d.
func silent(t *testing.T, c net.Conn, d time.Duration) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	n, err := c.Read(make([]byte, 1))
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	t.Logf("read %d bytes, %v", n, err)
	return false
}

// TestBytesFlowBothWays: a megabyte sent through the link comes back from
// the echo server whole and in order; an address nobody listens at is
// refused, and one outside the link is not dialled.
func TestBytesFlowBothWays(t *testing.T) {
	n := New()
	echo(t, n, "m0:2379")
	l := n.Link(1, "http://m0:2379")
	if got := l.Endpoints(); !slices.Equal(got, []string{"http://m0:2379"}) {
		t.Fatalf("endpoints %v", got)
	}
	c := dial(t, l, "m0:2379")
	msg := make([]byte, 1<<20)
	for i := range msg {
		msg[i] = byte(i * 7 / 3)
	}
	got, err := roundTrip(c, msg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("the echo came back altered")
	}
	if c.RemoteAddr().String() != "m0:2379" {
		t.Fatalf("remote address %q", c.RemoteAddr())
	}

	if _, err := n.Dial(context.Background(), "m9:2379"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dialling an address nobody listens at: %v", err)
	}
	if _, err := l.Dial(context.Background(), "unix:m9:2379"); err == nil {
		t.Fatal("the link dialled an address that is not one of its members")
	}
	if _, err := n.Listen("m0:2379"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("listening twice at one address: %v", err)
	}
}

// TestIsolateSomeMembers: isolating member 0 silences it both ways while
// member 1 still answers; what was sent during the cut is lost, and after
// Reconnect the old connection is gone and a new one works.
func TestIsolateSomeMembers(t *testing.T) {
	n := New()
	accepted := echo(t, n, "m0:1")
	echo(t, n, "m1:1")
	l := n.Link(1, "m0:1", "m1:1")
	c0, c1 := dial(t, l, "m0:1"), dial(t, l, "m1:1")
	server0 := <-accepted

	l.Isolate([]int{0})
	if _, err := c0.Write([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	if !silent(t, c0, 200*time.Millisecond) {
		t.Fatal("an isolated member answered")
	}
	if got, err := roundTrip(c1, []byte("hi"), time.Second); err != nil || string(got) != "hi" {
		t.Fatalf("the member left connected did not answer: %q, %v", got, err)
	}
	// The other way: what the member sends is lost too.
	if _, err := server0.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if !silent(t, c0, 100*time.Millisecond) {
		t.Fatal("an isolated member's own traffic arrived")
	}

	l.Reconnect()
	c0.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c0.Read(make([]byte, 1)); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatal("a connection cut by the isolation survived Reconnect")
	}
	c := dial(t, l, "m0:1")
	if got, err := roundTrip(c, []byte("back"), time.Second); err != nil || string(got) != "back" {
		t.Fatalf("after Reconnect: %q, %v", got, err)
	}
}

// TestIsolateAllHealsGRPC: a gRPC health client through the link is
// served, fails while the link isolates every member, and is served again
// within two seconds of Reconnect (no wait for gRPC's connect timeout on a
// connection whose handshake was dropped).
func TestIsolateAllHealsGRPC(t *testing.T) {
	l, check := healthOverLink(t)
	l.Isolate(nil) // before the first request: the handshake itself is dropped
	// served retries for 2 s, as clientv3 does: a request sent just as
	// the connection is dropped fails with it.
	served := func() error {
		deadline := time.Now().Add(2 * time.Second)
		for {
			err := check(time.Until(deadline))
			if err == nil || time.Now().After(deadline) {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := check(300 * time.Millisecond); err == nil {
		t.Fatal("a health check got through an isolated link")
	}
	l.Reconnect()
	if err := served(); err != nil {
		t.Fatalf("2 s after Reconnect: %v", err)
	}
	l.Isolate(nil)
	if err := check(300 * time.Millisecond); err == nil {
		t.Fatal("a health check got through an isolated link")
	}
	l.Reconnect()
	if err := served(); err != nil {
		t.Fatalf("2 s after the second Reconnect: %v", err)
	}
}

// TestDelayRealClock: with 50 ms ± 20 ms each way, every echo round trip
// (two crossings) takes 60 to 140 ms, plus scheduling slack.
func TestDelayRealClock(t *testing.T) {
	n := New()
	echo(t, n, "m0:1")
	l := n.Link(1, "m0:1")
	c := dial(t, l, "m0:1")
	l.Delay(50*time.Millisecond, 20*time.Millisecond)
	for range 5 {
		start := time.Now()
		if _, err := roundTrip(c, []byte("ping"), 2*time.Second); err != nil {
			t.Fatal(err)
		}
		if rtt := time.Since(start); rtt < 60*time.Millisecond || rtt > 140*time.Millisecond+100*time.Millisecond {
			t.Fatalf("round trip took %v, want 60..140 ms", rtt)
		}
	}
	l.Undelay()
	start := time.Now()
	if _, err := roundTrip(c, []byte("ping"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(start); rtt > 50*time.Millisecond {
		t.Fatalf("round trip took %v after Undelay", rtt)
	}
}

// delays measures, on simulated time, the round trips of count pings
// through a link of the given seed delayed by 100 ms ± 40 ms each way.
func delays(t *testing.T, seed int64, count int) []time.Duration {
	var rtts []time.Duration
	synctest.Test(t, func(t *testing.T) {
		n := New()
		echo(t, n, "m0:1")
		l := n.Link(seed, "m0:1")
		t.Cleanup(l.Close)
		c := dial(t, l, "m0:1")
		l.Delay(100*time.Millisecond, 40*time.Millisecond)
		for range count {
			start := time.Now()
			if _, err := roundTrip(c, []byte("ping"), time.Second); err != nil {
				t.Fatal(err)
			}
			rtts = append(rtts, time.Since(start))
		}
	})
	return rtts
}

// TestDelayJitterSeeded: on simulated time, each round trip is the sum of
// two delays drawn within latency ± jitter, the jitter varies, and the
// same seed draws the same delays (a different seed, others).
func TestDelayJitterSeeded(t *testing.T) {
	a := delays(t, 7, 20)
	for _, d := range a {
		if d < 120*time.Millisecond || d > 280*time.Millisecond {
			t.Fatalf("round trip of %v outside 2 × (100 ms ± 40 ms): %v", d, a)
		}
	}
	if slices.Min(a) == slices.Max(a) {
		t.Fatalf("no jitter: every round trip took %v", a[0])
	}
	if b := delays(t, 7, 20); !slices.Equal(a, b) {
		t.Fatalf("the same seed drew different delays:\n%v\n%v", a, b)
	}
	if c := delays(t, 8, 20); slices.Equal(a, c) {
		t.Fatalf("seeds 7 and 8 drew the same delays: %v", a)
	}
}

// TestSkewSeparatesPaths: with a skew, the round trip to each member takes
// the link's delay plus that member's own latency, twice; the members'
// latencies differ, stay below the bound, and the seed draws them.
func TestSkewSeparatesPaths(t *testing.T) {
	skews := func(seed int64) []time.Duration {
		var rtts []time.Duration
		synctest.Test(t, func(t *testing.T) {
			n := New()
			members := []string{"m0:1", "m1:1", "m2:1"}
			echo(t, n, members...)
			l := n.Link(seed, members...)
			t.Cleanup(l.Close)
			l.Skew(100 * time.Microsecond)
			l.Delay(time.Millisecond, 0)
			for _, m := range members {
				c := dial(t, l, m)
				start := time.Now()
				if _, err := roundTrip(c, []byte("ping"), time.Second); err != nil {
					t.Fatal(err)
				}
				rtts = append(rtts, time.Since(start)-2*time.Millisecond)
			}
		})
		return rtts
	}
	a := skews(3)
	for _, d := range a {
		if d < 0 || d >= 200*time.Microsecond || d%2 != 0 {
			t.Fatalf("round trip beyond the delay of %v, want twice a skew below 100 µs: %v", d, a)
		}
	}
	if a[0] == a[1] || a[1] == a[2] || a[0] == a[2] {
		t.Fatalf("two members' paths have one latency: %v", a)
	}
	if b := skews(3); !slices.Equal(a, b) {
		t.Fatalf("the same seed drew different skews:\n%v\n%v", a, b)
	}
	if c := skews(4); slices.Equal(a, c) {
		t.Fatalf("seeds 3 and 4 drew the same skews: %v", a)
	}
}

// TestTenSecondsOfDelayTakeNoWallTime: inside a synctest bubble, a round
// trip through a link delayed by 5 s each way takes exactly 10 s of
// simulated time and next to no wall time.
func TestTenSecondsOfDelayTakeNoWallTime(t *testing.T) {
	wall := time.Now()
	synctest.Test(t, func(t *testing.T) {
		n := New()
		echo(t, n, "m0:1")
		l := n.Link(1, "m0:1")
		t.Cleanup(l.Close)
		c := dial(t, l, "m0:1")
		l.Delay(5*time.Second, 0)
		start := time.Now()
		if _, err := roundTrip(c, []byte("ping"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Fatalf("the round trip took %v of simulated time, want 10s", d)
		}
	})
	if d := time.Since(wall); d > time.Second {
		t.Fatalf("10 s of simulated delay took %v of wall time", d)
	}
	t.Logf("10 s of simulated delay took %v of wall time", time.Since(wall))
}

// TestHoldDeliversLateInOrder: while the link holds, nothing arrives
// either way; on Release, everything sent meanwhile arrives in order.
func TestHoldDeliversLateInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New()
		accepted := echo(t, n, "m0:1")
		l := n.Link(1, "m0:1")
		t.Cleanup(l.Close)
		c := dial(t, l, "m0:1")
		server := <-accepted
		l.Hold()
		if !l.IsHeld() {
			t.Fatal("IsHeld is false while held")
		}
		var sent []byte
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 50 { // separate writes, separate pieces in flight
			part := bytes.Repeat([]byte{byte(i)}, 1+rng.IntN(3000))
			if _, err := c.Write(part); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, part...)
			time.Sleep(time.Millisecond)
		}
		if _, err := server.Write([]byte("!")); err != nil { // the other way, ahead of the echo
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		if !silent(t, c, time.Second) {
			t.Fatal("traffic arrived through a held link")
		}
		released := time.Now()
		l.Release()
		if l.IsHeld() {
			t.Fatal("IsHeld is true after Release")
		}
		got := make([]byte, 1+len(sent))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if got[0] != '!' || !bytes.Equal(got[1:], sent) {
			t.Fatal("what was held arrived altered or out of order")
		}
		if d := time.Since(released); d != 0 {
			t.Fatalf("held traffic took %v after Release", d)
		}
	})
}

// TestArmHoldsOnFire: an armed hold begins at the first write under its
// directory, not before, calling began; Release disarms a hold that never
// began.
func TestArmHoldsOnFire(t *testing.T) {
	l := New().Link(1, "m0:1")
	began := 0
	l.Arm("assign", func() { began++ })
	l.Fire([]string{"claims/sync-1", "assignments/x"})
	if l.IsHeld() || began != 0 {
		t.Fatal("a write outside the armed directory began the hold")
	}
	l.Fire([]string{"assign/sync-1"})
	if !l.IsHeld() || began != 1 {
		t.Fatalf("the armed write did not begin the hold (held %v, began %d)", l.IsHeld(), began)
	}
	l.Release()
	l.Fire([]string{"assign/sync-2"})
	if l.IsHeld() || began != 1 {
		t.Fatal("a hold fired twice")
	}
	l.Arm("assign", func() { began++ })
	l.Release()
	l.Fire([]string{"assign/sync-3"})
	if l.IsHeld() || began != 1 {
		t.Fatal("Release did not disarm a hold that never began")
	}
}

// TestResetFromClientEnd: Reset fails the client's reads and writes at
// once, even while the link holds or isolates (a connection with nothing
// in flight is dropped too), the member sees its end, and the client can
// dial again.
func TestResetFromClientEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New()
		accepted := echo(t, n, "m0:1")
		l := n.Link(1, "m0:1")
		t.Cleanup(l.Close)
		c := dial(t, l, "m0:1")
		server := <-accepted
		l.Isolate(nil)
		l.Hold()
		readErr := make(chan error, 1)
		go func() { _, err := c.Read(make([]byte, 1)); readErr <- err }()
		synctest.Wait()
		l.Reset()
		synctest.Wait()
		select {
		case err := <-readErr:
			if !errors.Is(err, io.ErrClosedPipe) {
				t.Fatalf("a read on a reset connection returned %v, want its own end closed", err)
			}
		default:
			t.Fatal("a blocked read survived Reset")
		}
		if _, err := c.Write([]byte("x")); err == nil {
			t.Fatal("a write succeeded on a reset connection")
		}
		server.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := server.Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("the member's end read %v, want the connection's end", err)
		}
		l.Release()
		l.Reconnect()
		c2 := dial(t, l, "m0:1")
		if got, err := roundTrip(c2, []byte("again"), time.Second); err != nil || string(got) != "again" {
			t.Fatalf("after Reset: %q, %v", got, err)
		}
		l.Close()
		if _, err := l.Dial(context.Background(), "m0:1"); !errors.Is(err, ErrClosed) {
			t.Fatalf("a closed link dialled: %v", err)
		}
		c2.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c2.Read(make([]byte, 1)); !errors.Is(err, io.ErrClosedPipe) {
			t.Fatal("a connection survived Close")
		}
	})
}

// TestGRPCInABubble: a gRPC server and client talk through a link inside
// a synctest bubble; an isolation of a minute and gRPC's reconnect
// backoff pass on simulated time, in next to no wall time.
func TestGRPCInABubble(t *testing.T) {
	wall := time.Now()
	synctest.Test(t, func(t *testing.T) {
		l, check := healthOverLink(t)
		if err := check(time.Second); err != nil {
			t.Fatal(err)
		}
		l.Isolate(nil)
		start := time.Now()
		if err := check(time.Minute); err == nil {
			t.Fatal("a health check got through an isolated link")
		}
		if d := time.Since(start); d != time.Minute {
			t.Fatalf("the check gave up after %v of simulated time, want its 1m deadline", d)
		}
		l.Reconnect()
		for i := 0; ; i++ { // retried, as clientv3 does: a request sent as the connection drops fails with it
			if err := check(2 * time.Second); err == nil {
				break
			} else if i == 2 {
				t.Fatalf("after Reconnect: %v", err)
			}
		}
	})
	if d := time.Since(wall); d > 2*time.Second {
		t.Fatalf("a minute of simulated isolation took %v of wall time", d)
	}
	t.Logf("a minute of simulated isolation took %v of wall time", time.Since(wall))
}

// healthOverLink serves gRPC's health service at m0 and returns a link to
// it and a health check through the link, bounded by d. gRPC connects on
// the first check, so a fault injected before it catches the handshake.
func healthOverLink(t *testing.T) (*Link, func(d time.Duration) error) {
	t.Helper()
	n := New()
	ln, err := n.Listen("m0:2379")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	l := n.Link(1, "m0:2379")
	t.Cleanup(l.Close)
	cc, err := grpc.NewClient("passthrough:///m0:2379",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(l.Dial))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	hc := healthpb.NewHealthClient(cc)
	return l, func(d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		return err
	}
}

// TestSkewOfNothing: a bound that is not positive gives no skew (a random
// draw below zero would panic).
func TestSkewOfNothing(t *testing.T) {
	l := New().Link(1, "m0:1", "m1:1")
	l.Skew(100 * time.Microsecond)
	l.Skew(0)
	for i, d := range l.skew {
		if d != 0 {
			t.Fatalf("member %d keeps a skew of %v after Skew(0)", i, d)
		}
	}
}

// TestEndpointsInTheSeedsOrder: a link lists every member, in an order
// drawn from its seed: the same for the same seed, not the same for all.
func TestEndpointsInTheSeedsOrder(t *testing.T) {
	members := []string{"m0:2379", "m1:2379", "m2:2379", "m3:2379", "m4:2379"}
	orders := map[string]bool{}
	for seed := range int64(8) {
		got := New().Link(seed, members...).Endpoints()
		if again := New().Link(seed, members...).Endpoints(); !slices.Equal(got, again) {
			t.Fatalf("seed %d listed %v, then %v", seed, got, again)
		}
		if !slices.Equal(slices.Sorted(slices.Values(got)), members) {
			t.Fatalf("seed %d listed %v, want each of %v once", seed, got, members)
		}
		orders[strings.Join(got, " ")] = true
	}
	if len(orders) == 1 {
		t.Errorf("eight seeds listed the members in one order: %v", orders)
	}
}
