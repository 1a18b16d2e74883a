package junit

import (
	"encoding/xml"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/syncsim/syncsim/model"
)

var (
	passed = model.Verdict{Status: model.Pass, Results: []model.Result{{Property: model.ExclusiveWork, Status: model.Pass, Expected: true}}}
	failed = model.Verdict{Status: model.Fail, Results: []model.Result{
		{Property: model.ExclusiveWork, Status: model.Fail, Expected: true, Summary: "two workers held sync-1 at once",
			Violations: []model.Violation{{Text: "agent-1 and agent-2 both worked sync-1 from 1.2s to 1.4s"}}, More: 2},
	}}
	undecided = model.Verdict{Status: model.Undecided, Results: []model.Result{{Property: model.Complete, Status: model.Undecided, Expected: true, Summary: "step 1 did not run"}}}
)

// TestWriteRead: what Write writes is JUnit a CI system reads (testsuites,
// testsuite, testcase, failure, error), counted, and Read gives it back.
func TestWriteRead(t *testing.T) {
	r := &Report{Name: "syncsim"}
	s := r.Suite("syncsim run")
	s.Add(Checked("owner-crash", passed, 3.14159, ""))
	s.Add(Checked("leader-flap", failed, 5, "/r/leader-flap"))
	s.Add(Checked("stall", undecided, 2, "/r/stall"))
	s.Add(Errored("drop", errors.New("start the cluster: no ports left\nmore"), 0.5))
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := Write(path, r); err != nil {
		t.Fatal(err)
	}

	back, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Tests != 4 || back.Failures != 1 || back.Errors != 2 || len(back.Suites) != 1 {
		t.Fatalf("read back %d tests, %d failures, %d errors in %d suites; want 4, 1, 2 in 1", back.Tests, back.Failures, back.Errors, len(back.Suites))
	}
	cases := back.Suites[0].Cases
	if cases[0].Time != 3.142 || cases[0].Classname != "syncsim run" || cases[0].Failure != nil || cases[0].Error != nil {
		t.Errorf("passing case read back as %+v", cases[0])
	}
	f := cases[1].Failure
	if f == nil || f.Message != "P1 fail: two workers held sync-1 at once; report: /r/leader-flap" || f.Type != "P1" ||
		!strings.Contains(f.Text, "1. agent-1 and agent-2 both worked") || !strings.Contains(f.Text, "and 2 more") {
		t.Errorf("failing case read back as %+v", f)
	}
	if e := cases[2].Error; e == nil || !strings.Contains(e.Message, "complete undecided: step 1 did not run; report: /r/stall") {
		t.Errorf("undecided case read back as %+v", e)
	}
	if e := cases[3].Error; e == nil || e.Message != "could not run: start the cluster: no ports left" {
		t.Errorf("errored case read back as %+v", e)
	}

	// The same document, read with no knowledge of this package's types.
	var generic struct {
		Tests  int `xml:"tests,attr"`
		Suites []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure []struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	data, _ := r.Encode()
	if err := xml.Unmarshal(data, &generic); err != nil || generic.Tests != 4 || len(generic.Suites[0].Cases) != 4 || len(generic.Suites[0].Cases[1].Failure) != 1 {
		t.Errorf("the document is not the JUnit shape: %v %+v\n%s", err, generic, data)
	}
}

// TestMergeCounts: merging reports adds their cases up, suite by suite.
func TestMergeCounts(t *testing.T) {
	a, b := &Report{}, &Report{}
	a.Suite("shard 1/2").Add(Checked("explore-1", failed, 1, "/a/explore-1"))
	b.Suite("shard 2/2").Add(Checked("explore-2", passed, 1, ""))
	b.Suite("shard 2/2").Add(Checked("explore-4", passed, 1, ""))
	merged := &Report{}
	merged.Merge(a)
	merged.Merge(b)
	merged.Count()
	if merged.Tests != 3 || merged.Failures != 1 || len(merged.Suites) != 2 || merged.Time != 3 {
		t.Fatalf("merged: %d tests, %d failures, %d suites, %vs; want 3, 1, 2, 3s", merged.Tests, merged.Failures, len(merged.Suites), merged.Time)
	}
	if !reflect.DeepEqual(merged.Suites[1].Cases, b.Suites[0].Cases) {
		t.Errorf("shard 2's cases changed in the merge: %+v", merged.Suites[1].Cases)
	}
}

// TestReady: a JUnit path in a missing directory, or a directory, is
// refused before anything runs.
func TestReady(t *testing.T) {
	dir := t.TempDir()
	if err := Ready(filepath.Join(dir, "junit.xml")); err != nil {
		t.Errorf("a writable path was refused: %v", err)
	}
	if err := Ready(filepath.Join(dir, "missing", "junit.xml")); err == nil {
		t.Error("a path in a missing directory was accepted")
	}
	if err := Ready(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory was accepted: %v", err)
	}
}
