package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
)

// The real-clock tests run built binaries: syncsim with a planted bug, and
// agents as processes. Each is built once per run, into buildDir, which
// stays between runs: with the same sources at the same paths, the go
// command finds each binary up to date and does not even link it again.
// On a run of the whole package TestMain starts every build at once, two
// at a time, so that they build while the simulated runs go on; otherwise
// a test builds what it needs when it needs it.
var (
	buildDir   string
	buildSlots = make(chan struct{}, 2)
	buildsMu   sync.Mutex
	mutantBins = map[string]func() (string, error){}
)

// startBuilds sets buildDir and, when eager, starts every build.
func startBuilds(eager bool) {
	buildDir = filepath.Join(repoRoot, ".bin", "test-builds")
	if eager {
		go commandAgents()
		go mutantBinary("session-done")
		for _, k := range quickKills {
			go mutantBinary(k.mutant)
		}
	}
}

// freshCopy empties dir but for the binary bin, so that a copy of the
// module made there has no file the module has since lost.
func freshCopy(dir, bin string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	}
	for _, e := range entries {
		if e.Name() != bin {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// mutantBinary is the path of syncsim built with the named mutant.
func mutantBinary(name string) (string, error) {
	buildsMu.Lock()
	build, ok := mutantBins[name]
	if !ok {
		build = sync.OnceValues(func() (string, error) {
			i := slices.IndexFunc(Mutants(), func(m Mutant) bool { return m.Name == name })
			if i < 0 {
				return "", fmt.Errorf("no mutant %q", name)
			}
			buildSlots <- struct{}{}
			defer func() { <-buildSlots }()
			dir := filepath.Join(buildDir, "mutant-"+name)
			if err := freshCopy(dir, "syncsim"); err != nil {
				return "", err
			}
			return Mutants()[i].BuildHarness(context.Background(), repoRoot, dir)
		})
		mutantBins[name] = build
	}
	buildsMu.Unlock()
	return build()
}

// commandAgents builds the agents the tests run as processes: the
// reference (cmd/syncagent) and the two examples, each in its own module;
// it returns their paths by name.
var commandAgents = sync.OnceValues(func() (map[string]string, error) {
	bins := map[string]string{}
	for name, pkg := range map[string]string{
		"syncagent":          "cmd/syncagent",
		"lockagent-good":     "examples/lockagent-good",
		"lockagent-unfenced": "examples/lockagent-unfenced",
	} {
		bins[name] = filepath.Join(buildDir, "agents", name)
		build := exec.Command("go", "build", "-o", bins[name], ".")
		// make test's GOWORK (the simulated clock's etcd) covers this
		// module only; each example is a module of its own.
		build.Dir, build.Env = filepath.Join(repoRoot, pkg), append(os.Environ(), "GOWORK=off")
		buildSlots <- struct{}{}
		out, err := build.CombinedOutput()
		<-buildSlots
		if err != nil {
			return nil, fmt.Errorf("build %s: %v\n%s", pkg, err, out)
		}
	}
	return bins, nil
})
