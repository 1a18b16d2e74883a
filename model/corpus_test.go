package model_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
)

// expected is a corpus entry's expected.json: what it was checked against
// and the verdict it must keep getting.
type expected struct {
	Expect   []model.Property `json:"expect"`
	LeaseTTL string           `json:"lease_ttl"`
	Status   model.Status     `json:"status"`
	Failing  []model.Property `json:"failing"` // the counted properties that fail, in order
	Source   string           `json:"source"`  // how the history was recorded
}

// TestCorpus re-checks recorded histories (testdata/corpus/<name>/
// history.json.gz) and compares the verdict with the one expected.json
// pins, as etcd's robustness tests re-validate stored reports.
func TestCorpus(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/corpus/*")
	if len(dirs) == 0 {
		t.Fatal("no corpus under testdata/corpus")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			h, want := readCorpusEntry(t, dir)
			ttl, err := time.ParseDuration(want.LeaseTTL)
			if err != nil {
				t.Fatalf("expected.json: lease_ttl: %v", err)
			}
			v := model.Check(h, model.Options{Expect: want.Expect, LeaseTTL: ttl})
			var failing []model.Property
			for _, r := range v.Results {
				if r.Expected && r.Status == model.Fail {
					failing = append(failing, r.Property)
				}
			}
			if v.Status != want.Status || !slices.Equal(failing, want.Failing) {
				t.Errorf("%s (%s): got %s, failing %v; want %s, failing %v", dir, want.Source, v, failing, want.Status, want.Failing)
			}
		})
	}
}

func readCorpusEntry(t *testing.T, dir string) (model.History, expected) {
	t.Helper()
	var want expected
	data, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err == nil {
		err = json.Unmarshal(data, &want)
	}
	if err != nil {
		t.Fatalf("%s/expected.json: %v", dir, err)
	}
	// Decoded as syncsim check decodes a history: a corpus entry that
	// check would refuse as corrupt proves nothing.
	h, err := model.DecodeHistory(gunzip(t, filepath.Join(dir, "history.json.gz")))
	if err != nil {
		t.Fatalf("%s/history.json.gz %v", dir, err)
	}
	return h, want
}
