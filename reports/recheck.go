package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/syncsim/syncsim/model"
)

// Recheck checks a stored history again, offline. path is a report
// directory, checked against the properties its scenario expects, or a
// history file, checked against every property.
func Recheck(path string) (model.Verdict, error) {
	var opts model.Options
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if _, err := readSummary(path); err != nil {
			return model.Verdict{}, err
		}
		data, err := os.ReadFile(filepath.Join(path, "scenario.json"))
		if err != nil {
			return model.Verdict{}, fmt.Errorf("%s is not a complete report: %w", path, err)
		}
		var sc struct {
			Expect   []model.Property
			LeaseTTL string `json:"lease_ttl"`
		}
		if err := json.Unmarshal(data, &sc); err != nil {
			return model.Verdict{}, fmt.Errorf("%s: %w", filepath.Join(path, "scenario.json"), err)
		}
		opts.Expect = sc.Expect
		opts.LeaseTTL, _ = time.ParseDuration(sc.LeaseTTL)
		path = filepath.Join(path, "history.json")
	}
	h, err := model.ReadHistory(path)
	if errors.Is(err, os.ErrNotExist) {
		return model.Verdict{}, fmt.Errorf("%s does not exist; give a report directory or its history.json", path)
	}
	if err != nil {
		return model.Verdict{}, err
	}
	return model.Check(h, opts), nil
}
