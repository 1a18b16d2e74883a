// Package buildinfo says which build of a syncsim command is running, from
// what the go command recorded in the binary (debug.ReadBuildInfo).
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Info is what a binary knows of its own build.
type Info struct {
	Module  string // module path
	Version string // module version: a tag, a pseudo-version, or "(devel)"
	// Revision and Modified are the VCS commit the binary was built from
	// and whether the tree had uncommitted changes; Revision is "" when
	// the build recorded none (go run, go test, -buildvcs=false).
	Revision string
	Time     string // the commit's time, RFC 3339
	Modified bool
	Go       string // the toolchain, e.g. go1.26.0
}

// Read returns this binary's build information; fields the build did not
// record are "" (or "unknown" for the version).
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown"}
	}
	return FromBuild(bi)
}

// FromBuild picks Info out of a binary's build information.
func FromBuild(bi *debug.BuildInfo) Info {
	in := Info{Module: bi.Main.Path, Version: bi.Main.Version, Go: bi.GoVersion}
	if in.Version == "" {
		in.Version = "unknown"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// Describe writes the information as the version command prints it, for
// the command named cmd.
func (in Info) Describe(cmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", cmd, in.Version)
	if in.Module != "" {
		fmt.Fprintf(&b, "module   %s\n", in.Module)
	}
	rev := "unknown (built without version control information)"
	if in.Revision != "" {
		rev = in.Revision
		if in.Time != "" {
			rev += " (" + in.Time + ")"
		}
		if in.Modified {
			rev += ", with uncommitted changes"
		}
	}
	fmt.Fprintf(&b, "revision %s\n", rev)
	fmt.Fprintf(&b, "go       %s\n", in.Go)
	return b.String()
}
