package scenarios

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim"
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
// builds the patched syncsim and syncagent commands, returning syncsim's
// path (syncagent's is MutantAgent). The binary
// carries the mutant's name (BuiltMutant), so every report it writes says
// which planted bug it ran, however it is started. The production agent
// package is never touched.
func (m Mutant) Build(ctx context.Context, root, dir string) (string, error) {
	bin, err := m.BuildHarness(ctx, root, dir)
	if err != nil {
		return "", err
	}
	// The reference agent as a process carries the bug too.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", MutantAgent(bin), "./cmd/syncagent")
	build.Dir, build.Env = dir, append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build mutant %s's syncagent: %v\n%s", m.Name, err, out)
	}
	return bin, nil
}

// BuildHarness is Build without syncagent: enough to run the mutant
// in-process.
func (m Mutant) BuildHarness(ctx context.Context, root, dir string) (string, error) {
	if err := m.patchCopy(ctx, root, dir); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "syncsim")
	// -trimpath: the copy's directory is new each time; without it, every
	// package of the module would compile afresh rather than come from the
	// build cache.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", linkerVars(m.Name, dir), "-o", bin, "./cmd/syncsim")
	// The copy is its own module: a go.work in the environment (make test's,
	// for the simulated clock) would not list it.
	build.Dir, build.Env = dir, append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build mutant %s: %v\n%s", m.Name, err, out)
	}
	return bin, nil
}

// patchCopy copies the module at root into dir and applies the patch.
func (m Mutant) patchCopy(ctx context.Context, root, dir string) error {
	if err := copyModule(root, dir); err != nil {
		return fmt.Errorf("copy the module: %w", err)
	}
	apply := exec.CommandContext(ctx, "git", "apply", "-")
	// In an ignored directory of another git work tree (make test's copies
	// under .bin, or a TMPDIR there), git apply silently skips every path:
	// the ceiling keeps git from finding that tree.
	apply.Dir, apply.Stdin = dir, bytes.NewReader(m.Patch)
	apply.Env = append(os.Environ(), "GIT_CEILING_DIRECTORIES="+filepath.Dir(dir))
	if out, err := apply.CombinedOutput(); err != nil {
		return fmt.Errorf("mutant %s no longer applies to agent/: %v\n%s", m.Name, err, out)
	}
	return m.changed(root, dir)
}

// changed checks that the patch changed every file it names in the copy
// at dir: a mutant built from unchanged sources would be the reference
// agent under a mutant's name, and "survived" would be a lie.
func (m Mutant) changed(root, dir string) error {
	for line := range strings.Lines(string(m.Patch)) {
		path, ok := strings.CutPrefix(strings.TrimSpace(line), "+++ b/")
		if !ok {
			continue
		}
		before, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			return err
		}
		after, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			return err
		}
		if bytes.Equal(before, after) {
			return fmt.Errorf("mutant %s: the patch applied but left %s unchanged", m.Name, path)
		}
	}
	return nil
}

// MutantAgent is where Build put the patched syncagent, beside the
// patched syncsim bin.
func MutantAgent(bin string) string { return filepath.Join(filepath.Dir(bin), "syncagent") }

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

// copyModule copies the module's source into dir: in a git checkout the
// files git would commit (tracked ones and new ones not ignored, so work
// in progress is included but built binaries and profiles are not);
// elsewhere the tree without dot-directories, reports, test binaries and
// profiles.
func copyModule(root, dir string) error {
	files, err := sourceFiles(root)
	if err != nil {
		return err
	}
	for _, rel := range files {
		from := filepath.Join(root, rel)
		st, err := os.Lstat(from)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted but not yet committed
		}
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		to := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sourceFiles lists the module's source files, relative to root.
func sourceFiles(root string) ([]string, error) {
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	if out, err := ls.Output(); err == nil {
		files := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		slices.Sort(files) // a file in a merge conflict is listed once per stage
		return slices.Compact(files), nil
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		switch {
		case path == root:
			return nil
		case d.IsDir() && (strings.HasPrefix(name, ".") || name == "syncsim-reports"):
			return filepath.SkipDir
		case d.IsDir() || strings.HasSuffix(name, ".test") || strings.HasSuffix(name, ".prof"):
			return nil
		}
		rel, err := filepath.Rel(root, path)
		files = append(files, rel)
		return err
	})
	return files, err
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
	// Replays is how many times the killing scenario was run again
	// (Hunting.Replay), and Reproduced how many of those failed again.
	Replays, Reproduced int
}

