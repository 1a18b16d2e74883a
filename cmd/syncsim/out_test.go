package main

import (
	"os"
	"strings"
	"testing"
)

// TestBadOutExitsTwo: every command that writes reports checks --out before
// it runs anything: a file there is a usage error naming the path.
func TestBadOutExitsTwo(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "not-a-dir", []byte("keep me"))
	scenarioFile := scenarioFile(t, dir)
	for _, args := range [][]string{
		{"run", "--out", file, "owner-crash"},
		{"explore", "--out", file, "--count", "1"},
		{"replay", "--out", file, "--attempts", "1", scenarioFile},
		{"mutants", "--out", file, "--explore", "0"},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, _, stderr := syncsim(args...)
			if code != exitUsage || !strings.Contains(stderr, file+" is not a directory") {
				t.Errorf("syncsim %v: exit %d, stderr %q; want exit 2 naming %s as not a directory", args, code, stderr, file)
			}
		})
	}
	if data, _ := os.ReadFile(file); string(data) != "keep me" {
		t.Fatalf("the file --out named now holds %q", data)
	}
}
