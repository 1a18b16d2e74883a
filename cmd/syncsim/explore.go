package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/syncsim/syncsim/cmd/internal/cliflag"
	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/reports/junit"
	"github.com/syncsim/syncsim/scenarios"
	"github.com/syncsim/syncsim/sim"
)

// explore runs a campaign of drawn scenarios and shrinks the first
// violation it finds.
func explore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	x, code := parseExplore(args, stderr)
	if x == nil {
		return code
	}
	if x.mutant != "" {
		return underMutant(ctx, x.mutant, append([]string{"explore"}, withoutFlag(args, "mutant")...), stdout, stderr)
	}
	if code, done := underSimClock(ctx, x.campaign.Options.Clock, append([]string{"explore"}, args...), stdout, stderr); done {
		return code
	}
	if !initSim("explore", stderr) {
		return exitUndecided
	}
	c := x.campaign
	fmt.Fprintf(stdout, "explore: seed %d, shard %d/%d, %d at once, %s; reports under %s\n", c.Seed, c.Shard+1, c.Shards, c.Parallel, x.limit(), c.Options.Reports)

	var status exitStatus
	var runs []ran
	began := time.Now()
	show := x.printer(stdout)
	tally, failures := scenarios.Explore(ctx, c, func(t scenarios.Tally, sc *scenarios.Scenario, o *scenarios.Outcome, err error) {
		if err != nil {
			status.add(exitUndecided)
		} else {
			status.verdict(o.Verdict.Status)
		}
		runs = append(runs, ran{sc, o, err})
		show.run(t, sc, o, err)
	})
	show.finish()
	fmt.Fprintf(stdout, "summary: %s; slowest check %v (%s)\n", tally, tally.SlowestCheck.Round(time.Millisecond), tally.SlowestCheckName)
	if x.junit != "" {
		status.add(x.writeJUnit(began, runs, stderr))
	}
	if x.shrink {
		x.shrinkFirst(ctx, failures, stdout)
	}
	return status.code()
}

// exploration is a parsed explore command line.
type exploration struct {
	campaign  scenarios.Campaign
	mutant    string
	asJSON    bool
	junit     string // "" writes none
	shrink    bool
	shrinking scenarios.Shrinking
}