// Hunting tunes Hunt.
type Hunting struct {
	Out string // the directory for the reports of failed runs
	// Explore is how many drawn scenarios run after the catalogue;
	// Parallel how many run at once.
	Explore, Parallel int
	// StopAtKill stops at the first violation.
	StopAtKill bool
	// Progress, if set, hears the count so far after every run the child
	// reports, so that a command can show it: a hunt runs for minutes.
	Progress func(Kill)
	// Clock is the clock the runs live on. On the simulated clock the
	// binary hunted is the simulated clock's (BuildSimClock), and a phase's
	// runs are dealt out to Parallel processes.
	Clock sim.Clock

	// Agent are the flags that choose the agent under test, given to
	// every syncsim the hunt runs (--agent …); nil hunts the agent
	// the binary runs in-process.
	Agent []string

	// Replay, with StopAtKill, runs the killing scenario again this many
	// times after a kill (syncsim replay), counting how often it fails
	// again: how repeatable the kill is.
	Replay int

	lock *sync.Mutex // guards the Kill while processes of a phase run at once
}

// Hunt runs the syncsim binary bin (built with a mutant, or the reference)
// over the scripted catalogue and then h.Explore drawn scenarios, writing
// reports under h.Out. With StopAtKill it stops at the first violation;
// the reference runs everything, and any violation is an accusation. A run
// the harness could not carry out, a child that fails without saying why,
// or runs that never happened are an error: nothing may be called clean or
// surviving on their account.
func Hunt(ctx context.Context, bin, agent string, h Hunting) (Kill, error) {
	k := Kill{Agent: agent}
	began := time.Now()
	par, clock := fmt.Sprint(h.Parallel), string(cmp.Or(h.Clock, sim.RealClock))
	run := append([]string{"run", "--json", "--failures-only", "--parallel", par, "--clock", clock, "--out", h.Out}, h.Agent...)
	phases := []phase{
		{append(run, "all"), len(Catalogue())},
		{append([]string{"explore", "--json", "--keep-going", "--shrink=false", "--count", fmt.Sprint(h.Explore), "--seed", "1", "--parallel", par, "--clock", clock, "--out", h.Out}, h.Agent...), h.Explore},
	}
	for _, p := range phases {
		if p.runs == 0 {
			continue
		}
		parts := []phase{p}
		if h.Clock == sim.SimClock {
			parts = p.split(h.Parallel)
		}
		if err := k.huntAll(ctx, bin, parts, began, h); err != nil {
			return k, fmt.Errorf("syncsim %s: %w", p.args[0], err)
		}
		if k.Killed && h.StopAtKill {
			return k, k.replay(ctx, bin, h)
		}
	}
	k.Elapsed = time.Since(began)
	return k, nil
}

// reproduced is how replay says how often a failure came back.
var reproduced = regexp.MustCompile(`(?m)^reproduced (\d+) of (\d+) `)

// replay runs the killing report again h.Replay times with bin and counts
// into k how often it failed again.
func (k *Kill) replay(ctx context.Context, bin string, h Hunting) error {
	if h.Replay <= 0 || k.Report == "" {
		return nil
	}
	args := []string{"replay", "--attempts", fmt.Sprint(h.Replay), "--parallel", fmt.Sprint(h.Parallel), "--out", h.Out, k.Report}
	cmd := exec.CommandContext(ctx, bin, args...)
	if h.Clock == sim.SimClock {
		var err error
		if cmd, err = SimCommand(ctx, bin, args...); err != nil {
			return err
		}
	}
	stderr := &tail{max: stderrKept}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	m := reproduced.FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("syncsim replay %s: %v, and it did not say how often the failure came back; its stderr ends:\n%s", k.Report, err, stderr)
	}
	k.Reproduced, _ = strconv.Atoi(string(m[1]))
	k.Replays, _ = strconv.Atoi(string(m[2]))
	return nil
}

// A phase is one command Hunt runs and the run lines it must print.
type phase struct {
	args []string
	runs int
}

// split deals the phase's runs out to n processes, as simulated runs go
// one per process: the catalogue by name, the exploration by shard (shard
// i of n with the same seed runs every n-th seed from i: together, the
// seeds of the whole phase).
func (p phase) split(n int) []phase {
	n = min(n, p.runs)
	if n <= 1 {
		return []phase{p}
	}
	var parts []phase
	for i := range n {
		args := slices.Clone(p.args)
		runs := (p.runs - i + n - 1) / n
		switch args[0] {
		case "run":
			args = args[:len(args)-1] // "all"
			for j, sc := range Catalogue() {
				if j%n == i {
					args = append(args, sc.Name)
				}
			}
		case "explore":
			count := slices.Index(args, "--count")
			args[count+1] = fmt.Sprint(runs)
			args = append(args, "--shard", fmt.Sprintf("%d/%d", i+1, n))
		}
		parts = append(parts, phase{args, runs})
	}
	return parts
}

