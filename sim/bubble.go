package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	mathrand "math/rand"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/cryptotest"
	"testing/synctest"
	"time"
)

// Clock is the time a run's world lives in.
type Clock string

const (
	// RealClock runs the world on the machine's clock and real sockets:
	// the fidelity mode, where CPU starvation and GC pauses open windows too.
	RealClock Clock = "real"
	// SimClock runs the cluster, the links, the agents, the faults and the
	// recorder inside one testing/synctest bubble on an in-memory network:
	// time moves only when every goroutine waits, so a run takes a fraction
	// of its length, and the seed drives raft's election jitter.
	SimClock Clock = "sim"
)

// ParseClock reads a clock's name; "" is the real clock.
func ParseClock(s string) (Clock, error) {
	switch Clock(s) {
	case "", RealClock:
		return RealClock, nil
	case SimClock:
		return SimClock, nil
	}
	return "", fmt.Errorf("unknown clock %q: the clocks are %q (the machine's) and %q (simulated)", s, RealClock, SimClock)
}

// simulating is the test the simulated clock's bubbles run in: synctest
// and cryptotest need a *testing.T, so only a test binary has the clock.
var simulating struct {
	sync.Mutex
	t *testing.T
}

// SimulateIn lets Run use the simulated clock, in bubbles of t, for as long
// as t runs. t must not be parallel: the bubble's randomness and etcd's
// peer dial hook are process-wide. It fails in a binary built without the
// simclock tag (see internal/etcdpatch).
func SimulateIn(t *testing.T) error {
	if setPeerDial == nil {
		return errNoPeerDial
	}
	noWatchDone()
	simulating.Lock()
	simulating.t = t
	simulating.Unlock()
	t.Cleanup(func() {
		simulating.Lock()
		simulating.t = nil
		simulating.Unlock()
	})
	return nil
}

// oneBubble keeps simulated runs one at a time in a process.
var oneBubble sync.Mutex

// Simulating reports whether this process can run the simulated clock
// (SimulateIn was called and its test still runs).
func Simulating() bool {
	simulating.Lock()
	defer simulating.Unlock()
	return simulating.t != nil
}

// errNotSimulating is Run's answer to the simulated clock outside a test.
var errNotSimulating = errors.New("the simulated clock runs only in a test that called sim.SimulateIn " +
	"(syncsim --clock sim builds and runs such a test binary)")

// runSimulated is run inside a fresh bubble, seeded by the scenario, with a
// wall-clock bound: a goroutine blocked on something outside the bubble
// (a real socket, a channel made outside it) does not fail, it only stops
// simulated time, and the bound turns that into an error that names it.
func runSimulated(setup Setup, steps []Step, opts Options) (*Result, error) {
	// One bubble at a time: its seeded randomness and etcd's peer dial hook
	// are process-wide. Parallel simulated runs take one process each.
	oneBubble.Lock()
	defer oneBubble.Unlock()
	simulating.Lock()
	t := simulating.t
	simulating.Unlock()
	if t == nil {
		return nil, errNotSimulating
	}
	wallStart := time.Now()
	bound := wallBound(setup, steps)
	watchdog := time.AfterFunc(bound, func() {
		fmt.Fprintf(os.Stderr, "syncsim: the simulated run (seed %d) is still going after %v of real time: simulated time stopped advancing.\n%s",
			setup.Seed, bound, notDurablyBlocked())
		os.Exit(3)
	})
	defer watchdog.Stop()
	var res *Result
	var err error
	synctest.Test(t, func(t *testing.T) {
		cryptotest.SetGlobalRandom(t, uint64(setup.Seed))
		mathrand.Seed(setup.Seed) // a no-op unless GODEBUG=randseednop=0 (the simulated binary's //go:debug)
		defer orderGRPC()()
		res, err = run(context.Background(), setup, steps, opts, startMemCluster)
	})
	if res != nil {
		res.History.Start = wallStart.UTC()
		res.History.Clock = string(SimClock)
	}
	return res, err
}

// wallBound is how long a simulated run may take in real time: as long as
// its whole length in real time, and two minutes more. A simulated run
// takes a small fraction of it; one that takes longer has stopped.
func wallBound(setup Setup, steps []Step) time.Duration {
	length := setup.Quiet.Std() + time.Minute // ready, settle and the wind-down are bounded by about a minute
	for _, s := range steps {
		length = max(length, s.At.Std()+s.For.Std()+setup.Quiet.Std()+time.Minute)
	}
	return length + 2*time.Minute
}

// notDurablyBlocked lists the bubbled goroutines that are not durably
// blocked: the ones keeping simulated time from advancing.
func notDurablyBlocked() string {
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var b strings.Builder
	n := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		header, _, _ := bytes.Cut(g, []byte("\n"))
		if !bytes.Contains(header, []byte("synctest bubble")) || bytes.Contains(header, []byte("(durable)")) {
			continue
		}
		n++
		b.Write(g)
		b.WriteString("\n\n")
	}
	if n == 0 {
		return "No goroutine of a bubble is running or waiting outside it; the bubble may be waiting on a goroutine outside it.\n"
	}
	return fmt.Sprintf("These %d goroutines of the bubble are not durably blocked (a real socket, a channel from outside the bubble, or busy):\n\n%s", n, b.String())
}
