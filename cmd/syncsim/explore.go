package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/syncsim/syncsim/cmd/internal/cliflag"
	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/scenarios"
	"github.com/syncsim/syncsim/sim"
)

// explore runs a campaign of drawn scenarios and shrinks the first
// violation it finds.
func explore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", time.Minute, "start no scenario after this long (with --count and no --duration: no time limit)")
	count := fs.Int("count", 0, "run at most this many scenarios (0: no limit)")
	seed := fs.Int64("seed", 0, "first seed (0: pick one and print it); the same seed draws the same scenarios")
	shard := fs.String("shard", "1/1", "run shard i of n (i from 1): seeds are dealt round-robin, so n runs with one seed split a campaign")
	agents := fs.Int("agents", 3, "agents at the start of each scenario")
	members := fs.Int("members", 3, "etcd members")
	syncs := fs.Int("syncs", 4, "syncs at the start of each scenario")
	steps := fs.Int("steps", 8, "most steps in a drawn timeline")
	quorumLoss := fs.Bool("allow-quorum-loss", false, "let member faults take a majority of members out at once (one stays up)")
	parallel := fs.Int("parallel", 3, "scenarios to run at once")
	keepGoing := fs.Bool("keep-going", false, "go on after the first violation")
	shrink := fs.Bool("shrink", true, "shrink the first violation to a smaller timeline that still fails")
	shrinkTime := fs.Duration("shrink-time", 3*time.Minute, "time allowed for shrinking")
	confirm := fs.Int("confirm", 4, "runs that measure how often a failure comes back, before and after shrinking")
	out := fs.String("out", reports.Dir(), "directory for the reports of failed runs (also $SYNCSIM_REPORTS)")
	mutant := fs.String("mutant", "", mutantUsage)
	asJSON := fs.Bool("json", false, "print one JSON line per run instead of progress")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: syncsim explore [flags]\n\nRuns scenarios drawn from the scenario language at random until --duration\nor --count runs out; every failed run leaves a report, and the first violation\nis shrunk to a smaller timeline that still fails.\n\nflags:")
		fs.PrintDefaults()
	}
	extra, err := cliflag.Parse(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if *mutant != "" {
		return underMutant(ctx, *mutant, append([]string{"explore"}, withoutFlag(args, "mutant")...), stdout, stderr)
	}
	var i, n int
	if _, err := fmt.Sscanf(*shard, "%d/%d", &i, &n); err != nil || n < 1 || i < 1 || i > n || fmt.Sprintf("%d/%d", i, n) != *shard {
		fmt.Fprintf(stderr, "syncsim explore: --shard %q must be i/n with 1 <= i <= n, such as 2/4\n", *shard)
		return exitUsage
	}
	space := scenarios.Space{Members: *members, Agents: *agents, Syncs: *syncs, Steps: *steps, AllowQuorumLoss: *quorumLoss}
	if err := space.Validate(); err != nil {
		fmt.Fprintf(stderr, "syncsim explore: %v\n", err)
		return exitUsage
	}
	if len(extra) > 0 || *parallel < 1 || *count < 0 || *confirm < 1 {
		fs.Usage()
		return exitUsage
	}
	if *count > 0 && !flagGiven(fs, "duration") {
		*duration = 0
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano() % 1e9 // only the starting point; every draw after it is seeded
	}
	root := sim.Abs(*out)
	campaign := scenarios.Campaign{
		Space: space, Seed: *seed, Shard: i - 1, Shards: n,
		Duration: *duration, Count: *count, Parallel: *parallel, KeepGoing: *keepGoing,
		Options: scenarios.Options{Reports: root, Mutant: os.Getenv(envMutant)},
	}
	limit := fmt.Sprintf("for %v", *duration)
	switch {
	case *count > 0 && *duration > 0:
		limit = fmt.Sprintf("%d scenarios or %v", *count, *duration)
	case *count > 0:
		limit = fmt.Sprintf("%d scenarios", *count)
	case *duration == 0:
		limit = "until interrupted"
	}
	fmt.Fprintf(stdout, "explore: seed %d, shard %s, %d at once, %s; reports under %s\n", *seed, *shard, *parallel, limit, root)

	var progress *progress
	if !*asJSON {
		progress = startProgress(stdout)
	}
	tally, failures := scenarios.Explore(ctx, campaign, func(t scenarios.Tally, o *scenarios.Outcome, err error) {
		if *asJSON {
			if err == nil {
				fmt.Fprintln(stdout, runJSON(o))
			}
			return
		}
		switch {
		case err != nil:
			progress.line(fmt.Sprintf("ERROR could not run a scenario: %v", err))
		case o.Verdict.Status != model.Pass:
			first := o.Verdict.First()
			progress.line(fmt.Sprintf("%s %s %s: %s\n    report: %s", strings.ToUpper(string(o.Verdict.Status)), o.Scenario.Name, first.Property, first.Summary, o.Report))
		}
		progress.update(t)
	})
	if progress != nil {
		progress.finish()
	}
	fmt.Fprintf(stdout, "summary: %s; slowest check %v (%s)\n", tally, tally.SlowestCheck.Round(time.Millisecond), tally.SlowestCheckName)

	code := exitPass
	switch {
	case tally.Violations > 0:
		code = exitViolation
	case tally.Undecided > 0 || tally.Errors > 0:
		code = exitUndecided
	}
	if *shrink {
		opts := scenarios.Shrinking{Confirm: *confirm, Budget: *shrinkTime, Parallel: *parallel, Options: campaign.Options}
		log := func(line string) { fmt.Fprintln(stdout, line) }
		scenarios.ShrinkFirst(ctx, failures, opts, log, func(o *scenarios.Outcome, res *scenarios.Shrunk) { reportShrink(stdout, o, res) })
	}
	return code
}