// huntAll runs the parts of a phase at once, a process each, counting
// into k; with h.StopAtKill the first kill stops them all.
func (k *Kill) huntAll(ctx context.Context, bin string, parts []phase, began time.Time, h Hunting) error {
	if len(parts) == 1 {
		return k.hunt(ctx, bin, parts[0], began, h)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h.lock = &sync.Mutex{}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			errs[i] = k.hunt(ctx, bin, p, began, h)
			h.lock.Lock()
			defer h.lock.Unlock()
			if errs[i] != nil || k.Killed && h.StopAtKill {
				cancel() // the others' runs no longer matter
			}
		})
	}
	wg.Wait()
	if k.Killed && h.StopAtKill {
		return nil // the parts stopped for the kill
	}
	return errors.Join(errs...)
}

// stderrKept bounds how much of a child's stderr Hunt keeps to explain it.
const stderrKept = 64 << 10

// hunt runs one phase and counts its runs into k.
func (k *Kill) hunt(ctx context.Context, bin string, p phase, began time.Time, h Hunting) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(runCtx, bin, p.args...)
	if h.Clock == sim.SimClock {
		var err error
		if cmd, err = SimCommand(runCtx, bin, p.args...); err != nil {
			return err
		}
	}
	stderr := &tail{max: stderrKept}
	cmd.Stderr, cmd.WaitDelay = stderr, 10*time.Second
	// Interrupted, not killed: the child then removes the scratch
	// directory its etcd framework made (sim.Close); WaitDelay kills it
	// if it does not exit in time.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	seen, err := k.read(stdout, began, h)
	killed := h.killed(k)
	if err != nil || killed {
		cancel() // what the child does next no longer matters
	}
	waited := cmd.Wait()
	switch {
	case killed:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return err
	}
	return seen.explain(waited, p.runs, stderr.String())
}

// seen counts the run lines of one phase.
type seen struct{ runs, violations, undecided int }

// read counts the run lines of r into k, telling h.Progress of each, until
// r ends, a line reports a run that could not happen or is unreadable, or
// (with h.StopAtKill) k is killed.
// Lines that are not JSON (the headers and summaries around them) are
// skipped; the count of runs catches any that went missing.
func (k *Kill) read(r io.Reader, began time.Time, h Hunting) (seen, error) {
	var s seen
	lines := bufio.NewScanner(r)
	lines.Buffer(make([]byte, 1<<20), 1<<24)
	for lines.Scan() {
		if !bytes.HasPrefix(lines.Bytes(), []byte("{")) {
			continue
		}
		l, err := ParseLine(lines.Bytes())
		if err != nil {
			return s, err
		}
		stop, err := k.count(&s, l, began, h)
		if err != nil || stop {
			return s, err
		}
	}
	return s, lines.Err()
}

// count counts one run line into s and k, and says whether the hunt is
// over (with h.StopAtKill, k is killed).
func (k *Kill) count(s *seen, l Line, began time.Time, h Hunting) (stop bool, err error) {
	if h.lock != nil {
		h.lock.Lock()
		defer h.lock.Unlock()
	}
	s.runs++
	k.Runs++
	switch l.Status {
	case Errored:
		return false, fmt.Errorf("%s could not run: %s", l.Name, l.Error)
	case model.Fail:
		s.violations++
		k.Violations++
		first := model.Verdict{Results: l.Results}.First()
		if first == nil {
			return false, fmt.Errorf("%s failed, but its line names no failed property", l.Name)
		}
		if !k.Killed {
			k.Killed, k.Property, k.Scenario, k.Report = true, first.Property, l.Name, l.Report
			k.Elapsed = time.Since(began)
		}
	case model.Undecided:
		s.undecided++
		k.Undecided++
	}
	if h.Progress != nil {
		h.Progress(*k)
	}
	return k.Killed && h.StopAtKill, nil
}

// killed reports whether the hunt is over because k is killed.
func (h Hunting) killed(k *Kill) bool {
	if h.lock != nil {
		h.lock.Lock()
		defer h.lock.Unlock()
	}
	return k.Killed && h.StopAtKill
}

// explain checks that a child's exit agrees with the runs it reported:
// every run printed, exit 1 only with a violation among them, 3 only with
// an undecided run, and nothing else.
func (s seen) explain(waited error, want int, stderr string) error {
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(waited, &exit):
		code = exit.ExitCode()
	case waited != nil:
		return waited
	}
	var why string
	switch {
	case code == 1 && s.violations == 0:
		why = "exited 1 (a violation) but reported no failed run"
	case code == 3 && s.undecided == 0:
		why = "exited 3 (undecided) but reported no undecided run"
	case code != 0 && code != 1 && code != 3:
		why = fmt.Sprintf("failed (%v)", waited)
	case s.runs != want:
		why = fmt.Sprintf("reported %d runs of %d", s.runs, want)
	default:
		return nil
	}
	if stderr = strings.TrimSpace(stderr); stderr != "" {
		why += "; its stderr ends:\n" + stderr
	}
	return errors.New(why)
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.buf) }
