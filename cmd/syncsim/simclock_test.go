//go:build simclock

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
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
