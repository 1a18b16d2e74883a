package cliflag

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		args, positional []string
		n                int
	}{
		{[]string{"dir", "--attempts", "3"}, []string{"dir"}, 3},
		{[]string{"--attempts=4", "a", "b"}, []string{"a", "b"}, 4},
		{[]string{"a", "--attempts", "5", "b"}, []string{"a", "b"}, 5},
		{[]string{"--", "--attempts", "6"}, []string{"--attempts", "6"}, 1},
		{[]string{"a", "--", "--attempts"}, []string{"a", "--attempts"}, 1},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		n := fs.Int("attempts", 1, "")
		got, err := Parse(fs, tt.args)
		if err != nil || !slices.Equal(got, tt.positional) || *n != tt.n {
			t.Errorf("Parse(%q) = %q, attempts %d, %v; want %q, %d", tt.args, got, *n, err, tt.positional, tt.n)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := Parse(fs, []string{"a", "--bogus"}); err == nil {
		t.Error("an unknown flag after an argument was accepted")
	}
}

// TestPathIsAbsoluteAsParsed: a path flag, and its default, name the same
// place after the process changes directory.
func TestPathIsAbsoluteAsParsed(t *testing.T) {
	start, _ := os.Getwd()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	out := Path(fs, "out", "reports", "")
	in := Path(fs, "in", "reports", "")
	if _, err := Parse(fs, []string{"--in", "some/file.json"}); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if want := filepath.Join(start, "reports"); *out != want {
		t.Errorf("default: %q, want %q", *out, want)
	}
	if want := filepath.Join(start, "some", "file.json"); *in != want {
		t.Errorf("given: %q, want %q", *in, want)
	}
	fs.SetOutput(io.Discard)
	if _, err := Parse(fs, []string{"--in="}); err == nil {
		t.Error("an empty path was accepted")
	}
}
