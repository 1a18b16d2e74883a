package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/syncsim/syncsim/model"
)

// A Mutant is a planted bug: a small patch to agent/ that makes a realistic
// mistake. The harness is worth what it catches, so every mutant must fail
// some scenario while the unpatched agent passes them all.
type Mutant struct {
	Name        string
	Description string // first line of the patch file
	Class       string // the "class:" line
	Patch       []byte
}

//go:embed mutants/*.patch
var mutantFS embed.FS

// Mutants returns the catalogue of planted bugs, sorted by name.
func Mutants() []Mutant {
	files, err := fs.Glob(mutantFS, "mutants/*.patch")
	if err != nil {
		panic(err)
	}
	var out []Mutant
	for _, f := range files {
		data, _ := mutantFS.ReadFile(f)
		m := Mutant{Name: strings.TrimSuffix(filepath.Base(f), ".patch"), Patch: data}
		lines := strings.SplitN(string(data), "\n", 3)
		m.Description = lines[0]
		if len(lines) > 1 {
			m.Class = strings.TrimPrefix(lines[1], "class: ")
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Mutant) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Build copies the module at root into dir, applies the patch there, and
// builds the patched syncsim command, returning its path. The production
// agent package is never touched.
func (m Mutant) Build(ctx context.Context, root, dir string) (string, error) {
	if err := copyModule(root, dir); err != nil {
		return "", fmt.Errorf("copy the module: %w", err)
	}
	apply := exec.CommandContext(ctx, "git", "apply", "-")
	apply.Dir, apply.Stdin = dir, bytes.NewReader(m.Patch)
	if out, err := apply.CombinedOutput(); err != nil {
		return "", fmt.Errorf("mutant %s no longer applies to agent/: %v\n%s", m.Name, err, out)
	}
	bin := filepath.Join(dir, "syncsim")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/syncsim")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build mutant %s: %v\n%s", m.Name, err, out)
	}
	return bin, nil
}

// BuildScratch builds the mutant in a new scratch directory (see Build);
// cleanup removes the directory.
func (m Mutant) BuildScratch(ctx context.Context, root string) (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "syncsim-mutant-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	if bin, err = m.Build(ctx, root, dir); err != nil {
		cleanup()
		return "", nil, err
	}
	return bin, cleanup, nil
}

// copyModule copies the module's source tree, without version control or reports.
func copyModule(root, dir string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "syncsim-reports") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
}

// Kill is how one agent fared against the catalogue and then exploration:
// the first run that failed, if any.
type Kill struct {
	Agent      string // the mutant's name, or "reference"
	Killed     bool
	Property   model.Property
	Scenario   string
	Report     string
	Elapsed    time.Duration // from the first run to the kill, or of all the runs
	Runs       int
	Violations int
	Undecided  int
}

// Hunt runs the syncsim binary bin (built with a mutant, or the reference)
// over the scripted catalogue and then exploreCount drawn scenarios,
// parallel at a time, writing reports under out. With stopAtKill it stops
// at the first violation; the reference runs everything, and any violation
// is an accusation.
func Hunt(ctx context.Context, bin, agent, out string, exploreCount, parallel int, stopAtKill bool) (Kill, error) {
	k := Kill{Agent: agent}
	began := time.Now()
	par := fmt.Sprint(parallel)
	phases := [][]string{
		{"run", "--json", "--failures-only", "--parallel", par, "--out", out, "all"},
		{"explore", "--json", "--keep-going", "--shrink=false", "--count", fmt.Sprint(exploreCount), "--seed", "1", "--parallel", par, "--out", out},
	}
	for _, args := range phases {
		if exploreCount == 0 && args[0] == "explore" {
			continue
		}
		runCtx, cancel := context.WithCancel(ctx)
		cmd := exec.CommandContext(runCtx, bin, args...)
		cmd.Stderr = io.Discard
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			cancel()
			return k, err
		}
		if err := cmd.Start(); err != nil {
			cancel()
			return k, err
		}
		lines := bufio.NewScanner(stdout)
		lines.Buffer(make([]byte, 1<<20), 1<<24)
		for lines.Scan() {
			var run struct {
				Name    string
				Status  model.Status
				Results []model.Result
				Report  string
			}
			if json.Unmarshal(lines.Bytes(), &run) != nil || run.Name == "" {
				continue
			}
			k.Runs++
			v := model.Verdict{Status: run.Status, Results: run.Results}
			switch run.Status {
			case model.Fail:
				k.Violations++
				if !k.Killed {
					k.Killed, k.Property, k.Scenario, k.Report = true, v.First().Property, run.Name, run.Report
					k.Elapsed = time.Since(began)
				}
			case model.Undecided:
				k.Undecided++
			}
			if k.Killed && stopAtKill {
				cancel()
				break
			}
		}
		cmd.Wait()
		cancel()
		if ctx.Err() != nil {
			return k, ctx.Err()
		}
		if k.Killed && stopAtKill {
			return k, nil
		}
	}
	k.Elapsed = time.Since(began)
	return k, nil
}