// parseExplore reads the command line; a nil exploration comes with the
// exit code to end with.
func parseExplore(args []string, stderr io.Writer) (*exploration, int) {
	fs := flag.NewFlagSet("explore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	x := &exploration{}
	c := &x.campaign
	cliflag.DurationVar(fs, &c.Duration, "duration", time.Minute, "start no scenario after this long (with --count and no --duration: no time limit)")
	fs.IntVar(&c.Count, "count", 0, "run at most this many scenarios (0: no limit)")
	fs.Int64Var(&c.Seed, "seed", 0, "first seed (0: pick one and print it); the same seed draws the same scenarios")
	shard := fs.String("shard", "1/1", "run shard i of n (i from 1): seeds are dealt round-robin, so n runs with one seed split a campaign")
	fs.IntVar(&c.Space.Agents, "agents", 3, "agents at the start of each scenario")
	fs.IntVar(&c.Space.Members, "members", 3, "etcd members")
	fs.IntVar(&c.Space.Syncs, "syncs", 4, "syncs at the start of each scenario")
	fs.IntVar(&c.Space.Steps, "steps", 8, "most steps in a drawn timeline")
	fs.BoolVar(&c.Space.AllowQuorumLoss, "allow-quorum-loss", false, "let member faults take a majority of members out at once (one stays up)")
	fs.IntVar(&c.Parallel, "parallel", 3, "scenarios to run at once")
	fs.BoolVar(&c.KeepGoing, "keep-going", false, "go on after the first violation")
	fs.BoolVar(&x.shrink, "shrink", true, "shrink the first violation to a smaller timeline that still fails")
	cliflag.DurationVar(fs, &x.shrinking.Budget, "shrink-time", 3*time.Minute, "time allowed for shrinking")
	fs.IntVar(&x.shrinking.Confirm, "confirm", 4, "runs that measure how often a failure comes back, before and after shrinking")
	cliflag.PathVar(fs, &c.Options.Reports, "out", reports.Dir(), "directory for the reports of failed runs (also $SYNCSIM_REPORTS)")
	fs.StringVar(&x.mutant, "mutant", "", mutantUsage)
	fs.BoolVar(&x.asJSON, "json", false, "print one JSON line per run instead of progress")
	cliflag.PathVar(fs, &x.junit, "junit", "", "also write a JUnit XML file here: one test case per scenario run")
	fs.BoolVar(&c.Options.KeepPassing, "keep-passing", false, "write a report for passing runs too, so the index lists every run")
	clockName := clockFlag(fs, sim.SimClock)
	agentF := addAgentFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: syncsim explore [flags]\n\nRuns scenarios drawn from the scenario language at random until --duration\nor --count runs out; every failed run leaves a report, and the first violation\nis shrunk to a smaller timeline that still fails.\n\nWithout --shard, a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (from 0) and\nJOB_COMPLETIONS choose the shard.\n\nflags:")
		fs.PrintDefaults()
	}
	extra, err := cliflag.Parse(fs, args)
	if err != nil {
		return nil, parseFailed(err)
	}
	if !outReady("explore", c.Options.Reports, stderr) || !junitReady("explore", x.junit, stderr) {
		return nil, exitUsage
	}
	clock, ok := commandClock("explore", fs, *clockName, stderr)
	if !ok {
		return nil, exitUsage
	}
	c.Options.Clock = clock
	if c.Options.Command, c.Options.Agent, ok = agentF.agent("explore", clock, stderr); !ok || !agentF.alone("explore", x.mutant, stderr) {
		return nil, exitUsage
	}
	if x.mutant != "" {
		return x, exitPass // the mutant's own syncsim reads the rest
	}
	spec, err := shardSpec(*shard, flagGiven(fs, "shard"), os.Getenv)
	if err == nil {
		c.Shard, c.Shards, err = parseShard(spec)
	}
	if err != nil {
		fmt.Fprintf(stderr, "syncsim explore: %v\n", err)
		return nil, exitUsage
	}
	if err := c.Space.Validate(); err != nil {
		fmt.Fprintf(stderr, "syncsim explore: %v\n", err)
		return nil, exitUsage
	}
	if len(extra) > 0 || c.Parallel < 1 || c.Count < 0 || x.shrinking.Confirm < 1 {
		fs.Usage()
		return nil, exitUsage
	}
	if clock == sim.SimClock {
		c.Parallel = 1 // a simulated run takes the process; shards (--shard, make soak JOBS=n) run side by side
	}
	if c.Count > 0 && !flagGiven(fs, "duration") {
		c.Duration = 0
	}
	if c.Seed == 0 {
		c.Seed = time.Now().UnixNano() % 1e9 // only the starting point; every draw after it is seeded
	}
	x.shrinking.Parallel, x.shrinking.Options = c.Parallel, c.Options
	return x, exitPass
}

// shardSpec is the shard to run, as "i/n": --shard when given, else the
// index a Kubernetes Indexed Job gives each pod (JOB_COMPLETION_INDEX, from
// 0) of JOB_COMPLETIONS, which the Job's manifest sets to its completions;
// else 1/1.
func shardSpec(flagValue string, given bool, getenv func(string) string) (string, error) {
	index, completions := getenv("JOB_COMPLETION_INDEX"), getenv("JOB_COMPLETIONS")
	if given || index == "" && completions == "" {
		return flagValue, nil
	}
	if index == "" || completions == "" {
		return "", fmt.Errorf("JOB_COMPLETION_INDEX is %q and JOB_COMPLETIONS is %q: an Indexed Job sets the index, and its manifest must set JOB_COMPLETIONS to spec.completions; set both, or give --shard", index, completions)
	}
	i, ierr := strconv.Atoi(index)
	n, nerr := strconv.Atoi(completions)
	if ierr != nil || nerr != nil || n < 1 || i < 0 || i >= n {
		return "", fmt.Errorf("JOB_COMPLETION_INDEX %q of JOB_COMPLETIONS %q: want a whole number from 0 to JOB_COMPLETIONS-1, and JOB_COMPLETIONS at least 1", index, completions)
	}
	return fmt.Sprintf("%d/%d", i+1, n), nil
}

// parseShard reads "i/n" into a shard numbered from 0 and the count.
func parseShard(s string) (shard, shards int, err error) {
	var i, n int
	if _, err := fmt.Sscanf(s, "%d/%d", &i, &n); err != nil || n < 1 || i < 1 || i > n || fmt.Sprintf("%d/%d", i, n) != s {
		return 0, 0, fmt.Errorf("--shard %q must be i/n with 1 <= i <= n, such as 2/4", s)
	}
	return i - 1, n, nil
}

