// Package junit writes and reads JUnit XML, the test report format CI
// systems (GitHub Actions, GitLab, Jenkins, Buildkite) show and count: one
// suite per syncsim command, one test case per scenario run or mutant.
package junit

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/syncsim/syncsim/model"
)

// Report is a JUnit file: <testsuites>.
type Report struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr,omitempty"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Time     float64  `xml:"time,attr"`
	Suites   []*Suite `xml:"testsuite"`
}

// Suite is one command's runs: <testsuite>.
type Suite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Errors     int        `xml:"errors,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       float64    `xml:"time,attr"`
	Timestamp  string     `xml:"timestamp,attr,omitempty"`
	Properties []Property `xml:"properties>property,omitempty"`
	Cases      []Case     `xml:"testcase"`
}

// Property is a name and value a suite records, such as its seed.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Case is one scenario run, or one mutant: <testcase>. A passing case has
// neither Failure nor Error.
type Case struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      float64  `xml:"time,attr"`
	Failure   *Problem `xml:"failure,omitempty"`
	Error     *Problem `xml:"error,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

// Problem is a <failure> or an <error>: a one-line message, and the detail.
type Problem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// Seconds rounds a duration in seconds to milliseconds, as CI shows it.
func Seconds(s float64) float64 { return math.Round(s*1000) / 1000 }

// Suite returns the report's suite of that name, adding it if missing.
func (r *Report) Suite(name string) *Suite {
	for _, s := range r.Suites {
		if s.Name == name {
			return s
		}
	}
	s := &Suite{Name: name}
	r.Suites = append(r.Suites, s)
	return s
}

// Add appends a case to the suite and counts it; a case without a class
// takes the suite's name.
func (s *Suite) Add(c Case) {
	if c.Classname == "" {
		c.Classname = s.Name
	}
	s.Cases = append(s.Cases, c)
	s.Tests++
	s.Time = Seconds(s.Time + c.Time)
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Error != nil:
		s.Errors++
	}
}

// Checked is the case of a run the harness carried out: a counted failure
// is a <failure> and an undecided run an <error>, each with the first
// such property's sentence and the report's path in the message, and
// every violation listed in the text.
func Checked(name string, v model.Verdict, seconds float64, report string) Case {
	c := Case{Name: name, Time: Seconds(seconds)}
	first := v.First()
	if first == nil {
		if report != "" {
			c.SystemOut = "report: " + report
		}
		return c
	}
	p := &Problem{Message: fmt.Sprintf("%s %s: %s", first.Property, first.Status, first.Summary), Type: string(first.Property)}
	if report != "" {
		p.Message += "; report: " + report
	}
	p.Text = details(v, report)
	if v.Status == model.Fail {
		c.Failure = p
	} else {
		c.Error = p
	}
	return c
}

// details lists every counted result that did not pass, with its
// violations, then the report.
func details(v model.Verdict, report string) string {
	var b strings.Builder
	for _, r := range v.Results {
		if !r.Expected || r.Status == model.Pass {
			continue
		}
		fmt.Fprintf(&b, "%s %s: %s\n", r.Property, r.Status, r.Summary)
		for i, viol := range r.Violations {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, viol.Text)
		}
		if r.More > 0 {
			fmt.Fprintf(&b, "  and %d more\n", r.More)
		}
	}
	if report != "" {
		fmt.Fprintf(&b, "report: %s\n", report)
	}
	return b.String()
}

// Errored is the case of a run the harness could not carry out.
func Errored(name string, err error, seconds float64) Case {
	first, _, _ := strings.Cut(err.Error(), "\n")
	return Case{Name: name, Time: Seconds(seconds), Error: &Problem{Message: "could not run: " + first, Type: "error", Text: err.Error()}}
}

// Merge adds other's suites to r: a suite of the same name is extended.
func (r *Report) Merge(other *Report) {
	for _, from := range other.Suites {
		into := r.Suite(from.Name)
		if into.Timestamp == "" {
			into.Timestamp = from.Timestamp
		}
		into.Properties = append(into.Properties, from.Properties...)
		for _, c := range from.Cases {
			into.Add(c)
		}
	}
}

// Count sets the report's totals from its suites.
func (r *Report) Count() {
	r.Tests, r.Failures, r.Errors, r.Time = 0, 0, 0, 0
	for _, s := range r.Suites {
		r.Tests += s.Tests
		r.Failures += s.Failures
		r.Errors += s.Errors
		r.Time = Seconds(r.Time + s.Time)
	}
}

// Encode returns the report as an XML document, totals counted.
func (r *Report) Encode() ([]byte, error) {
	r.Count()
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// Write writes the report to path, whole or not at all, readable by all.
func Write(path string, r *Report) error {
	data, err := r.Encode()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".junit-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Read reads a JUnit file Write wrote, counts included; the counts are
// recomputed from its cases, so a report edited by hand cannot claim
// totals its cases do not add up to.
func Read(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := xml.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s is not JUnit XML: %w", path, err)
	}
	counted := &Report{Name: r.Name}
	counted.Merge(&r)
	counted.Count()
	return counted, nil
}

// Ready checks, before anything runs, that a JUnit file can be written at
// path: its directory exists and takes new files.
func Ready(path string) error {
	dir := filepath.Dir(path)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory; give a file name such as %s", path, filepath.Join(path, "junit.xml"))
	}
	probe, err := os.CreateTemp(dir, ".junit-")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}
