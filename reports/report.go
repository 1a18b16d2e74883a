// Package reports writes a run's report directory: the scenario to run it
// again, the history to re-check it, porcupine's visualization, a summary a
// person reads in a minute, and the agents' logs.
package reports

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

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
	Seed   int64
}

// Summary is summary.json.
type Summary struct {
	Format  int            `json:"format"`
	Name    string         `json:"name"`
	Mutant  string         `json:"mutant,omitempty"`
	Seed    int64          `json:"seed"`
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
}

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

	history, err := json.Marshal(r.History)
	if err != nil {
		return "", err
	}
	intervals := model.Intervals(r.History)
	sum := Summary{
		Format: Format, Name: r.Name, Mutant: r.Mutant, Seed: r.Seed, Status: r.Verdict.Status, Seconds: r.Duration.Seconds(),
		Results: r.Verdict.Results, Events: len(r.History.Events), Workers: len(intervals), Faults: len(model.Faults(r.History)),
		Finished: time.Now().UTC().Truncate(time.Second),
	}
	sum.Handover, sum.Failover = ownershipGaps(intervals)
	summary, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return "", err
	}
	var html, effects bytes.Buffer
	info := r.Verdict.Ownership
	info.AddAnnotations(annotations(r.History))
	if err := porcupine.Visualize(model.Ownership, info, &html); err != nil {
		return "", fmt.Errorf("render the linearizability page: %w", err)
	}
	info = r.Verdict.Effects
	info.AddAnnotations(annotations(r.History))
	if err := porcupine.Visualize(model.Effects.ToModel(), info, &effects); err != nil {
		return "", fmt.Errorf("render the effects page: %w", err)
	}
	files := map[string][]byte{}
	if len(rowsOf(append(intervals, model.LeaderIntervals(r.History)...), 0)) > maxRows {
		files["timeline.svg"] = Timeline(r.History, r.Verdict, true, "cut to the violation's neighbourhood; the whole run is in timeline-full.svg")
		files["timeline-full.svg"] = Timeline(r.History, r.Verdict, false, "")
	} else {
		files["timeline.svg"] = Timeline(r.History, r.Verdict, false, "")
	}
	for name, data := range map[string][]byte{
		"scenario.json":        r.Scenario,
		"history.json":         history,
		"summary.json":         append(summary, '\n'),
		"summary.md":           []byte(markdown(r, sum)),
		"linearizability.html": html.Bytes(),
		"effects.html":         effects.Bytes(),
	} {
		files[name] = data
	}
	for name, log := range r.Logs {
		files[filepath.Join("logs", name+".log")] = log
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
	final := filepath.Join(root, fmt.Sprintf("%s-%s", time.Now().UTC().Format("20060102-150405.000"), r.Name))
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	if _, err := Index(root); err != nil {
		return final, fmt.Errorf("the report is written, but the index is not: %w", err)
	}
	return final, nil
}

// annotations draws fault windows and leadership changes on the visualization.
func annotations(h model.History) []porcupine.Annotation {
	var out []porcupine.Annotation
	for _, f := range model.Faults(h) {
		end := f.End
		if end == model.Never {
			end = f.Start
		}
		out = append(out, porcupine.Annotation{Tag: "faults", Start: f.Start, End: end, Description: f.What, Details: f.Detail, BackgroundColor: "#fde2a7"})
	}
	for _, e := range h.Events {
		if e.Kind == model.LeaderWon {
			out = append(out, porcupine.Annotation{Tag: "leader", Start: e.Time, End: e.Time, Description: e.Agent + " leads", Details: fmt.Sprintf("term %d", e.Token)})
		}
	}
	return out
}

func markdown(r Run, s Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n\n", r.Name, strings.ToUpper(string(s.Status)))
	if r.Mutant != "" {
		fmt.Fprintf(&b, "The agent under test carried the planted bug **%s**; replay with `syncsim replay --mutant %s <this directory>`.\n\n", r.Mutant, r.Mutant)
	}
	if first := r.Verdict.First(); first != nil {
		fmt.Fprintf(&b, "**%s %s.** %s\n\n", first.Property, first.Status, first.Summary)
	}
	b.WriteString("| property | status | counted | what was seen |\n|---|---|---|---|\n")
	for _, res := range r.Verdict.Results {
		counted := "yes"
		if !res.Expected {
			counted = "no (the scenario does not expect it to hold)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", res.Property.Describe(), res.Status, counted, strings.ReplaceAll(res.Summary, "|", "/"))
	}
	fmt.Fprintf(&b, "\nRan %.1f s (seed %d); %d events; %d work intervals; %d faults.\n", s.Seconds, s.Seed, s.Events, s.Workers, s.Faults)
	fmt.Fprintf(&b, "Handovers (old owner released): %s. Failovers (old owner crashed or fenced itself): %s.\n", s.Handover, s.Failover)
	var faults []string
	for _, e := range r.History.Events {
		if e.Kind == model.FaultStart || e.Kind == model.Skipped {
			faults = append(faults, fmt.Sprintf("- %.3f s: %s %s %s", float64(e.Time)/1e9, e.Kind, e.Target, e.Detail))
		}
	}
	if len(faults) > 0 {
		fmt.Fprintf(&b, "\n## Timeline\n%s\n", strings.Join(faults, "\n"))
	}
	logs := make([]string, 0, len(r.Logs))
	for name := range r.Logs {
		logs = append(logs, "logs/"+name+".log")
	}
	slices.Sort(logs)
	fmt.Fprintf(&b, "\n## Files\n- `scenario.json`: run it again with `syncsim run scenario.json`\n"+
		"- `history.json`: re-check it offline with `syncsim check <this directory>`\n"+
		"- `linearizability.html`: porcupine's view of the ownership check (P1), faults annotated\n"+
		"- `effects.html`: porcupine's view of the fenced-effects check (P2)\n"+
		"- `timeline.svg`: a row per sync and agent, tenures as bars, faults shaded, the violation in red\n"+
		"- %s\n", strings.Join(logs, ", "))
	return b.String()
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
