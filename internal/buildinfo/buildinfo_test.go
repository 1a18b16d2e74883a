package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestDescribe: the version text names the module version, the commit, a
// modified tree and the toolchain, each from where the go command put it.
func TestDescribe(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "github.com/syncsim/syncsim", Version: "v0.3.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "505dab3c"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	got := FromBuild(bi).Describe("syncsim")
	for _, want := range []string{"syncsim v0.3.0\n", "module   github.com/syncsim/syncsim\n", "revision 505dab3c (2026-01-02T03:04:05Z), with uncommitted changes\n", "go       go1.26.0\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("version text %q lacks %q", got, want)
		}
	}
	bi.Settings = bi.Settings[:1]
	if got := FromBuild(bi).Describe("syncsim"); strings.Contains(got, "uncommitted") {
		t.Errorf("a clean tree is described as modified: %q", got)
	}
	bi.Settings = nil
	if got := FromBuild(bi).Describe("syncsim"); !strings.Contains(got, "revision unknown") {
		t.Errorf("a build without a revision does not say so: %q", got)
	}
}
