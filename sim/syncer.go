package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/model"
)

// syncer is the simulated sync: it commits a counter checkpoint, tagged
// with its fencing token (model.Checkpoint), every few milliseconds until
// stopped, recording each step. Like a real CDC reader it
// keeps going when a commit fails: stopping it is the agent's job.
type syncer struct {
	rec   *recorder
	agent string
	every time.Duration
	// windDown is how long it takes to return once its context ends (and
	// a phase of its own, below windDownSpread).
	windDown time.Duration
	// dead is set when the agent process crashed: it makes no effect after that.
	dead *atomic.Bool
	// frozen holds the worker at its next step while the agent is paused.
	frozen *gate
}

func (s *syncer) Run(ctx context.Context, w *agent.Work) error {
	worker := s.rec.newWorker()
	ev := model.Event{Agent: s.agent, Sync: w.Sync, Worker: worker, Token: w.Token}
	start := ev
	start.Kind, start.Value = model.WorkStart, string(w.Checkpoint)
	s.rec.record(start)
	defer func() {
		exit := ev
		exit.Kind = model.WorkExit
		s.rec.record(exit)
	}()

	resumed, err := model.ParseCheckpoint(string(w.Checkpoint))
	if err != nil {
		return err // not a checkpoint the harness wrote; P2 reports the resume
	}
	n := resumed.N
	// A worker first commits soon after it starts, within firstCommit, at
	// a phase drawn from its sync and token, then every s.every: workers
	// started together (one agent's claims) would otherwise commit at the
	// same instants, which on the simulated clock race in real time and
	// make a seed's run diverge from itself; and a short-lived worker (a
	// batch) still makes an effect.
	next := time.NewTimer(workerPhase(w.Sync, w.Token, min(s.every, firstCommit)))
	defer next.Stop()
	for {
		select {
		case <-ctx.Done():
			// Told to stop, even while paused: the agent's timers run on
			// through a pause, and one that fenced itself must see its
			// worker stop, or it gives up on the worker and exits, a state
			// no frozen process can reach. A frozen worker makes no effect
			// meanwhile; the commit it had sent stays held in the network.
			if !s.dead.Load() {
				// Finishing the step in flight, with no effect. Workers told
				// to stop together (a rebalance, a shutdown) finish apart,
				// by a phase of their own, so their releases do not race.
				time.Sleep(s.windDown + workerPhase(w.Sync, w.Token, windDownSpread))
			}
			return nil
		case <-next.C:
			next.Reset(s.every)
		}
		// A pause freezes the worker after the step it is in: that
		// step's commit is sent into the frozen network and held there,
		// as a write already handed to the kernel is when a process or
		// its machine freezes. It arrives when the pause ends, late.
		frozen := s.frozen.isClosed()
		if ctx.Err() != nil || s.dead.Load() {
			s.frozen.waitCtx(ctx)
			continue
		}
		next := model.Checkpoint{N: n + 1, Token: w.Token}.String()
		commit := ev
		commit.Kind, commit.Value, commit.Call = model.Commit, next, s.rec.now()
		err := w.Commit(ctx, []byte(next))
		commit.Outcome = outcome(err)
		if err != nil {
			commit.Detail = err.Error()
		}
		s.rec.record(commit)
		if err == nil {
			n++
		}
		if frozen {
			s.frozen.waitCtx(ctx)
		}
	}
}

const (
	// firstCommit bounds how long a worker takes to make its first commit.
	firstCommit = 10 * time.Millisecond
	// windDownSpread bounds how much longer than windDown a worker takes
	// to return.
	windDownSpread = time.Millisecond
)

// workerPhase is a worker's offset below within, the same for the same
// sync and token in every run.
func workerPhase(sync string, token int64, within time.Duration) time.Duration {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", sync, token)
	return time.Duration(h.Sum64() % uint64(within))
}
