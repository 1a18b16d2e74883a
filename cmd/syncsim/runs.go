package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/syncsim/syncsim/reports/junit"
	"github.com/syncsim/syncsim/scenarios"
)

// runner runs one scenario: scenarios.Run, or a stand-in in tests.
type runner func(context.Context, *scenarios.Scenario, scenarios.Options) (*scenarios.Outcome, error)

// batch is a parsed run command line: how to run its scenarios and what to
// print and write about them.
type batch struct {
	opts     scenarios.Options
	parallel int
	asJSON   bool
	junit    string // "" writes none
}

// ran is one scenario's run: its outcome, or the error that kept the
// harness from running it (Run may return both when only the report failed).
type ran struct {
	sc  *scenarios.Scenario
	o   *scenarios.Outcome
	err error
}

// execute runs the scenarios, telling of each as it finishes, then prints
// the table of them all in the order given, writes the JUnit file, and
// returns the exit code.
func (b batch) execute(ctx context.Context, todo []*scenarios.Scenario, run runner, stdout, stderr io.Writer) int {
	began := time.Now()
	board := startBoard(stderr, todo, !b.asJSON)
	var printing sync.Mutex
	runs := runEach(todo, b.parallel, func(sc *scenarios.Scenario) (*scenarios.Outcome, error) {
		return run(ctx, sc, b.opts)
	}, board.started, func(i int, r ran) {
		if b.asJSON {
			printing.Lock()
			fmt.Fprintf(stdout, "%s\n", scenarios.NewLine(r.sc, r.o, r.err).Encode())
			printing.Unlock()
		}
		board.finished(i, r)
	})
	board.finish()

	var status exitStatus
	for _, r := range runs {
		if r.err != nil {
			status.add(exitUndecided)
			continue
		}
		status.verdict(r.o.Verdict.Status)
		if !b.asJSON {
			fmt.Fprintf(stdout, "%-30s %-5s %5.1fs  %s\n", r.sc.Name, strings.ToUpper(string(r.o.Verdict.Status)), r.o.Duration.Seconds(), r.o.Report)
			if first := r.o.Verdict.First(); first != nil {
				fmt.Fprintf(stdout, "    %s: %s\n", first.Property, first.Summary)
			}
		}
	}
	if b.junit != "" {
		if err := junit.Write(b.junit, runReport("syncsim run", began, runs)); err != nil {
			fmt.Fprintf(stderr, "syncsim run: --junit: %v\n", err)
			status.add(exitUsage)
		}
	}
	if !b.asJSON {
		fmt.Fprintf(stdout, "reports: %s\n", b.opts.Reports)
	}
	return status.code()
}

// runEach runs every scenario, at most parallel at once. It tells started
// of each as it starts and done of each as it finishes, in whatever order
// they finish, by its index in scs; it returns the runs in the order given.
func runEach(scs []*scenarios.Scenario, parallel int, run func(*scenarios.Scenario) (*scenarios.Outcome, error), started func(i int), done func(i int, r ran)) []ran {
	runs := make([]ran, len(scs))
	slots := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, sc := range scs {
		slots <- struct{}{} // in order: the first given start first
		started(i)
		wg.Go(func() {
			defer func() { <-slots }()
			o, err := run(sc)
			runs[i] = ran{sc, o, err}
			done(i, runs[i])
		})
	}
	wg.Wait()
	return runs
}

// runReport is the JUnit report of a batch of runs: one case each, in the
// order given.
func runReport(suite string, began time.Time, runs []ran) *junit.Report {
	r := &junit.Report{Name: "syncsim"}
	s := r.Suite(suite)
	s.Timestamp = began.UTC().Format(time.RFC3339)
	s.Properties = []junit.Property{{Name: "agent", Value: scenarios.AgentName()}, {Name: "clock", Value: string(scenarios.ProcessClock())}}
	for _, run := range runs {
		s.Add(runCase(run))
	}
	return r
}

// runCase is the JUnit case of one run.
func runCase(r ran) junit.Case {
	if r.err != nil {
		var took float64
		if r.o != nil {
			took = r.o.Duration.Seconds()
		}
		return junit.Errored(r.sc.Name, r.err, took)
	}
	return junit.Checked(r.sc.Name, r.o.Verdict, r.o.Duration.Seconds(), r.o.Report)
}

// board tells of a batch's runs as each finishes, counted ("7/22 name
// PASS 3.1s"), on stderr; on a terminal a status line below says which
// are still running.
type board struct {
	status *status
	todo   []*scenarios.Scenario
	lines  bool // print a line per finished run
	// Under status's lock:
	done    int
	running map[int]time.Time
}

func startBoard(w io.Writer, todo []*scenarios.Scenario, lines bool) *board {
	b := &board{todo: todo, lines: lines, running: map[int]time.Time{}}
	b.status = startStatus(w, 0, b.describe)
	return b
}

// describe names the runs under way, oldest first, and how long each has run.
func (b *board) describe() string {
	var names []string
	for i, sc := range b.todo {
		if at, ok := b.running[i]; ok {
			names = append(names, fmt.Sprintf("%s %ds", sc.Name, int(time.Since(at).Seconds())))
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf("%d/%d done", b.done, len(b.todo))
	}
	return fmt.Sprintf("%d/%d done; running %s", b.done, len(b.todo), strings.Join(names, ", "))
}

func (b *board) started(i int) {
	b.status.do(func() { b.running[i] = time.Now() })
}

func (b *board) finished(i int, r ran) {
	var line string
	b.status.do(func() {
		delete(b.running, i)
		b.done++
		line = fmt.Sprintf("%d/%d %s", b.done, len(b.todo), outcomeLine(r))
	})
	if b.lines || r.err != nil {
		b.status.println(line)
	}
}

func (b *board) finish() { b.status.finish() }

// outcomeLine says in a line how a run ended: "name PASS 3.1s", with the
// first failure's property and sentence when there is one.
func outcomeLine(r ran) string {
	if r.err != nil {
		return fmt.Sprintf("%s ERROR could not run: %v", r.sc.Name, r.err)
	}
	line := fmt.Sprintf("%s %s %.1fs", r.sc.Name, strings.ToUpper(string(r.o.Verdict.Status)), r.o.Duration.Seconds())
	if first := r.o.Verdict.First(); first != nil {
		line += fmt.Sprintf(" %s: %s", first.Property, first.Summary)
	}
	return line
}
