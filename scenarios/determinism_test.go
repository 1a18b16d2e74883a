//go:build simclock

//go:debug randseednop=0

package scenarios

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim"
)

// TestDeterminism measures how far one seed, run twice on the simulated
// clock, stays the same run: it compares the two runs' etcd logs (every
// revision: its key, value and kind) and logs where they first differ.
// It runs when $SYNCSIM_DETERMINISM gives a number of seeds (make
// determinism: 20); with $SYNCSIM_DETERMINISM_DEBUG set it also prints
// the revisions around each parting, with when the harness saw them, and
// with $SYNCSIM_DETERMINISM_DUMP naming a directory it writes each run's
// whole history there, an event a line, for a diff.
func TestDeterminism(t *testing.T) {
	seeds, _ := strconv.Atoi(os.Getenv("SYNCSIM_DETERMINISM"))
	if seeds < 1 {
		t.Skip("measures determinism when SYNCSIM_DETERMINISM gives a number of seeds")
	}
	if err := sim.SimulateIn(t); err != nil {
		t.Fatal(err)
	}
	identical := 0
	for seed := int64(1); seed <= int64(seeds); seed++ {
		sc := Space{}.Drawn(seed)
		var logs [2][]etcdEntry
		var length time.Duration
		for i := range logs {
			res, err := sim.Run(context.Background(), sc.Setup, sc.Steps, sim.Options{Clock: sim.SimClock})
			if err != nil {
				t.Fatal(err)
			}
			logs[i] = etcdLogOf(res.History)
			if dir := os.Getenv("SYNCSIM_DETERMINISM_DUMP"); dir != "" {
				dumpHistory(t, filepath.Join(dir, fmt.Sprintf("seed%02d-run%d.txt", seed, i+1)), res.History)
			}
			length = time.Duration(res.History.Events[len(res.History.Events)-1].Time)
		}
		n, at, same := divergence(logs[0], logs[1])
		if same {
			identical++
			t.Logf("seed %2d: identical, %d revisions over %.1fs", seed, n, length.Seconds())
			continue
		}
		if os.Getenv("SYNCSIM_DETERMINISM_DEBUG") != "" {
			for i := max(0, n-6); i < min(n+4, len(logs[0]), len(logs[1])); i++ {
				t.Logf("   %v %s | %v %s", logs[0][i].at, logs[0][i].what, logs[1][i].at, logs[1][i].what)
			}
		}
		t.Logf("seed %2d: same for %d of %d revisions, until %.2fs of %.1fs; then %s / %s", seed, n, max(len(logs[0]), len(logs[1])), at.Seconds(), length.Seconds(), describe(logs[0], n), describe(logs[1], n))
	}
	t.Logf("%d of %d seeds ran identically", identical, seeds)
}

// dumpHistory writes h one event a line, with times to the nanosecond,
// for a diff of two runs to find the first event that differs (which
// often comes before the first revision that does).
func dumpHistory(t *testing.T, path string, h model.History) {
	var b strings.Builder
	for _, e := range h.Events {
		fmt.Fprintf(&b, "%d %s agent=%s sync=%s worker=%d token=%d key=%s rev=%d value=%q outcome=%s detail=%q\n", e.Time, e.Kind, e.Agent, e.Sync, e.Worker, e.Token, e.Key, e.Rev, e.Value, e.Outcome, e.Detail)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// etcdEntry is one revision of etcd's log, and when the harness saw it.
type etcdEntry struct {
	what string
	at   time.Duration
}

// etcdLogOf is h's etcd log with lease ids renamed in the order they
// appear: an id embeds the member that granted it, which the client's
// balancer picks, so two runs that differ only there name leases alike.
func etcdLogOf(h model.History) []etcdEntry {
	var changes []model.Event
	for _, e := range h.Events {
		if e.Kind == model.EtcdPut || e.Kind == model.EtcdDelete {
			changes = append(changes, e)
		}
	}
	// A revision is one transaction: the order of its changes, one per
	// key, is not part of the sequence.
	slices.SortStableFunc(changes, func(a, b model.Event) int {
		return cmp.Or(cmp.Compare(a.Rev, b.Rev), strings.Compare(a.Key, b.Key))
	})
	var log []etcdEntry
	leases := map[string]string{}
	for _, e := range changes {
		what := fmt.Sprintf("%d %s %s %q", e.Rev, e.Kind, e.Key, e.Value)
		if e.Lease != 0 {
			id := fmt.Sprintf("%x", e.Lease)
			if leases[id] == "" {
				leases[id] = fmt.Sprintf("lease#%d", len(leases)+1)
			}
			what = strings.ReplaceAll(what, id, leases[id]) + " " + leases[id]
		}
		log = append(log, etcdEntry{what, time.Duration(e.Time)})
	}
	return log
}

// divergence is how many entries a and b share from the start, when the
// first that differs was seen, and whether they are the same throughout.
func divergence(a, b []etcdEntry) (int, time.Duration, bool) {
	for i := range min(len(a), len(b)) {
		if a[i].what != b[i].what {
			return i, min(a[i].at, b[i].at), false
		}
	}
	if len(a) == len(b) {
		return len(a), 0, true
	}
	short := min(len(a), len(b))
	at := time.Duration(0)
	if short < len(a) {
		at = a[short].at
	} else {
		at = b[short].at
	}
	return short, at, false
}

func describe(log []etcdEntry, i int) string {
	if i >= len(log) {
		return "(ended)"
	}
	return log[i].what
}
