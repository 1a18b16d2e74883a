package reports

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports/junit"
)

// passing is threeOwners renamed and judged a pass: what its pages draw
// does not matter here, only the status its summary records.
func passing(name string) Run {
	r := threeOwners()
	r.Name = name
	r.Verdict = model.Verdict{Status: model.Pass, Results: []model.Result{{Property: model.ExclusiveWork, Status: model.Pass, Expected: true}}}
	return r
}

func write(t *testing.T, root string, r Run) string {
	t.Helper()
	dir, err := Write(root, r)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func latest(t *testing.T, root string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(root, LatestLink))
	if err != nil {
		t.Fatal(err)
	}
	return target
}

// TestLatestLink: root/latest points, relatively, at the run written last.
func TestLatestLink(t *testing.T) {
	root := t.TempDir()
	write(t, root, passing("first"))
	second := write(t, root, threeOwners())
	if got := latest(t, root); got != filepath.Base(second) {
		t.Fatalf("latest -> %q; want %q, the run written last", got, filepath.Base(second))
	}
	if _, err := os.Stat(filepath.Join(root, LatestLink, "summary.json")); err != nil {
		t.Errorf("latest does not open the run: %v", err)
	}
	if err := CheckRoot(root); err != nil {
		t.Errorf("the link confuses CheckRoot: %v", err)
	}
}

// TestPrune: --keep N keeps the N newest passing runs and every failing
// one, rebuilds the index without the others, and moves latest off a run
// it removed.
func TestPrune(t *testing.T) {
	root := t.TempDir()
	old := write(t, root, passing("old-pass"))
	failed := write(t, root, threeOwners())
	mid := write(t, root, passing("mid-pass"))
	newest := write(t, root, passing("new-pass"))

	removed, err := Prune(root, 1)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if want := []string{old, mid}; !slices.Equal(removed, want) {
		t.Fatalf("removed %v; want the two older passing runs %v", removed, want)
	}
	for _, dir := range []string{failed, newest} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s was removed: %v", dir, err)
		}
	}
	index, _ := os.ReadFile(filepath.Join(root, "index.html"))
	if strings.Contains(string(index), filepath.Base(old)) || !strings.Contains(string(index), filepath.Base(failed)) {
		t.Errorf("the index still lists a pruned run, or lost the failing one")
	}

	if _, err := Prune(root, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(failed); err != nil {
		t.Fatalf("keep 0 removed the failing run: %v", err)
	}
	if got := latest(t, root); got != filepath.Base(failed) {
		t.Errorf("latest -> %q after its run was pruned; want the run left, %q", got, filepath.Base(failed))
	}
}

// TestMerge: shards' runs land in one index, their JUnit files combine
// with report paths pointing at the copies, and a shard without a JUnit
// file gets a case per report it holds.
func TestMerge(t *testing.T) {
	shard1, shard2, into := t.TempDir(), t.TempDir(), t.TempDir()
	failed := write(t, shard1, threeOwners())
	j := &junit.Report{}
	s := j.Suite("syncsim explore shard 1/2")
	s.Add(junit.Checked("three-owners", threeOwners().Verdict, 5, failed))
	s.Add(junit.Checked("explore-3", model.Verdict{Status: model.Pass}, 4, ""))
	if err := junit.Write(filepath.Join(shard1, JUnitFile), j); err != nil {
		t.Fatal(err)
	}
	write(t, shard2, passing("explore-2"))

	m, err := Merge(into, []string{shard1, shard2})
	if err != nil {
		t.Fatal(err)
	}
	if m.JUnit.Tests != 3 || m.JUnit.Failures != 1 || m.Reports[model.Fail] != 1 || m.Reports[model.Pass] != 1 {
		t.Fatalf("merged %d tests, %d failures, reports %v; want 3 tests, 1 failure, one failing and one passing report", m.JUnit.Tests, m.JUnit.Failures, m.Reports)
	}
	back, err := junit.Read(filepath.Join(into, JUnitFile))
	if err != nil || back.Tests != 3 {
		t.Fatalf("junit.xml read back: %v, %+v", err, back)
	}
	msg := back.Suites[0].Cases[0].Failure.Message
	if !strings.HasSuffix(msg, "report: "+filepath.Base(failed)) || strings.Contains(msg, shard1) {
		t.Errorf("the failure's report path %q does not name the copy in the merged directory", msg)
	}
	if _, err := os.Stat(filepath.Join(into, filepath.Base(failed), "summary.json")); err != nil {
		t.Errorf("the failing run was not copied: %v", err)
	}
	index, _ := os.ReadFile(m.Index)
	if n := strings.Count(string(index), `<tr class="run`); n != 2 {
		t.Errorf("the merged index lists %d runs; want 2", n)
	}
	if _, err := Merge(into, []string{into}); err == nil {
		t.Error("merging a directory into itself was accepted")
	}
	if _, err := Merge(into, []string{t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no run report") {
		t.Errorf("merging an empty directory: %v; want it refused", err)
	}
}
