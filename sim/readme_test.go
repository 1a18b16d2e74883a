package sim

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's fault table from the registry")

// readme is the repository's README, found before anything moves the
// process to another directory.
var readme = func() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "README.md")
}()

const (
	tableBegin = "<!-- fault table: generated from sim's fault registry; `go test ./sim/ -update` rewrites it -->\n"
	tableEnd   = "<!-- end of fault table -->\n"
)

// TestREADMEFaultTable: the README's fault table is the registry's.
func TestREADMEFaultTable(t *testing.T) {
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	before, rest, ok := strings.Cut(text, tableBegin)
	table, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md has no fault table between %q and %q", tableBegin, tableEnd)
	}
	want := FaultTable()
	if table == want {
		return
	}
	if !*update {
		t.Fatalf("README.md's fault table differs from the registry; run go test ./sim/ -update\nREADME:\n%s\nregistry:\n%s", table, want)
	}
	if err := os.WriteFile(readme, []byte(before+tableBegin+want+tableEnd+after), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRegistry: every fault documents itself, names a target kind and its
// heal, and takes only parameters a step has.
func TestRegistry(t *testing.T) {
	known := map[string]bool{}
	for _, p := range params {
		known[p.name] = true
	}
	for _, f := range Registry() {
		if f.Doc() == "" {
			t.Errorf("%s has no doc", f.Name())
		}
		for _, p := range f.Params() {
			if !known[p] {
				t.Errorf("%s takes %q, which no step field is", f.Name(), p)
			}
		}
		if fp, ok := Lookup(f.Name()); !ok || fp != f {
			t.Errorf("Lookup(%s) does not find it", f.Name())
		}
		if (f.MembersDown(3) > 0) != (f.Target() == MemberTarget) {
			t.Errorf("%s: takes %d of 3 members down, with a %s target", f.Name(), f.MembersDown(3), f.Target())
		}
	}
}
