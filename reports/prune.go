package reports

import (
	"cmp"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/syncsim/syncsim/model"
)

// stored is a run directory under a reports root, with its summary.
type stored struct {
	Dir     string // name in the root
	Summary Summary
}

// storedRuns lists the run directories under root that hold a readable
// summary, newest first. Others (a run being written, a stranger's
// directory, a report of a newer syncsim) are left out, and so are never
// pruned or merged.
func storedRuns(root string) ([]stored, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var runs []stored
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sum, err := readSummary(filepath.Join(root, e.Name()))
		if err != nil || sum == nil {
			continue
		}
		runs = append(runs, stored{e.Name(), *sum})
	}
	slices.SortFunc(runs, func(a, b stored) int {
		return cmp.Or(b.Summary.Finished.Compare(a.Summary.Finished), strings.Compare(b.Dir, a.Dir))
	})
	return runs, nil
}

// Prune removes the passing runs under root but the keep newest, and
// returns the directories it removed. Failing and undecided runs are never
// removed: they are what reports are kept for. The index is rebuilt, and
// the latest link moved to the newest run left if it pointed at one removed.
func Prune(root string, keep int) ([]string, error) {
	if keep < 0 {
		return nil, errors.New("keep a number of runs from 0 up")
	}
	runs, err := storedRuns(root)
	if err != nil {
		return nil, err
	}
	var removed []string
	kept := 0
	for _, r := range runs {
		if r.Summary.Status != model.Pass {
			continue
		}
		if kept < keep {
			kept++
			continue
		}
		path := filepath.Join(root, r.Dir)
		if err := os.RemoveAll(path); err != nil {
			return removed, err
		}
		removed = append(removed, path)
	}
	if _, err := Index(root); err != nil {
		return removed, err
	}
	return removed, relinkLatest(root)
}

// relinkLatest points the latest link at the newest run under root if it
// points nowhere, and removes it when no run is left.
func relinkLatest(root string) error {
	link := filepath.Join(root, LatestLink)
	if _, err := os.Lstat(link); errors.Is(err, fs.ErrNotExist) {
		return nil // nothing was ever linked: no run was written here
	}
	if _, err := os.Stat(link); err == nil {
		return nil // still points at a run
	}
	runs, err := storedRuns(root)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return os.Remove(link)
	}
	return linkLatest(root, runs[0].Dir)
}
