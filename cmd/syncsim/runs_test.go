package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/scenarios"
)

// fakeRuns stands in for scenarios.Run: each scenario's outcome by name,
// finishing after the delay given, so that runs end out of order.
type fakeRuns map[string]struct {
	after time.Duration
	v     model.Verdict
	err   error
}

func (f fakeRuns) run(_ context.Context, sc *scenarios.Scenario, opts scenarios.Options) (*scenarios.Outcome, error) {
	r := f[sc.Name]
	time.Sleep(r.after)
	if r.err != nil {
		return nil, r.err
	}
	o := &scenarios.Outcome{Scenario: sc, Verdict: r.v, Duration: r.after}
	if r.v.Status != model.Pass {
		o.Report = filepath.Join(opts.Reports, "20260101-000000.000-"+sc.Name)
	}
	return o, nil
}

var violated = model.Verdict{Status: model.Fail, Results: []model.Result{
	{Property: model.ExclusiveWork, Status: model.Fail, Expected: true, Summary: "two workers held sync-1 at once"},
}}

func named(names ...string) []*scenarios.Scenario {
	var scs []*scenarios.Scenario
	for _, n := range names {
		scs = append(scs, &scenarios.Scenario{Name: n})
	}
	return scs
}

// TestRunJUnit: run writes one JUnit test case per scenario, in the order
// given; the failing one's <failure message> carries the sentence and the
// report's path; one the harness could not run is an <error>.
func TestRunJUnit(t *testing.T) {
	dir := t.TempDir()
	runs := fakeRuns{
		"slow-pass": {after: 60 * time.Millisecond, v: model.Verdict{Status: model.Pass}},
		"fails":     {after: 10 * time.Millisecond, v: violated},
		"broken":    {err: errors.New("start the cluster: no ports left")},
	}
	b := batch{opts: scenarios.Options{Reports: dir}, parallel: 3, junit: filepath.Join(dir, "junit.xml")}
	var stdout, stderr bytes.Buffer
	code := b.execute(context.Background(), named("slow-pass", "fails", "broken"), runs.run, &stdout, &stderr)
	if code != exitViolation {
		t.Errorf("exit %d; want %d (a violation outranks a run that could not happen)", code, exitViolation)
	}

	data, err := os.ReadFile(b.junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Tests   int      `xml:"tests,attr"`
		Suites  []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, data)
	}
	if doc.Tests != 3 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 3 {
		t.Fatalf("want 3 test cases in one suite, got %d in %d:\n%s", doc.Tests, len(doc.Suites), data)
	}
	cases := doc.Suites[0].Cases
	for i, want := range []string{"slow-pass", "fails", "broken"} {
		if cases[i].Name != want {
			t.Errorf("case %d is %q; want %q (the order given)", i, cases[i].Name, want)
		}
	}
	if cases[0].Failure != nil || cases[0].Error != nil {
		t.Errorf("the passing run has a failure or error:\n%s", data)
	}
	report := filepath.Join(dir, "20260101-000000.000-fails")
	if f := cases[1].Failure; f == nil || !strings.Contains(f.Message, "two workers held sync-1 at once") || !strings.Contains(f.Message, report) {
		t.Errorf("the failing run's <failure message> lacks the sentence or %s:\n%s", report, data)
	}
	if e := cases[2].Error; e == nil || !strings.Contains(e.Message, "no ports left") {
		t.Errorf("the run that could not happen is no <error>:\n%s", data)
	}
}

// TestRunTellsEachAsItFinishes: each run is told on stderr, counted, the
// moment it ends, whatever the order given; the table on stdout stays in
// the order given.
func TestRunTellsEachAsItFinishes(t *testing.T) {
	runs := fakeRuns{
		"first-given":  {after: 300 * time.Millisecond, v: model.Verdict{Status: model.Pass}},
		"second-given": {after: 10 * time.Millisecond, v: violated},
	}
	b := batch{opts: scenarios.Options{Reports: t.TempDir()}, parallel: 2}
	var stdout, stderr bytes.Buffer
	b.execute(context.Background(), named("first-given", "second-given"), runs.run, &stdout, &stderr)

	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "1/2 second-given FAIL 0.0s P1: two workers held sync-1 at once") || !strings.HasPrefix(lines[1], "2/2 first-given PASS 0.3s") {
		t.Errorf("stderr %q; want 1/2 second-given then 2/2 first-given", stderr.String())
	}
	table := stdout.String()
	if i, j := strings.Index(table, "first-given"), strings.Index(table, "second-given"); i < 0 || j < i {
		t.Errorf("the table is not in the order given:\n%s", table)
	}
}
