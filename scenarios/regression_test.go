package scenarios

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRegressions runs every scenario under testdata/regressions against
// the reference agent, which must pass each. A regression is a timeline on
// which a bug was once caught, kept as a scenario file named after it, with
// the failure it caught in its description.
func TestRegressions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(regressionsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no regression scenarios in %s", regressionsDir)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			parallelOnRealClock(t)
			sc, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Name != name || sc.Description == "" {
				t.Fatalf("%s: name %q, description %q; a regression is named after its file and says what it caught", file, sc.Name, sc.Description)
			}
			mustPassAsWritten(t, sc)
		})
	}
}
