package reports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// doctor rewrites one field of a report's JSON file.
func doctor(t *testing.T, path string, change func(map[string]any)) {
	t.Helper()
	var raw map[string]any
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &raw)
	}
	if err != nil {
		t.Fatal(err)
	}
	change(raw)
	data, _ = json.Marshal(raw)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRecheckRejectsADoctoredReport: what a report says it was checked
// against is held to a scenario's rules, so a property that does not exist
// cannot turn a failing history into a pass.
func TestRecheckRejectsADoctoredReport(t *testing.T) {
	tests := []struct {
		name, file string
		change     func(map[string]any)
		want       string
	}{
		{"unknown property in the summary", "summary.json",
			func(m map[string]any) { m["checked"] = map[string]any{"expect": []string{"p1"}, "lease_ttl": "2s"} },
			`summary.json: "expect" names "p1"; known properties are [P1 P2 P3 P4 stable]`},
		{"lease TTL not a duration in the summary", "summary.json",
			func(m map[string]any) { m["checked"] = map[string]any{"expect": []string{"P1"}, "lease_ttl": "banana"} },
			`"lease_ttl" is "banana", not a duration`},
		{"lease TTL of no seconds in the summary", "summary.json",
			func(m map[string]any) { m["checked"] = map[string]any{"expect": []string{"P1"}, "lease_ttl": "0s"} },
			`summary.json: "lease_ttl" is 0s; etcd grants whole seconds`},
		{"fractional lease TTL in the summary", "summary.json",
			func(m map[string]any) { m["checked"] = map[string]any{"expect": []string{"P1"}, "lease_ttl": "1500ms"} },
			`"lease_ttl" is 1.5s; etcd grants whole seconds`},
		{"unknown property in an older report's scenario", "scenario.json",
			func(m map[string]any) { m["expect"] = []string{"p1"} },
			`scenario.json: "expect" names "p1"`},
		{"lease TTL not a duration in an older report's scenario", "scenario.json",
			func(m map[string]any) { m["lease_ttl"] = "banana" },
			`scenario.json: "lease_ttl" is "banana"`},
		{"no lease TTL in an older report's scenario", "scenario.json",
			func(m map[string]any) { delete(m, "lease_ttl") },
			`scenario.json: "lease_ttl" is 0s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := Write(t.TempDir(), threeOwners())
			if err != nil {
				t.Fatal(err)
			}
			if tt.file == "scenario.json" { // an older report: its summary kept nothing
				doctor(t, filepath.Join(dir, "summary.json"), func(m map[string]any) { delete(m, "checked") })
			}
			doctor(t, filepath.Join(dir, tt.file), tt.change)
			v, err := Recheck(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want an error saying %q", v, err, tt.want)
			}
		})
	}
}
