// Package reports writes a run's report directory: the scenario to run it
// again, the history to re-check it, porcupine's visualization, a summary a
// person reads in a minute, and the agents' logs.
package reports

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/syncsim/syncsim/model"
)

// Format is the version of the report layout.
const Format = 1

// Run is everything a report holds.
type Run struct {
	Name     string
	Scenario []byte // the scenario file, to run it again
	History  model.History
	Verdict  model.Verdict
	Logs     map[string][]byte // by agent, plus "etcd"
	Duration time.Duration
	// Mutant names the planted bug the agent under test carried; "" for
	// the reference agent.
	Mutant string
	// Agent is the agent that ran; its Name "" means the reference, or
	// the mutant.
	Agent Agent
	Seed  int64
	// Options are what the verdict was checked against, for re-checking.
	Options model.Options
}

// Summary is summary.json.
type Summary struct {
	Format int    `json:"format"`
	Name   string `json:"name"`
	Mutant string `json:"mutant,omitempty"`
	// Agent is the agent that ran; nil in reports written before they
	// named it.
	Agent *Agent `json:"agent,omitempty"`
	Seed  int64  `json:"seed"`
	// Clock is the clock the run ran on: "real" or "sim".
	Clock   string         `json:"clock,omitempty"`
	Status  model.Status   `json:"status"`
	Seconds float64        `json:"seconds"`
	Results []model.Result `json:"results"`
	Events  int            `json:"events"`
	Workers int            `json:"workers"`
	Faults  int            `json:"faults"`
	// Handover covers ownership changes whose old owner confirmed its
	// release; Failover those where it never did (it crashed or fenced
	// itself): how long each sync went unworked across the change.
	Handover Latency   `json:"handover"`
	Failover Latency   `json:"failover"`
	Finished time.Time `json:"finished"`
	// Checked is what re-checking the history offline needs; nil in
	// reports written before it was kept here.
	Checked *Checked `json:"checked,omitempty"`
	// Files are the files the report holds, besides the logs.
	Files []string `json:"files,omitempty"`
}

// Checked is what a run's verdict was checked against.
type Checked struct {
	Expect   []model.Property `json:"expect"`
	LeaseTTL Duration         `json:"lease_ttl"`
	// StopWithin, OwnLayout and Unbalanced are model.Options' (what the
	// agent declared); absent for the reference agent.
	StopWithin Duration `json:"stop_within,omitempty"`
	OwnLayout  bool     `json:"own_layout,omitempty"`
	Unbalanced bool     `json:"unbalanced,omitempty"`
}

// checkedOf is what checking with opts needs kept.
func checkedOf(opts model.Options) *Checked {
	return &Checked{Expect: opts.Expect, LeaseTTL: Duration(opts.LeaseTTL), StopWithin: Duration(opts.StopWithin), OwnLayout: opts.OwnLayout, Unbalanced: opts.Unbalanced}
}

// Options are the checker's options for the same check.
func (c Checked) Options() model.Options {
	return model.Options{Expect: c.Expect, LeaseTTL: time.Duration(c.LeaseTTL), StopWithin: time.Duration(c.StopWithin), OwnLayout: c.OwnLayout, Unbalanced: c.Unbalanced}
}

