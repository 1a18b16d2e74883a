//go:build simclock

//go:debug randseednop=0

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/syncsim/syncsim/scenarios"
	"github.com/syncsim/syncsim/sim"
)

// This file makes cmd/syncsim's test binary, built with the simclock tag
// (scenarios.BuildSimClock), the simulated clock's binary: given a command
// line in scenarios.SimArgsEnv, TestSimClockCommand runs it as syncsim would, with
// sim.SimulateIn, and the binary exits with the command's code.

// commandStdout is the real standard output: the testing package's own
// PASS and FAIL lines would mix with the command's output, so they go to
// the null device.
var (
	commandStdout = os.Stdout
	commandCode   = exitUndecided
)

func TestMain(m *testing.M) {
	if os.Getenv(scenarios.SimArgsEnv) == "" {
		os.Exit(m.Run())
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exitUndecided)
	}
	os.Stdout = null
	if os.Getenv("GOGC") == "" {
		// A simulated run is all CPU and its heap is small: collecting
		// less often is the cheapest speed-up there is.
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// A bubble finds little to run in parallel: one process ran as many
		// scenarios a minute on one P as on two, and two processes, one P
		// each, ran 5% more than on two Ps each. Parallelism comes from
		// processes (make soak's JOBS, mutants --parallel).
		runtime.GOMAXPROCS(1)
	}
	m.Run()
	sim.Close()
	os.Exit(commandCode)
}

func TestSimClockCommand(t *testing.T) {
	encoded := os.Getenv(scenarios.SimArgsEnv)
	if encoded == "" {
		t.Skip("runs a command line given in " + scenarios.SimArgsEnv)
	}
	var args []string
	if err := json.Unmarshal([]byte(encoded), &args); err != nil || len(args) == 0 {
		fmt.Fprintf(os.Stderr, "syncsim: %s is not a JSON list of arguments: %q\n", scenarios.SimArgsEnv, encoded)
		commandCode = exitUsage
		return
	}
	if err := sim.SimulateIn(t); err != nil {
		fmt.Fprintf(os.Stderr, "syncsim %s: --clock sim: %v\n", args[0], err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	commandCode = run(ctx, args, commandStdout, os.Stderr)
}

// TestRunOnTheSimulatedClock runs a catalogue scenario on the simulated
// clock as the command would in its binary: the run line and the report
// name the clock, and a replay of the report runs on it again.
func TestRunOnTheSimulatedClock(t *testing.T) {
	if os.Getenv(scenarios.SimArgsEnv) != "" {
		t.Skip("the binary is running a command")
	}
	if err := sim.SimulateIn(t); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, stdout, stderr := syncsim("run", "--clock", "sim", "--json", "--out", out, "owner-crash")
	if code != exitPass {
		t.Fatalf("run exited %d\n%s\n%s", code, stdout, stderr)
	}
	var line scenarios.Line
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &line); err != nil {
		t.Fatalf("run --json printed %q: %v", stdout, err)
	}
	if line.Clock != "sim" {
		t.Errorf("the run line says clock %q, want sim", line.Clock)
	}
	sum, err := os.ReadFile(filepath.Join(line.Report, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sum), `"clock": "sim"`) {
		t.Errorf("summary.json does not name the simulated clock:\n%s", sum)
	}
	code, stdout, stderr = syncsim("replay", "--attempts", "1", "--out", out, line.Report)
	if code != exitPass || !strings.Contains(stdout, "on the sim clock") {
		t.Errorf("replay exited %d, want a pass on the simulated clock\n%s\n%s", code, stdout, stderr)
	}
}
