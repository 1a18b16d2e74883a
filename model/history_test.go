package model_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
)

// TestReadHistoryRejectsCorrupt: a history the recorder could not have
// written is an error naming the event and what is wrong, never a verdict.
func TestReadHistoryRejectsCorrupt(t *testing.T) {
	tests := []struct{ name, history, want string }{
		{"version -1", `{"version":-1,"events":[]}`, "has history format version -1; this syncsim reads versions 1 to 1"},
		{"version 0", `{"events":[]}`, "has history format version 0"},
		{"newer version", `{"version":2,"events":[]}`, "has history format version 2"},
		{"negative time", `{"version":1,"events":[{"t":-5,"kind":"ready"}]}`, `event 0 ("ready" at t=-5): its time is negative`},
		{"backwards", `{"version":1,"events":[{"t":10,"kind":"ready"},{"t":20,"kind":"quiet-end"},{"t":15,"kind":"quiet-end"}]}`,
			`event 2 ("quiet-end" at t=15): its time is before the previous event's, t=20`},
		{"unknown kind", `{"version":1,"events":[{"t":1,"kind":"teleport"}]}`, `event 0 ("teleport" at t=1): unknown kind "teleport"`},
		{"called after it returned", `{"version":1,"events":[{"t":5,"call":9,"kind":"commit"}]}`, `event 0 ("commit" at t=5): it was called at t=9, after it returned`},
		{"negative call", `{"version":1,"events":[{"t":5,"call":-1,"kind":"commit"}]}`, `its call time -1 is negative`},
		{"not JSON", `{"version":1,"events":[`, "is not a history file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "history.json")
			if err := os.WriteFile(path, []byte(tt.history), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := model.ReadHistory(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v does not name %s and say %q", err, path, tt.want)
			}
		})
	}
}

// TestReadHistoryAcceptsRecorded: the recorded corpus histories are valid.
func TestReadHistoryAcceptsRecorded(t *testing.T) {
	for _, name := range []string{"owner-crash-pass", "synthetic-clean"} {
		if _, err := model.DecodeHistory(gunzip(t, filepath.Join("testdata/corpus", name, "history.json.gz"))); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func gunzip(tb testing.TB, path string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return data
}

// FuzzReadHistory decodes arbitrary bytes as a history: it never panics,
// what it accepts (DecodeHistory validates it) survives a round trip, and
// the checkers never panic on a small one.
func FuzzReadHistory(f *testing.F) {
	// The corpus's first events: whole histories of thousands of events
	// stall the fuzzer, which minimises every new input it finds.
	corpus, _ := filepath.Glob("testdata/corpus/*/history.json.gz")
	for _, path := range corpus {
		var h model.History
		if err := json.Unmarshal(gunzip(f, path), &h); err != nil {
			f.Fatalf("%s: %v", path, err)
		}
		h.Events = h.Events[:min(len(h.Events), 40)]
		seed, _ := json.Marshal(h)
		f.Add(seed)
	}
	for _, seed := range []string{
		`{"version":1,"events":[]}`,
		`{"version":1,"events":[{"t":1,"kind":"ready"},{"t":2,"call":1,"kind":"commit","agent":"a","sync":"s","value":"1@1","outcome":"ok"}]}`,
		`{"version":1,"events":[{"t":1,"kind":"work-start","agent":"a","sync":"s","worker":1,"token":3},{"t":2,"kind":"work-exit","agent":"a","sync":"s","worker":1}]}`,
		`{"version":-1,"events":[{"t":-1,"kind":"x"}]}`,
		`{"version":1,"events":[{"t":9223372036854775807,"kind":"quiet-end"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := model.DecodeHistory(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		h2, err := model.DecodeHistory(again)
		if err != nil || !reflect.DeepEqual(h, h2) {
			t.Fatalf("round trip: %v", err)
		}
		if len(h.Events) <= 64 { // the corpus's thousands of events take the checkers a second
			model.Check(h, model.Options{Expect: model.Expectable, LeaseTTL: 2 * time.Second})
		}
	})
}
