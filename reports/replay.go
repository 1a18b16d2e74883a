package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/syncsim/syncsim/internal/readfile"
	"github.com/syncsim/syncsim/model"
)

// Replay is what running a report again needs.
type Replay struct {
	Scenario []byte // the scenario file
	// Property is the one that failed first in the reported run, the one a
	// replay watches; "" for a scenario file or a run that passed.
	Property model.Property
	// Mutant is the planted bug the reported agent carried; "" for the
	// reference agent or a scenario file.
	Mutant string
	// Clock is the clock the reported run ran on; "" for a scenario file
	// or a report written before reports named it.
	Clock string
	// Agent is the agent the reported run ran; nil for a scenario file or
	// a report written before reports named it.
	Agent *Agent
}

// Replayable reads what it takes to run a report directory, or a scenario
// file, again.
func Replayable(path string) (Replay, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Replay{}, fmt.Errorf("%s: give a report directory or a scenario file: %w", path, err)
	}
	if !st.IsDir() {
		data, err := readfile.Regular(path, readfile.MaxScenario)
		return Replay{Scenario: data}, err
	}
	sum, err := readSummary(path)
	if err != nil {
		return Replay{}, err
	}
	data, err := readfile.Regular(filepath.Join(path, "scenario.json"), readfile.MaxScenario)
	if err != nil {
		return Replay{}, fmt.Errorf("%s is not a complete report: %w", path, err)
	}
	r := Replay{Scenario: data}
	if sum != nil {
		v := model.Verdict{Results: sum.Results}
		if first := v.First(); first != nil && first.Status == model.Fail {
			r.Property = first.Property
		}
		r.Mutant, r.Clock, r.Agent = sum.Mutant, sum.Clock, sum.Agent
	}
	return r, nil
}

// readSummary reads a report's summary.json: nil if it has none (a report
// written before summaries, or a bare directory), an error if it cannot be
// read or comes from a newer syncsim.
func readSummary(dir string) (*Summary, error) {
	path := filepath.Join(dir, "summary.json")
	raw, err := readfile.Regular(path, readfile.MaxSummary)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sum Summary
	if err := json.Unmarshal(raw, &sum); err != nil {
		return nil, fmt.Errorf("%s is not a report summary: %w", path, err)
	}
	if sum.Format > Format {
		return nil, fmt.Errorf("%s has report format %d; this syncsim reads formats up to %d: use a newer syncsim", path, sum.Format, Format)
	}
	return &sum, nil
}
