package scenarios

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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
