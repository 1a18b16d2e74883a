// Command syncsim runs coordination scenarios against sync agents on an
// in-process etcd cluster, checks what happened, and writes reports.
//
// Exit codes: 0 every counted property held, 1 a violation, 2 bad usage or
// input, 3 a checker could not decide; when several apply, 2 over 1 over 3
// (see exitStatus).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/syncsim/syncsim/cmd/internal/cliflag"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/scenarios"
	"github.com/syncsim/syncsim/sim"
)

const usage = `usage: syncsim <command> [flags] [arguments]

commands:
  list                      list the scripted scenarios
  run [flags] NAME|FILE|all run scenarios against the reference agent
  explore [flags]           run scenarios drawn at random, shrink what fails
  replay DIR|FILE           run a saved scenario again, N attempts, and say how often it failed again
  check DIR|history.json    re-check a stored history offline
  report [--keep N] [DIR]   rebuild the index page of a reports directory; --keep N
                            removes passing runs but the N newest
  report --merge DIR...     fold shards' reports directories into one (--out), with
                            totals and a combined junit.xml
  mutants [NAME ...]        run the planted bugs and the reference agent; who caught what
  cluster [--members N]     start an in-process etcd cluster, print its endpoints,
                            and serve until interrupted (to try cmd/syncagent)
  version                   print the module version, commit and Go toolchain

Run 'syncsim <command> -h' for a command's flags.
Exit codes: 0 all properties hold, 1 a violation, 2 bad usage or input,
3 a checker could not decide; when several apply, 2 over 1 over 3.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	go func() {
		<-ctx.Done()
		stop() // a second interrupt ends the process at once, whatever it waits on
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	sim.Close() // leaves the scratch directory a command's sim.Init entered, and removes it
	os.Exit(code)
}

// initSim readies the process for in-process clusters. A command calls it
// once it has read its command line and will not re-run under a mutant:
// sim.Init moves the process into a scratch directory for good, so every
// path the command holds must be absolute by then, and a mutant's syncsim
// must start in the user's directory.
func initSim(command string, stderr io.Writer) bool {
	if err := sim.Init(); err != nil {
		fmt.Fprintf(stderr, "syncsim %s: %v\n", command, err)
		return false
	}
	return true
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "list":
		return list(args[1:], stdout, stderr)
	case "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	case "cluster":
		return cluster(ctx, args[1:], stdout, stderr)
	case "replay":
		return replay(ctx, args[1:], stdout, stderr)
	case "explore":
		return explore(ctx, args[1:], stdout, stderr)
	case "report":
		return report(args[1:], stdout, stderr)
	case "mutants":
		return mutants(ctx, args[1:], stdout, stderr)
	case "version":
		return version(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitPass
	}
	fmt.Fprintf(stderr, "syncsim: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// noArgs parses the command line of a command that takes no arguments
// and no flags; false comes with the exit code to end with.
func noArgs(name, help string, args []string, stderr io.Writer) (int, bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, "usage: syncsim %s\n\n%s\n", name, help) }
	pos, err := cliflag.Parse(fs, args)
	if err != nil {
		return parseFailed(err), false
	}
	if len(pos) > 0 {
		fs.Usage()
		return exitUsage, false
	}
	return exitPass, true
}

func list(args []string, stdout, stderr io.Writer) int {
	if code, ok := noArgs("list", "Lists the scripted scenarios of the catalogue, with what each does.", args, stderr); !ok {
		return code
	}
	for _, sc := range scenarios.Catalogue() {
		fmt.Fprintf(stdout, "%-28s %s\n", sc.Name, sc.Description)
	}
	return exitPass
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := cliflag.Path(fs, "out", reports.Dir(), "directory for run reports (also $SYNCSIM_REPORTS)")
	failuresOnly := fs.Bool("failures-only", false, "write reports only for runs that did not pass")
	asJSON := fs.Bool("json", false, "print one JSON summary line per run instead of text")
	parallel := fs.Int("parallel", 2, "scenarios to run at once")
	mutant := fs.String("mutant", "", mutantUsage)
	junitPath := cliflag.Path(fs, "junit", "", "also write a JUnit XML file here: one test case per scenario")
	clockName := clockFlag(fs, sim.RealClock)
	agentF := addAgentFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: syncsim run [flags] NAME|FILE|all ...\n\nRuns the scenarios, telling of each on stderr as it finishes, then prints a table\nof them all in the order given.\n\nflags:")
		fs.PrintDefaults()
	}
	names, err := cliflag.Parse(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if !outReady("run", *out, stderr) || !junitReady("run", *junitPath, stderr) {
		return exitUsage
	}
	clock, ok := parseClock("run", *clockName, stderr)
	if !ok {
		return exitUsage
	}
	command, declared, ok := agentF.agent("run", clock, stderr)
	if !ok || !agentF.alone("run", *mutant, stderr) {
		return exitUsage
	}
	if *mutant != "" {
		return underMutant(ctx, *mutant, append([]string{"run"}, withoutFlag(args, "mutant")...), stdout, stderr)
	}
	if len(names) == 0 {
		fs.Usage()
		return exitUsage
	}
	var todo []*scenarios.Scenario
	for _, arg := range names {
		scs, err := resolve(arg)
		if err != nil {
			fmt.Fprintf(stderr, "syncsim run: %v\n", err)
			return exitUsage
		}
		todo = append(todo, scs...)
	}

	if code, done := underSimClock(ctx, clock, append([]string{"run"}, args...), stdout, stderr); done {
		return code
	}
	if !initSim("run", stderr) {
		return exitUndecided
	}
	b := batch{
		opts:     scenarios.Options{Reports: *out, KeepPassing: !*failuresOnly, Clock: clock, Command: command, Agent: declared},
		parallel: *parallel,
		asJSON:   *asJSON,
		junit:    *junitPath,
	}
	return b.execute(ctx, todo, scenarios.Run, stdout, stderr)
}

// resolve turns an argument into scenarios: "all", a catalogue name, or a file.
func resolve(arg string) ([]*scenarios.Scenario, error) {
	if arg == "all" {
		return scenarios.Catalogue(), nil
	}
	if strings.HasSuffix(arg, ".json") || strings.ContainsRune(arg, os.PathSeparator) {
		sc, err := scenarios.Load(arg)
		if err != nil {
			return nil, err
		}
		return []*scenarios.Scenario{sc}, nil
	}
	sc, err := scenarios.Find(arg)
	if err != nil {
		return nil, err
	}
	return []*scenarios.Scenario{sc}, nil
}

// parseFailed is the exit code for a command line that did not parse:
// asking for help is not an error.
func parseFailed(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitPass
	}
	return exitUsage
}

// check re-checks a stored history; with a report directory, against the
// properties its scenario expects.
func check(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: syncsim check REPORT-DIR|history.json") }
	pos, err := cliflag.Parse(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	v, err := reports.Recheck(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "syncsim check: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, v)
	for _, r := range v.Results {
		fmt.Fprintf(stdout, "  %s: %s\n", r.Property, r.Summary)
		for i, viol := range r.Violations {
			fmt.Fprintf(stdout, "    %d. %s\n", i+1, viol.Text)
		}
		if r.More > 0 {
			fmt.Fprintf(stdout, "    and %d more\n", r.More)
		}
	}
	return exitCode(v.Status)
}

func cluster(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	members := fs.Int("members", 3, "number of etcd members")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: syncsim cluster [--members 1..7]\n\nStarts an in-process etcd cluster, prints its endpoints, and serves until interrupted.")
		fs.PrintDefaults()
	}
	pos, err := cliflag.Parse(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if *members < 1 || *members > 7 || len(pos) > 0 {
		fs.Usage()
		return exitUsage
	}
	if !initSim("cluster", stderr) {
		return exitUndecided
	}
	c, err := sim.StartCluster(*members)
	if err != nil {
		fmt.Fprintf(stderr, "syncsim cluster: %v\n", err)
		return exitUndecided
	}
	defer c.Close()
	fmt.Fprintf(stdout, "etcd endpoints: %s\n(interrupt to stop)\n", strings.Join(c.Endpoints(), ","))
	<-ctx.Done()
	return exitPass
}

// replay runs a report's scenario (or a scenario file) again. From a report
// of a failed run it counts the runs in which the same property failed.
func replay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	attempts := fs.Int("attempts", 10, "how many times to run it")
	parallel := fs.Int("parallel", 2, "runs at once")
	out := cliflag.Path(fs, "out", reports.Dir(), "directory for the reports of runs that fail")
	mutant := fs.String("mutant", "", mutantUsage+" (default: the one the report's agent carried)")
	clockName := clockFlag(fs, "")
	agentF := addAgentFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: syncsim replay [flags] REPORT-DIR|SCENARIO-FILE\n\nWithout --clock, a report is replayed on the clock it ran on, a scenario file on the real one.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, err := cliflag.Parse(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if len(pos) != 1 || *attempts < 1 {
		fs.Usage()
		return exitUsage
	}
	if !outReady("replay", *out, stderr) {
		return exitUsage
	}
	r, err := reports.Replayable(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "syncsim replay: %v\n", err)
		return exitUsage
	}
	parsed, err := scenarios.Decode(r.Scenario)
	if err != nil {
		fmt.Fprintf(stderr, "syncsim replay: %v\n", err)
		return exitUsage
	}
	if !agentF.given() {
		if code, refused := agentF.replaying(r.Agent, stdout, stderr); refused {
			return code
		}
	}
	if *mutant == "" && !agentF.given() && r.Mutant != "" && r.Mutant != scenarios.BuiltMutant() {
		*mutant = r.Mutant
		fmt.Fprintf(stdout, "the reported agent carried the planted bug %s; replaying against it\n", r.Mutant)
	}
	if *clockName == "" {
		*clockName = r.Clock
		args = append([]string{"--clock", string(cmp.Or(sim.Clock(r.Clock), sim.RealClock))}, args...)
	}
	clock, ok := parseClock("replay", *clockName, stderr)
	if !ok {
		return exitUsage
	}
	command, declared, ok := agentF.agent("replay", clock, stderr)
	if !ok || !agentF.alone("replay", *mutant, stderr) {
		return exitUsage
	}
	if *mutant != "" {
		return underMutant(ctx, *mutant, append([]string{"replay"}, withoutFlag(args, "mutant")...), stdout, stderr)
	}
	if code, done := underSimClock(ctx, clock, append([]string{"replay"}, args...), stdout, stderr); done {
		return code
	}
	if !initSim("replay", stderr) {
		return exitUndecided
	}
	what := "any counted property"
	if r.Property != "" {
		what = string(r.Property)
	}
	fmt.Fprintf(stdout, "replaying %s %d times on the %s clock, watching %s\n", parsed.Name, *attempts, clock, what)
	var status exitStatus
	opts := scenarios.Options{Reports: *out, Clock: clock, Command: command, Agent: declared}
	n := scenarios.Replay(ctx, parsed, *attempts, *parallel, r.Property, opts, func(i int, o *scenarios.Outcome, err error) {
		if err != nil {
			fmt.Fprintf(stdout, "  attempt %d: could not run: %v\n", i, err)
			status.add(exitUndecided)
			return
		}
		fmt.Fprintf(stdout, "  attempt %d: %s %5.1fs %s\n", i, strings.ToUpper(string(o.Verdict.Status)), o.Duration.Seconds(), o.Report)
		status.verdict(o.Verdict.Status)
	})
	fmt.Fprintf(stdout, "reproduced %d of %d (%.0f%%)\n", n, *attempts, 100*float64(n)/float64(*attempts))
	return status.code()
}