// UnmarshalJSON reads what a run was checked against, from a summary or
// a scenario file; a lease TTL that is not a duration is an error naming it.
func (c *Checked) UnmarshalJSON(data []byte) error {
	var raw struct {
		Expect     []model.Property `json:"expect"`
		LeaseTTL   string           `json:"lease_ttl"`
		StopWithin string           `json:"stop_within"`
		OwnLayout  bool             `json:"own_layout"`
		Unbalanced bool             `json:"unbalanced"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	ttl, err := time.ParseDuration(cmp.Or(raw.LeaseTTL, "0s"))
	if err != nil {
		return fmt.Errorf(`"lease_ttl" is %q, not a duration such as "2s"`, raw.LeaseTTL)
	}
	within, err := time.ParseDuration(cmp.Or(raw.StopWithin, "0s"))
	if err != nil {
		return fmt.Errorf(`"stop_within" is %q, not a duration such as "2s"`, raw.StopWithin)
	}
	*c = Checked{Expect: raw.Expect, LeaseTTL: Duration(ttl), StopWithin: Duration(within), OwnLayout: raw.OwnLayout, Unbalanced: raw.Unbalanced}
	return nil
}

// Duration is a time.Duration written as a Go duration string ("2s").
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Latency summarises gaps in ownership.
type Latency struct {
	Count    int     `json:"count"`
	MedianMS float64 `json:"median_ms"`
	MaxMS    float64 `json:"max_ms"`
}

func (l Latency) String() string {
	if l.Count == 0 {
		return "none"
	}
	return fmt.Sprintf("%d, median %.0f ms, worst %.0f ms", l.Count, l.MedianMS, l.MaxMS)
}

// ownershipGaps measures, for every change of a sync's owner, how long the
// sync went without a worker: from the old worker's return to the new one's
// start (0 where they overlapped).
func ownershipGaps(intervals []model.Interval) (handover, failover Latency) {
	bySync := map[string][]model.Interval{}
	for _, t := range intervals {
		bySync[t.Sync] = append(bySync[t.Sync], t)
	}
	var planned, failed []float64
	for _, ts := range bySync {
		slices.SortFunc(ts, func(a, b model.Interval) int { return cmp.Compare(a.Start, b.Start) })
		for i := 1; i < len(ts); i++ {
			prev, next := ts[i-1], ts[i]
			if prev.Stop == model.Never {
				continue
			}
			gap := float64(max(next.Start-prev.Stop, 0)) / 1e6
			if prev.Released == model.Never {
				failed = append(failed, gap)
			} else {
				planned = append(planned, gap)
			}
		}
	}
	return latency(planned), latency(failed)
}

func latency(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	slices.Sort(ms)
	return Latency{Count: len(ms), MedianMS: ms[len(ms)/2], MaxMS: ms[len(ms)-1]}
}

// Write writes the report under root and returns its directory. The
// directory appears whole or not at all: it is built under a temporary name
// and renamed into place.
func Write(root string, r Run) (string, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("create the reports directory: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".partial-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	// MkdirTemp makes it 0700: the index's links must open for whoever
	// can read the index (another user, a web server).
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}

	files, err := render(r)
	if err != nil {
		return "", err
	}
	for name, data := range files {
		path := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return "", err
		}
	}
	final, err := moveIntoPlace(tmp, filepath.Join(root, fmt.Sprintf("%s-%s", time.Now().UTC().Format("20060102-150405.000"), r.Name)))
	if err != nil {
		return "", err
	}
	if _, err := Index(root); err != nil {
		return final, fmt.Errorf("the report is written, but the index is not: %w", err)
	}
	if err := linkLatest(root, final); err != nil {
		return final, fmt.Errorf("the report is written, but %s is not: %w", LatestLink, err)
	}
	return final, nil
}

// moveIntoPlace renames the finished directory tmp to name, or name-2,
// name-3 ... if a report of the same name finished in the same
// millisecond: a rename onto a non-empty directory fails, so two writers
// never take the same name.
func moveIntoPlace(tmp, name string) (string, error) {
	for n := 1; ; n++ {
		final := name
		if n > 1 {
			final = fmt.Sprintf("%s-%d", name, n)
		}
		err := os.Rename(tmp, final)
		if err == nil {
			return final, nil
		}
		if !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) || n == 100 {
			return "", err
		}
	}
}

// render makes every file of the report, by its path in the directory.
func render(r Run) (map[string][]byte, error) {
	history, err := json.Marshal(r.History)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{"scenario.json": r.Scenario, "history.json": history}
	pages, err := porcupinePages(r)
	if err != nil {
		return nil, err
	}
	maps.Copy(files, pages)
	intervals := model.Intervals(r.History)
	if len(rowsOf(append(intervals, model.LeaderIntervals(r.History)...), 0)) > maxRows {
		files["timeline.svg"] = Timeline(r, true, "cut to the violation's neighbourhood; the whole run is in timeline-full.svg")
		files["timeline-full.svg"] = Timeline(r, false, "")
	} else {
		files["timeline.svg"] = Timeline(r, false, "")
	}
	sum := summarize(r, intervals)
	sum.Files = slices.Sorted(maps.Keys(files))
	sum.Files = append(sum.Files, Page+".html", "summary.json", "summary.md")
	slices.Sort(sum.Files)
	summary, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return nil, err
	}
	files["summary.json"] = append(summary, '\n')
	files["summary.md"] = []byte(markdown(r, sum))
	if files[Page+".html"], err = runPage(r, sum, files["timeline.svg"]); err != nil {
		return nil, fmt.Errorf("render %s.html: %w", Page, err)
	}
	for name, log := range r.Logs {
		files[filepath.Join("logs", name+".log")] = log
	}
	return files, nil
}

// summarize makes summary.json's content, but for its file list.
func summarize(r Run, intervals []model.Interval) Summary {
	opts := r.Options
	if opts.Expect == nil {
		opts.Expect = model.Properties
	}
	sum := Summary{
		Format: Format, Name: r.Name, Mutant: r.Mutant, Seed: r.Seed, Clock: r.History.ClockName(), Status: r.Verdict.Status, Seconds: r.Duration.Seconds(),
		Results: r.Verdict.Results, Events: len(r.History.Events), Workers: len(intervals), Faults: len(model.Faults(r.History)),
		Finished: time.Now().UTC().Truncate(time.Second),
		Checked:  checkedOf(opts),
	}
	sum.Handover, sum.Failover = ownershipGaps(intervals)
	sum.Agent = &r.Agent
	if r.Agent.Name == "" {
		sum.Agent = &Agent{Name: agentOf(sum)}
	}
	return sum
}

func markdown(r Run, s Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n\n", r.Name, strings.ToUpper(string(s.Status)))
	if r.Mutant != "" {
		fmt.Fprintf(&b, "The agent under test carried the planted bug **%s**; replay with `syncsim replay --mutant %s <this directory>`.\n\n", r.Mutant, r.Mutant)
	}
	if c := r.Agent.Command; c != nil {
		fmt.Fprintf(&b, "The agent under test ran as a process: `%s` (%s, sha256 %s); `syncsim replay <this directory>` runs it again.\n\n", c.Line, c.Binary, c.SHA256)
	}
	if first := r.Verdict.First(); first != nil {
		fmt.Fprintf(&b, "**%s %s.** %s\n\n", first.Property, first.Status, first.Summary)
	}
	b.WriteString("| property | status | counted | what was seen | checks that applied |\n|---|---|---|---|---|\n")
	for _, res := range r.Verdict.Results {
		counted := "yes"
		if !res.Expected {
			counted = "no (the scenario does not expect it to hold)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", res.Property.Describe(), res.Status, counted,
			strings.ReplaceAll(res.Summary, "|", "/"), strings.ReplaceAll(strings.Join(res.Checks, "; "), "|", "/"))
	}
	writeViolations(&b, r.Verdict)
	fmt.Fprintf(&b, "\nRan %.1f s (seed %d); %d events; %d work intervals; %d faults.\n", s.Seconds, s.Seed, s.Events, s.Workers, s.Faults)
	fmt.Fprintf(&b, "Handovers (old owner released): %s. Failovers (old owner crashed or fenced itself): %s.\n", s.Handover, s.Failover)
	var faults []string
	for _, e := range r.History.Events {
		if e.Kind == model.FaultStart || e.Kind == model.Skipped || e.Kind == model.NotApplied {
			faults = append(faults, fmt.Sprintf("- %.3f s: %s %s %s", float64(e.Time)/1e9, e.Kind, e.Target, e.Detail))
		}
	}
	if len(faults) > 0 {
		fmt.Fprintf(&b, "\n## Timeline\n%s\n", strings.Join(faults, "\n"))
	}
	b.WriteString("\n## Files\n")
	for _, name := range s.Files {
		fmt.Fprintf(&b, "- `%s`: %s\n", name, aboutFile(name, r.Verdict))
	}
	if len(r.Logs) > 0 {
		logs := make([]string, 0, len(r.Logs))
		for name := range r.Logs {
			logs = append(logs, "`logs/"+name+".log`")
		}
		slices.Sort(logs)
		fmt.Fprintf(&b, "- %s\n", strings.Join(logs, ", "))
	}
	return b.String()
}

// writeViolations lists every violation of every property, numbered as
// the timeline marks them.
func writeViolations(b *strings.Builder, v model.Verdict) {
	marks := numbered(v)
	if len(marks) == 0 {
		return
	}
	b.WriteString("\n## Violations\n")
	for _, m := range marks {
		fmt.Fprintf(b, "%d. **%s** %s\n", m.N, m.Property, m.Text)
	}
	for _, res := range v.Results {
		if res.More > 0 {
			fmt.Fprintf(b, "\n%s: %d more violations were found and not listed.\n", res.Property, res.More)
		}
	}
}

// mark is a violation with its number in the report.
type mark struct {
	N        int
	Property model.Property
	model.Violation
}

// numbered numbers every listed violation of every result, in order.
func numbered(v model.Verdict) []mark {
	var marks []mark
	for _, res := range v.Results {
		for _, viol := range res.Violations {
			marks = append(marks, mark{len(marks) + 1, res.Property, viol})
		}
	}
	return marks
}

// fileAbout says what each fixed file of a report is for.
var fileAbout = map[string]string{
	"scenario.json":     "run it again with `syncsim run scenario.json`",
	"history.json":      "re-check it offline with `syncsim check <this directory>`",
	"summary.json":      "this summary, for programs: every result and violation, and what the run was checked against",
	"summary.md":        "the summary in Markdown",
	"index.html":        "this run's page: the verdict, every violation, the timeline, the faults and the files",
	"timeline.svg":      "a row per sync and agent, tenures as bars, faults shaded, every violation in red, numbered as above",
	"timeline-full.svg": "the whole run's timeline, uncut",
}

func aboutFile(name string, v model.Verdict) string {
	if about, ok := fileAbout[name]; ok {
		return about
	}
	if p, ok := v.Pictures[strings.TrimSuffix(name, ".html")]; ok {
		return p.About
	}
	if strings.HasPrefix(name, pageDir+"/") {
		return "porcupine's account of one sync, a row per agent incarnation"
	}
	return "part of the report"
}

// KeepEvery reports whether $SYNCSIM_KEEP_REPORTS asks tests to keep a
// report of every run; by default they keep the reports of failures only.
func KeepEvery() bool { return os.Getenv("SYNCSIM_KEEP_REPORTS") != "" }

// Dir is where reports go unless a flag says otherwise: $SYNCSIM_REPORTS, or
// syncsim-reports in the working directory (ignored by git).
func Dir() string {
	if d := os.Getenv("SYNCSIM_REPORTS"); d != "" {
		return d
	}
	return "syncsim-reports"
}
