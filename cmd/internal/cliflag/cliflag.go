// Package cliflag parses command lines whose flags may stand before, after
// or between the arguments, as users write them ("replay DIR --attempts 10").
package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"
)

// Parse parses args with fs and returns the arguments that are not flags,
// in order. "--" ends the flags as usual.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		rest := fs.Args()
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// PathVar defines a flag naming a file or directory, stored in p as an
// absolute path: its default and any value given are resolved against the
// working directory as they are set, so the path keeps naming the same place
// after the process moves (sim.Init does).
func PathVar(fs *flag.FlagSet, p *string, name, value, usage string) {
	*p = abs(value)
	fs.Var((*absPath)(p), name, usage)
}

// Path is PathVar that returns where it stores the path.
func Path(fs *flag.FlagSet, name, value, usage string) *string {
	p := new(string)
	PathVar(fs, p, name, value, usage)
	return p
}

// absPath is a flag.Value that makes the path it is set to absolute.
type absPath string

func (a *absPath) String() string { return string(*a) }

func (a *absPath) Set(path string) error {
	if path == "" {
		return errors.New("empty path")
	}
	*a = absPath(abs(path))
	return nil
}

// abs is path made absolute, or path itself when the working directory is
// unknown (it then fails where it is used, with its name).
func abs(path string) string {
	if path == "" {
		return path
	}
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// DurationVar defines a duration flag that refuses a negative value: a
// time limit below zero would otherwise mean no limit at all.
func DurationVar(fs *flag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var((*duration)(p), name, usage)
}

// duration is a flag.Value holding a duration of at least zero.
type duration time.Duration

func (d *duration) String() string { return time.Duration(*d).String() }

func (d *duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it like 90s or 5m", s)
	}
	if v < 0 {
		return fmt.Errorf("%v is negative", v)
	}
	*d = duration(v)
	return nil
}
