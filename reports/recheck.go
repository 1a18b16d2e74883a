package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/syncsim/syncsim/model"
)

// Recheck checks a stored history again, offline. path is a report
// directory, checked against what its summary says the run was checked
// against (or, for a report written before summaries kept it, what its
// scenario expects), or a history file, checked against every property.
func Recheck(path string) (model.Verdict, error) {
	var opts model.Options
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if opts, err = checkedAgainst(path); err != nil {
			return model.Verdict{}, err
		}
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

// checkedAgainst reads what the report in dir was checked against.
func checkedAgainst(dir string) (model.Options, error) {
	sum, err := readSummary(dir)
	if err != nil {
		return model.Options{}, err
	}
	if sum != nil && sum.Checked != nil {
		return sum.Checked.Options(), nil
	}
	path := filepath.Join(dir, "scenario.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return model.Options{}, fmt.Errorf("%s is not a complete report: %w", dir, err)
	}
	var sc Checked
	if err := json.Unmarshal(data, &sc); err != nil {
		return model.Options{}, fmt.Errorf("%s: %w", path, err)
	}
	if sc.Expect == nil {
		sc.Expect = model.Properties
	}
	return sc.Options(), nil
}
