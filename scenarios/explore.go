package scenarios

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/syncsim/syncsim/model"
)

// Campaign is one exploration: scenarios drawn from a space, one per seed,
// run until a time or count runs out.
type Campaign struct {
	Space Space
	// Seed is the first seed. Scenario k of shard i of n draws seed
	// Seed + k*n + i, so n processes with the same Seed split a campaign
	// without running anything twice.
	Seed          int64
	Shard, Shards int
	// Duration stops the campaign from starting scenarios after it; Count
	// after that many. Zero means no limit (the context still ends it).
	Duration time.Duration
	Count    int
	Parallel int
	// KeepGoing goes on after the first violation instead of stopping there.
	KeepGoing bool
	// Options is the system under test and where reports go; every failed
	// or undecided run leaves one.
	Options Options
}

// Tally counts a campaign so far.
type Tally struct {
	Run, Violations, Undecided, Errors int
	Elapsed                            time.Duration
	// SlowestCheck is the longest model.Check of any run, and its scenario.
	SlowestCheck     time.Duration
	SlowestCheckName string
}

// Rate is scenarios per minute.
func (t Tally) Rate() float64 {
	if t.Elapsed <= 0 {
		return 0
	}
	return float64(t.Run) / t.Elapsed.Minutes()
}

func (t Tally) String() string {
	return fmt.Sprintf("%d scenarios, %d violations, %d undecided, %d errors, %s elapsed, %.1f/min",
		t.Run, t.Violations, t.Undecided, t.Errors, t.Elapsed.Round(time.Second), t.Rate())
}

// Drawn returns the scenario a campaign runs for seed: the space's
// generator at that seed, named after it and seeded with it (the seed
// also makes the executor's choices, such as which agent "any agent" is).
func (sp Space) Drawn(seed int64) *Scenario {
	sc := sp.Generator().Example(int(seed))
	sc.Name = fmt.Sprintf("explore-%d", seed)
	sc.Seed = seed
	return sc
}

// seed is the seed of the campaign's k-th scenario (from 0).
func (c Campaign) seed(k int64) int64 {
	return c.Seed + k*int64(max(c.Shards, 1)) + int64(c.Shard)
}

// Explore runs the campaign and hands each run of a scenario to each, in
// the order they finish, with the tally including it; err is set when the
// harness could not run the scenario. It returns the final tally and the
// runs that did not pass.
func Explore(ctx context.Context, c Campaign, each func(t Tally, sc *Scenario, o *Outcome, err error)) (Tally, []*Outcome) {
	c.Shards = max(c.Shards, 1)
	c.Parallel = c.Options.atOnce(c.Parallel)
	began := time.Now()
	// Stopping the feed starts no more scenarios; runs under way finish.
	feed, stop := context.WithCancel(ctx)
	defer stop()

	type result struct {
		sc  *Scenario
		out *Outcome
		err error
	}
	seeds := make(chan int64)
	results := make(chan result)
	go func() {
		defer close(seeds)
		for k := int64(0); c.Count == 0 || k < int64(c.Count); k++ {
			if c.Duration > 0 && time.Since(began) >= c.Duration {
				return
			}
			select {
			case seeds <- c.seed(k):
			case <-feed.Done():
				return
			}
		}
	}()
	space := c.Space
	space.NoLeader = space.NoLeader || !c.Options.declared(&Scenario{}).Leads
	var workers sync.WaitGroup
	for range c.Parallel {
		workers.Go(func() {
			for seed := range seeds {
				sc := space.Drawn(seed)
				out, err := Run(ctx, sc, c.Options)
				results <- result{sc, out, err}
			}
		})
	}
	go func() { workers.Wait(); close(results) }()

	var tally Tally
	var failures []*Outcome
	for r := range results {
		tally.Run++
		switch {
		case r.err != nil:
			tally.Errors++
		case r.out.Verdict.Status == model.Fail:
			tally.Violations++
			failures = append(failures, r.out)
			if !c.KeepGoing {
				stop()
			}
		case r.out.Verdict.Status != model.Pass:
			tally.Undecided++
			failures = append(failures, r.out)
		}
		if r.out != nil && r.out.Checked > tally.SlowestCheck {
			tally.SlowestCheck, tally.SlowestCheckName = r.out.Checked, r.sc.Name
		}
		tally.Elapsed = time.Since(began)
		each(tally, r.sc, r.out, r.err)
	}
	return tally, failures
}
