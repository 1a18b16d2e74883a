package main

import (
	"strings"
	"testing"
)

// TestShardFromIndexedJob: without --shard, a Kubernetes Indexed Job's
// index (from 0) and completions pick the shard; --shard wins over them.
func TestShardFromIndexedJob(t *testing.T) {
	for _, tt := range []struct {
		flag        string
		given       bool
		index, jobs string
		want        string
	}{
		{"1/1", false, "", "", "1/1"},
		{"1/1", false, "0", "100", "1/100"},
		{"1/1", false, "99", "100", "100/100"},
		{"2/4", true, "7", "100", "2/4"},
	} {
		env := map[string]string{"JOB_COMPLETION_INDEX": tt.index, "JOB_COMPLETIONS": tt.jobs}
		got, err := shardSpec(tt.flag, tt.given, func(k string) string { return env[k] })
		if err != nil || got != tt.want {
			t.Errorf("shard %q (given %v), index %q of %q: %q, %v; want %q", tt.flag, tt.given, tt.index, tt.jobs, got, err, tt.want)
		}
	}
}

// TestBadIndexedJobExitsTwo: an index the Job could not have given, or one
// without its count, is a usage error that names the variables.
func TestBadIndexedJobExitsTwo(t *testing.T) {
	for _, tt := range []struct{ index, jobs, want string }{
		{"100", "100", `JOB_COMPLETION_INDEX "100" of JOB_COMPLETIONS "100": want a whole number from 0`},
		{"-1", "4", "want a whole number from 0"},
		{"two", "4", "want a whole number from 0"},
		{"0", "0", "JOB_COMPLETIONS at least 1"},
		{"3", "", "its manifest must set JOB_COMPLETIONS"},
	} {
		t.Setenv("JOB_COMPLETION_INDEX", tt.index)
		t.Setenv("JOB_COMPLETIONS", tt.jobs)
		code, _, stderr := syncsim("explore", "--out", t.TempDir(), "--count", "1")
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("index %q of %q: exit %d, stderr %q; want exit 2 and %q", tt.index, tt.jobs, code, stderr, tt.want)
		}
	}
}
