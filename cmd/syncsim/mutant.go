package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/syncsim/syncsim/scenarios"
)

const mutantUsage = "run a planted bug: syncsim built with the named patch to agent/ (scenarios/mutants)"

// underMutant runs this command line again with a syncsim built from a
// scratch copy of the module with the planted bug applied to agent/.
func underMutant(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	chosen, err := chooseMutants([]string{name})
	if err != nil {
		fmt.Fprintf(stderr, "syncsim: %v\n", err)
		return exitUsage
	}
	mutant := chosen[0]
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(stderr, "syncsim: --mutant %s: %v\n", name, err)
		return exitUsage
	}
	began := time.Now()
	bin, cleanup, err := mutant.BuildScratch(ctx, root)
	if err != nil {
		fmt.Fprintf(stderr, "syncsim: %v\n", err)
		return exitUndecided
	}
	defer cleanup()
	fmt.Fprintf(stdout, "mutant %s (%s), built in %.1fs: %s\n", mutant.Name, mutant.Class, time.Since(began).Seconds(), mutant.Description)
	cmd := exec.CommandContext(ctx, bin, args...)
	// No command calls underMutant after sim.Init, so this process is still
	// in the user's directory, where the child starts and reads its paths.
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return known(exit.ExitCode()) // one that died is undecided
		}
		fmt.Fprintf(stderr, "syncsim: run the mutant: %v\n", err)
		return exitUndecided
	}
	return exitPass
}

// moduleRoot finds the syncsim module's source, which a mutant or the
// simulated clock's binary is built from: the source this binary was built
// from if it knows it (a mutant's), else the module the user is in.
func moduleRoot() (string, error) {
	if src := scenarios.BuiltSource(); src != "" {
		return src, nil
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", errors.New("this builds from the syncsim source (a mutant, or the simulated clock's binary), with the go command: run syncsim from inside its module")
	}
	data, err := os.ReadFile(gomod)
	if err != nil || !strings.Contains(string(data), "module github.com/syncsim/syncsim\n") {
		return "", fmt.Errorf("%s is not the syncsim module: run syncsim from inside its source", gomod)
	}
	return filepath.Dir(gomod), nil
}

// withoutFlag returns args without the named flag and its value.
func withoutFlag(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		switch {
		case a == name && args[i] != a:
			i++ // its value
		case strings.HasPrefix(a, name+"=") && args[i] != a:
		default:
			out = append(out, args[i])
		}
	}
	return out
}
