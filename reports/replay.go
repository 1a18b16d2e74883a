package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/syncsim/syncsim/model"
)

// Replayable returns the scenario file to run again from a report directory
// or a scenario file, and, for the report of a failed run, the property that
// failed first (the one a replay watches).
func Replayable(path string) (scenario []byte, property model.Property, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: give a report directory or a scenario file: %w", path, err)
	}
	if !st.IsDir() {
		data, err := os.ReadFile(path)
		return data, "", err
	}
	data, err := os.ReadFile(filepath.Join(path, "scenario.json"))
	if err != nil {
		return nil, "", fmt.Errorf("%s is not a complete report: %w", path, err)
	}
	if raw, err := os.ReadFile(filepath.Join(path, "summary.json")); err == nil {
		var sum Summary
		if err := json.Unmarshal(raw, &sum); err != nil {
			return nil, "", fmt.Errorf("%s: %w", filepath.Join(path, "summary.json"), err)
		}
		v := model.Verdict{Results: sum.Results}
		if first := v.First(); first != nil && first.Status == model.Fail {
			property = first.Property
		}
	}
	return data, property, nil
}