// writeJUnit writes the campaign's runs, in the order they finished, as
// JUnit, and returns the exit code it adds.
func (x *exploration) writeJUnit(began time.Time, runs []ran, stderr io.Writer) int {
	c := x.campaign
	suite := "syncsim explore"
	if c.Shards > 1 {
		suite = fmt.Sprintf("syncsim explore shard %d/%d", c.Shard+1, c.Shards)
	}
	r := runReport(suite, began, runs)
	s := r.Suite(suite)
	s.Properties = append(s.Properties, junit.Property{Name: "seed", Value: fmt.Sprint(c.Seed)}, junit.Property{Name: "shard", Value: fmt.Sprintf("%d/%d", c.Shard+1, c.Shards)})
	if err := junit.Write(x.junit, r); err != nil {
		fmt.Fprintf(stderr, "syncsim explore: --junit: %v\n", err)
		return exitUsage
	}
	return exitPass
}

// limit says when the campaign stops.
func (x *exploration) limit() string {
	c := x.campaign
	switch {
	case c.Count > 0 && c.Duration > 0:
		return fmt.Sprintf("%d scenarios or %v", c.Count, c.Duration)
	case c.Count > 0:
		return fmt.Sprintf("%d scenarios", c.Count)
	case c.Duration == 0:
		return "until interrupted"
	}
	return fmt.Sprintf("for %v", c.Duration)
}

// A runPrinter shows a campaign's runs as they finish.
type runPrinter interface {
	run(t scenarios.Tally, sc *scenarios.Scenario, o *scenarios.Outcome, err error)
	finish()
}

func (x *exploration) printer(stdout io.Writer) runPrinter {
	if x.asJSON {
		return jsonPrinter{stdout}
	}
	return startProgress(stdout)
}

// jsonPrinter prints every run as a scenarios.Line, errors included.
type jsonPrinter struct{ w io.Writer }

func (p jsonPrinter) run(_ scenarios.Tally, sc *scenarios.Scenario, o *scenarios.Outcome, err error) {
	fmt.Fprintf(p.w, "%s\n", scenarios.NewLine(sc, o, err).Encode())
}

func (jsonPrinter) finish() {}

// shrinkFirst shrinks the first violation, showing what it is doing on a
// status line (a line every ten seconds off a terminal): a shrink runs for
// minutes between the lines it prints.
func (x *exploration) shrinkFirst(ctx context.Context, failures []*scenarios.Outcome, stdout io.Writer) {
	if !slices.ContainsFunc(failures, func(o *scenarios.Outcome) bool { return o.Verdict.Status == model.Fail }) {
		return
	}
	doing := "shrinking"
	st := startStatus(stdout, 10*time.Second, func() string { return doing })
	defer st.finish()
	opts := x.shrinking
	opts.Progress = func(what string) { st.do(func() { doing = what }) }
	log := func(line string) { st.println(line) }
	scenarios.ShrinkFirst(ctx, failures, opts, log, func(o *scenarios.Outcome, res *scenarios.Shrunk) { reportShrink(st, o, res) })
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

// progress shows a campaign's count as it goes: on a terminal a status
// line rewritten every second, otherwise a plain line every ten seconds.
type progress struct {
	began  time.Time
	status *status
	tally  scenarios.Tally // under status's lock
}

func startProgress(w io.Writer) *progress {
	p := &progress{began: time.Now()}
	p.status = startStatus(w, 10*time.Second, func() string {
		t := p.tally
		t.Elapsed = time.Since(p.began)
		return t.String()
	})
	return p
}

// run shows a run that did not pass on a line of its own, and the tally.
func (p *progress) run(t scenarios.Tally, sc *scenarios.Scenario, o *scenarios.Outcome, err error) {
	switch {
	case err != nil:
		p.status.println(fmt.Sprintf("ERROR could not run %s: %v", sc.Name, err))
	case o.Verdict.Status != model.Pass:
		first := o.Verdict.First()
		p.status.println(fmt.Sprintf("%s %s %s: %s\n    report: %s", strings.ToUpper(string(o.Verdict.Status)), sc.Name, first.Property, first.Summary, o.Report))
	}
	p.status.do(func() { p.tally = t })
}

func (p *progress) finish() { p.status.finish() }

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
