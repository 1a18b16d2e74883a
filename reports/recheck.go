package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/syncsim/syncsim/internal/readfile"
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

// checkedAgainst reads what the report in dir was checked against, held
// to the rules a scenario is held to when it runs: an unknown property or
// a lease TTL etcd could not grant is an error, never a verdict.
func checkedAgainst(dir string) (model.Options, error) {
	sum, err := readSummary(dir)
	if err != nil {
		return model.Options{}, err
	}
	if sum != nil && sum.Checked != nil {
		if err := sum.Checked.validate(); err != nil {
			return model.Options{}, fmt.Errorf("%s: %w", filepath.Join(dir, "summary.json"), err)
		}
		return sum.Checked.Options(), nil
	}
	path := filepath.Join(dir, "scenario.json")
	data, err := readfile.Regular(path, readfile.MaxScenario)
	if err != nil {
		return model.Options{}, fmt.Errorf("%s is not a complete report: %w", dir, err)
	}
	var sc Checked
	if err := json.Unmarshal(data, &sc); err != nil {
		return model.Options{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := sc.validate(); err != nil {
		return model.Options{}, fmt.Errorf("%s: %w", path, err)
	}
	return sc.Options(), nil // a nil Expect is every property, as model.Check reads it
}

// validate checks the properties and the lease TTL as scenarios.Validate
// does.
func (c Checked) validate() error {
	errs := model.CheckExpect(c.Expect)
	if ttl := time.Duration(c.LeaseTTL); ttl < time.Second || ttl%time.Second != 0 {
		errs = append(errs, fmt.Sprintf(`"lease_ttl" is %v; etcd grants whole seconds, at least "1s"`, ttl))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
