package reports

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports/junit"
)

// JUnitFile is the JUnit file a shard's reports directory holds when the
// shard was run with --junit DIR/junit.xml, and the combined one Merge
// writes.
const JUnitFile = "junit.xml"

// Merged is what Merge folded together.
type Merged struct {
	Shards int
	// Reports counts the run reports copied, by status.
	Reports map[model.Status]int
	// JUnit is the combined JUnit report: every shard's junit.xml, and for
	// a shard without one a case per report it holds.
	JUnit *junit.Report
	Index string // the index page
}

// Merge folds the reports directories of shards (each a campaign shard's
// --out) into root: it copies every run report, combines their JUnit
// files into root/junit.xml with the report paths pointing at the copies,
// rebuilds root's index and points root/latest at the newest run.
func Merge(root string, shards []string) (*Merged, error) {
	m := &Merged{Shards: len(shards), Reports: map[model.Status]int{}, JUnit: &junit.Report{Name: "syncsim"}}
	if err := Prepare(root); err != nil {
		return nil, err
	}
	var newest stored
	for _, shard := range shards {
		same, err := sameDir(shard, root)
		if err != nil {
			return nil, err
		}
		if same {
			return nil, fmt.Errorf("%s is the directory merged into; merge shards into another one", shard)
		}
		copied, err := m.fold(root, shard)
		if err != nil {
			return nil, fmt.Errorf("merge %s: %w", shard, err)
		}
		for _, r := range copied {
			if r.Summary.Finished.After(newest.Summary.Finished) {
				newest = r
			}
		}
	}
	if err := junit.Write(filepath.Join(root, JUnitFile), m.JUnit); err != nil {
		return nil, err
	}
	var err error
	if m.Index, err = Index(root); err != nil {
		return nil, err
	}
	if newest.Dir != "" {
		err = linkLatest(root, newest.Dir)
	}
	return m, err
}

// sameDir reports whether a and b name the same directory.
func sameDir(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, fmt.Errorf("shard %w", err)
	}
	if !sa.IsDir() {
		return false, fmt.Errorf("shard %s is not a directory", a)
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

// fold copies one shard's runs into root and adds its JUnit cases, and
// returns the runs copied, under their names in root.
func (m *Merged) fold(root, shard string) ([]stored, error) {
	runs, err := storedRuns(shard)
	if err != nil {
		return nil, err
	}
	cases, err := junit.Read(filepath.Join(shard, JUnitFile))
	if errors.Is(err, fs.ErrNotExist) {
		if len(runs) == 0 {
			return nil, fmt.Errorf("it holds no run report and no %s: is it a shard's --out?", JUnitFile)
		}
		cases = nil
	} else if err != nil {
		return nil, err
	}
	renamed := map[string]string{} // a run's directory name in the shard: its name in root
	var copied []stored
	for _, r := range runs {
		final, err := copyRun(filepath.Join(shard, r.Dir), filepath.Join(root, r.Dir))
		if err != nil {
			return copied, err
		}
		renamed[r.Dir] = filepath.Base(final)
		copied = append(copied, stored{filepath.Base(final), r.Summary})
		m.Reports[r.Summary.Status]++
	}
	if cases == nil {
		s := m.JUnit.Suite("syncsim reports " + filepath.Base(shard))
		for _, r := range copied {
			v := model.Verdict{Status: r.Summary.Status, Results: r.Summary.Results}
			s.Add(junit.Checked(r.Summary.Name, v, r.Summary.Seconds, r.Dir))
		}
		return copied, nil
	}
	for _, s := range cases.Suites {
		for i := range s.Cases {
			repoint(&s.Cases[i], renamed)
		}
	}
	m.JUnit.Merge(cases)
	return copied, nil
}

// reportPath finds the report paths junit.Checked writes into a case.
var reportPath = regexp.MustCompile(`report: (\S+)`)

// repoint makes the report paths in a case name the copies in the merged
// root, relative to it (where junit.xml is), when the shard's run was
// copied: the shard's own paths are of the machine that ran it.
func repoint(c *junit.Case, renamed map[string]string) {
	fix := func(s string) string {
		return reportPath.ReplaceAllStringFunc(s, func(match string) string {
			path := reportPath.FindStringSubmatch(match)[1]
			if name, ok := renamed[filepath.Base(path)]; ok {
				return "report: " + name
			}
			return match
		})
	}
	for _, p := range []*junit.Problem{c.Failure, c.Error} {
		if p != nil {
			p.Message, p.Text = fix(p.Message), fix(p.Text)
		}
	}
	c.SystemOut = fix(c.SystemOut)
}

// copyRun copies the run directory from to to, or to-2, to-3 ... if that
// is taken, and returns where it went. Directories are made 0755 and
// files 0644 (readable by whoever reads the index); links are skipped.
func copyRun(from, to string) (string, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(to), ".partial-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	err = filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(tmp, rel)
		switch {
		case d.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			return os.Chmod(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, target)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return moveIntoPlace(tmp, to)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
