// Package cliflag parses command lines whose flags may stand before, after
// or between the arguments, as users write them ("replay DIR --attempts 10").
package cliflag

import "flag"

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
