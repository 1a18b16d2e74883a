package modeltest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Separator divides a case file's input from its expected output.
const Separator = "\n----\n"

// Cases runs every case file matching pattern, in the style of
// go.etcd.io/raft's datadriven tests without its dependency: a file holds
// an input, the separator, and the output run makes of it. With update
// the outputs are rewritten instead of compared.
func Cases(t *testing.T, pattern string, update bool, run func(t *testing.T, input string) string) {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		t.Fatalf("no case files match %s (%v)", pattern, err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			input, _, _ := strings.Cut(string(data), Separator)
			Golden(t, path, input+Separator+run(t, input), update)
		})
	}
}

// Golden compares got with the file at path or, with update, rewrites it.
func Golden(t *testing.T, path, got string, update bool) {
	t.Helper()
	if update {
		write(t, path, got)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (rerun with -update to accept it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