// reportShrink says what came of shrinking one violation.
func reportShrink(stdout io.Writer, o *scenarios.Outcome, res *scenarios.Shrunk) {
	fmt.Fprintln(stdout, res)
	if res.Scenario == nil {
		fmt.Fprintf(stdout, "replay the original: syncsim replay %s\n", o.Report)
		return
	}
	for _, r := range res.Reports {
		fmt.Fprintf(stdout, "  report: %s\n", r)
	}
	if len(res.Reports) > 0 {
		fmt.Fprintf(stdout, "replay it: syncsim replay --attempts 10 %s\n", res.Reports[0])
		fmt.Fprintf(stdout, "keep it as a regression scenario: cp %s/scenario.json scenarios/catalogue/NAME.json, then set \"name\" to NAME\n", res.Reports[0])
	}
}

// progress shows a campaign's count as it goes: on a terminal one status
// line rewritten every second, otherwise a plain line every ten seconds.
type progress struct {
	w        io.Writer
	terminal bool
	began    time.Time
	stop     chan struct{}
	stopped  chan struct{}

	mu    sync.Mutex
	tally scenarios.Tally
}

func startProgress(w io.Writer) *progress {
	p := &progress{w: w, began: time.Now(), stop: make(chan struct{}), stopped: make(chan struct{})}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	every := 10 * time.Second
	if p.terminal {
		every = time.Second
	}
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.mu.Lock()
				p.render()
				p.mu.Unlock()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// render shows the tally with the time elapsed now; p.mu is held.
func (p *progress) render() {
	t := p.tally
	t.Elapsed = time.Since(p.began)
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", t)
	} else {
		fmt.Fprintln(p.w, t)
	}
}

func (p *progress) update(t scenarios.Tally) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tally = t
	if p.terminal {
		p.render()
	}
}

// line prints a line of its own, keeping the status line below it.
func (p *progress) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.terminal {
		fmt.Fprintln(p.w, s)
		return
	}
	fmt.Fprintf(p.w, "\r\033[K%s\n", s)
	p.render()
}

func (p *progress) finish() {
	close(p.stop)
	<-p.stopped
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
