package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/syncsim/syncsim/scenarios"
	"github.com/syncsim/syncsim/sim"
)

const clockUsage = `the clock runs live on: "real" (the machine's; the fidelity mode, where CPU starvation and GC pauses
open windows too) or "sim" (simulated: the whole world in one testing/synctest bubble on an in-memory
network, many times faster, seeded by the scenario)`

// clockFlag adds --clock to fs, with def as its default.
func clockFlag(fs *flag.FlagSet, def sim.Clock) *string {
	return fs.String("clock", string(def), clockUsage)
}

// commandClock reads --clock for a command whose default is the simulated
// clock: an agent given as a command (--agent) runs as a process, which
// only the real clock can hold, so with one and no --clock the clock is
// real.
func commandClock(command string, fs *flag.FlagSet, value string, stderr io.Writer) (sim.Clock, bool) {
	if !flagGiven(fs, "clock") && flagGiven(fs, "agent") {
		return sim.RealClock, true
	}
	return parseClock(command, value, stderr)
}

// parseClock reads --clock's value, telling stderr what is wrong with it.
func parseClock(command, value string, stderr io.Writer) (sim.Clock, bool) {
	c, err := sim.ParseClock(value)
	if err != nil {
		fmt.Fprintf(stderr, "syncsim %s: --clock: %v\n", command, err)
		return "", false
	}
	return c, true
}

// underSimClock runs this command line again in the simulated clock's
// binary when clock is sim and this process cannot simulate: a synctest
// bubble and seeded randomness need a test binary, which it builds from
// the module's source. It returns false when this process should go on
// itself (the real clock, or already the simulated clock's binary).
func underSimClock(ctx context.Context, clock sim.Clock, args []string, stdout, stderr io.Writer) (int, bool) {
	if clock != sim.SimClock || sim.Simulating() {
		return 0, false
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(stderr, "syncsim %s: --clock sim: %v\n", args[0], err)
		return exitUsage, true
	}
	bin := filepath.Join(root, ".bin", "syncsim-simclock.test")
	began := time.Now()
	if err := scenarios.BuildSimClock(ctx, root, scenarios.BuiltMutant(), bin); err != nil {
		fmt.Fprintf(stderr, "syncsim %s: %v\n", args[0], err)
		return exitUndecided, true
	}
	fmt.Fprintf(stderr, "simulated clock: binary ready in %.1fs\n", time.Since(began).Seconds())
	cmd, err := scenarios.SimCommand(ctx, bin, args...)
	if err != nil {
		fmt.Fprintf(stderr, "syncsim %s: %v\n", args[0], err)
		return exitUndecided, true
	}
	// This process has not called sim.Init: the child starts in the user's
	// directory, where it reads the same relative paths.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return known(exit.ExitCode()), true
		}
		fmt.Fprintf(stderr, "syncsim %s: run the simulated clock's binary: %v\n", args[0], err)
		return exitUndecided, true
	}
	return exitPass, true
}
