package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"

	"github.com/syncsim/syncsim/internal/etcdpatch"
)

// builtSource is the module source this binary was built from, when that
// is not where it runs: a mutant's scratch copy. Set through the linker
// (-X) by Mutant.Build.
var builtSource string

// BuiltSource is the source this binary was built from, if it knows: a
// binary that builds another (the simulated clock's) must build it from the
// same source, planted bug included.
func BuiltSource() string { return builtSource }

// linkerVars are the -X settings that carry what this binary is into a
// binary it builds from root.
func linkerVars(mutant, root string) string {
	pkg := reflect.TypeFor[Mutant]().PkgPath()
	return fmt.Sprintf("-X %s.builtMutant=%s -X %s.builtSource=%s", pkg, mutant, pkg, root)
}

// SimArgsEnv carries a syncsim command line into the simulated clock's
// binary, which runs it as syncsim would.
const SimArgsEnv = "SYNCSIM_SIMCLOCK_ARGS"

// SimCommand is the command that runs the syncsim command line args in the
// simulated clock's binary bin (see BuildSimClock).
func SimCommand(ctx context.Context, bin string, args ...string) (*exec.Cmd, error) {
	encoded, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestSimClockCommand$")
	cmd.Env = append(os.Environ(), SimArgsEnv+"="+string(encoded))
	return cmd, nil
}

// BuildSimClock builds the simulated clock's binary from the module at
// root: cmd/syncsim's test binary (synctest and cryptotest need a
// *testing.T), with the simclock tag, against etcd with its peer dial hook
// (internal/etcdpatch). It carries the planted bug mutant ("" for none);
// root must hold that bug's source (Mutant.Build's directory).
func BuildSimClock(ctx context.Context, root, mutant, bin string) error {
	work, err := etcdpatch.Prepare(root, filepath.Join(root, ".bin", "simclock"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	// Built beside its destination and renamed: two syncsims at once must
	// not run a half-written binary.
	tmp := fmt.Sprintf("%s.%d", bin, os.Getpid())
	// -trimpath: a mutant's copy, and the etcd it patches, are in a new
	// directory each time; without it every package of both would compile
	// afresh rather than come from the build cache.
	build := exec.CommandContext(ctx, "go", "test", "-c", "-trimpath", "-tags", "simclock",
		"-ldflags", linkerVars(mutant, root), "-o", tmp, "./cmd/syncsim")
	build.Dir = root
	build.Env = append(os.Environ(), "GOWORK="+work)
	if out, err := build.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("build the simulated clock's binary: %v\n%s", err, out)
	}
	return os.Rename(tmp, bin)
}
