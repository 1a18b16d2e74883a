package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/syncsim/syncsim/model"
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

// TestReportIsReadable: a report's directories open for whoever can read
// the index, as its files do.
func TestReportIsReadable(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	root := t.TempDir()
	dir, err := Write(root, threeOwners())
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o644)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			return nil // the latest link: a link's own mode means nothing
		case d.IsDir():
			want = 0o755
		}
		if path != root && info.Mode().Perm() != want {
			t.Errorf("%s has mode %v; want %v", path, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs")); err != nil {
		t.Fatal(err)
	}
}

// TestTimelineTruncatesByRunes: a caption cut in the middle of a
// multi-byte character would be invalid UTF-8, and so invalid SVG.
func TestTimelineTruncatesByRunes(t *testing.T) {
	for _, name := range []string{strings.Repeat("é", 200), "x" + strings.Repeat("é", 200), strings.Repeat("同", 200)} {
		run := threeOwners()
		for i := range run.History.Events {
			if run.History.Events[i].Sync != "" {
				run.History.Events[i].Sync = name
			}
		}
		v := model.Check(run.History, run.Options)
		svg := Timeline(Run{History: run.History, Verdict: v}, false, "")
		if !utf8.Valid(svg) {
			t.Fatalf("the timeline of sync %.8s… is not valid UTF-8", name)
		}
		dec := xml.NewDecoder(bytes.NewReader(svg))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("the timeline of sync %.8s… is not XML: %v", name, err)
			}
		}
	}
}

// TestCheckRoot: rebuilding the index of a directory that holds no runs
// is refused, with the reason; a reports directory is accepted.
func TestCheckRoot(t *testing.T) {
	empty := t.TempDir()
	if err := CheckRoot(empty); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("an empty directory: %v", err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "index.html"), []byte("<html>my page</html>"), 0o644)
	os.Mkdir(filepath.Join(other, "src"), 0o755)
	if err := CheckRoot(other); err == nil || !strings.Contains(err.Error(), "is not a reports directory") {
		t.Errorf("a directory with someone else's index.html: %v", err)
	}
	if err := CheckRoot(filepath.Join(other, "missing")); err == nil {
		t.Error("a missing directory was accepted")
	}
	root := t.TempDir()
	if _, err := Write(root, threeOwners()); err != nil {
		t.Fatal(err)
	}
	if err := CheckRoot(root); err != nil {
		t.Errorf("a reports directory: %v", err)
	}
	runs, _ := filepath.Glob(filepath.Join(root, "*-three-owners"))
	for _, dir := range runs {
		os.RemoveAll(dir) // every run deleted: the index syncsim wrote still marks it
	}
	if err := CheckRoot(root); err != nil {
		t.Errorf("a reports directory with its runs deleted: %v", err)
	}
}
